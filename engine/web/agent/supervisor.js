// The console's supervisor mode (PROTOCOL.md §8; the README's "Supervisors on /ws"): the floor —
// every running conversation with its wait and owner, every agent with presence and load — from
// the supervisor's welcome and the engine's `floor` events; an agent's presence set from here; the
// reassign picker (agents by name with presence and load, never an id). What a supervisor may do
// is decided by the engine for every frame: this only sends frames and shows what comes back.

import { $, el, setText } from '/web/shared/dom.js';
import { t } from '/web/shared/i18n.js';

const TICK_MS = 1000;

const running = new Map();     // conversation_id -> floor entry
const agents = new Map();      // agent id -> floor entry
let hooks = null;              // { send(frame) -> bool, open(conversationId), isOpen(id), announce(text), now() }
let ticker = null;

/** "4:05" or "1:02:03": how long since ``iso``, as a clock reads. */
export function elapsed(iso, now) {
  const s = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n) => String(n).padStart(2, '0');
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

export function startFloor(options) {
  hooks = options;
  clearInterval(ticker);
  ticker = setInterval(tickWaits, TICK_MS);
}

export function stopFloor() {
  clearInterval(ticker);
  ticker = null;
  running.clear();
  agents.clear();
  $('#floor-conversations').replaceChildren();
  $('#floor-agents').replaceChildren();
  $('#floor-alerts').replaceChildren();
}

/** The whole floor, from a supervisor's welcome. */
export function setFloor(floor) {
  running.clear();
  agents.clear();
  for (const c of (floor && floor.conversations) || []) running.set(c.conversation_id, c);
  for (const a of (floor && floor.agents) || []) agents.set(a.id, a);
  render();
}

/** A ``floor`` event: what changed since the engine's last tick. */
export function applyFloor(f) {
  for (const c of f.conversations || []) running.set(c.conversation_id, c);
  for (const id of f.removed || []) running.delete(id);
  for (const a of f.agents || []) agents.set(a.id, a);
  render();
}

/** Agents online, available first, then by name: what the reassign picker offers. */
export function agentsToPick() {
  return [...agents.values()].filter((a) => a.presence !== 'offline')
    .sort((x, y) => (x.presence !== 'available') - (y.presence !== 'available') || x.name.localeCompare(y.name));
}

/** A <select>'s options: each agent by name, presence and load (never the id on screen). */
export function agentOptions(select, exclude) {
  const listed = agentsToPick().filter((a) => !exclude.has(a.id));
  select.replaceChildren(...listed.map((a) => el('option', {
    value: a.id,
    text: t('supervisor.agentOption', { name: a.name, presence: t(`presence.${a.presence}`),
      n: a.open_conversations, capacity: a.capacity }),
  })));
  return listed.length;
}

function ordered() {
  // waiting chats first, the longest waiting first; then the assigned ones, the oldest first
  return [...running.values()].sort((x, y) => (x.status !== 'queued') - (y.status !== 'queued')
    || String(x.waiting_since || x.assigned_at || '').localeCompare(String(y.waiting_since || y.assigned_at || '')));
}

function waitText(c) {
  const now = hooks.now();
  if (c.status === 'queued') return t('floor.waiting', { time: elapsed(c.waiting_since, now) });
  return t('floor.with', { name: c.owner ? c.owner.name : '', time: elapsed(c.assigned_at, now) });
}

function conversationRow(c) {
  const wait = el('span', { class: 'floor-row__wait', dataset: { conversationId: c.conversation_id } }, waitText(c));
  const open = hooks.isOpen(c.conversation_id);
  return el('li', { class: ['floor-row', c.status === 'queued' && 'floor-row--waiting'],
    dataset: { conversationId: c.conversation_id } },
  el('div', { class: 'floor-row__main' },
    el('span', { class: 'floor-row__name', text: (c.customer && c.customer.name) || t('common.customer') }),
    el('span', { class: 'pill', text: c.queue || '' }),
    wait),
  el('p', { class: 'floor-row__people',
    text: (c.participants || []).map((p) => `${p.name} (${t(`role.${p.role}`)})`).join(', ') }),
  el('button', { type: 'button', class: 'button button--small button--secondary act-watch',
    text: open ? t('floor.open') : t('floor.watch'),
    'aria-label': `${open ? t('floor.open') : t('floor.watch')}: ${(c.customer && c.customer.name) || ''}`,
    onclick: () => hooks.open(c.conversation_id) }));
}

function agentRow(a) {
  const online = a.presence !== 'offline';
  const next = a.presence === 'available' ? 'away' : 'available';
  const status = el('span', { class: 'floor-agent__asked', role: 'status' });
  return el('li', { class: 'floor-agent', dataset: { agentId: a.id, presence: a.presence } },
    el('span', { class: 'floor-agent__name', text: a.name }),
    el('span', { class: 'pill floor-agent__presence', dataset: { presence: a.presence },
      text: t(`presence.${a.presence}`) }),
    el('span', { class: 'floor-agent__load', text: t('floor.load', { n: a.open_conversations, capacity: a.capacity }) }),
    el('span', { class: 'floor-agent__queues', text: (a.queues || []).join(', ') }),
    online ? el('button', { type: 'button', class: 'button button--small button--secondary act-presence',
      text: next === 'away' ? t('floor.setAway') : t('floor.setAvailable'),
      'aria-label': `${next === 'away' ? t('floor.setAway') : t('floor.setAvailable')}: ${a.name}`,
      onclick: () => {
        if (hooks.send({ type: 'set_agent_presence', agent_id: a.id, state: next })) {
          setText(status, t('floor.presenceAsked', { name: a.name, state: t(`presence.${next}`) }));
        }
      } }) : null,
    status);
}

/** Queues with customers waiting and no member available: the floor's alerts. */
function unattended() {
  const waiting = new Map();
  for (const c of running.values()) if (c.status === 'queued') waiting.set(c.queue, (waiting.get(c.queue) || 0) + 1);
  const covered = new Set();
  for (const a of agents.values()) {
    if (a.presence === 'available' && a.open_conversations < a.capacity) for (const q of a.queues || []) covered.add(q);
  }
  return [...waiting].filter(([q]) => !covered.has(q)).sort();
}

function render() {
  if (!hooks) return;
  const list = ordered();
  $('#floor-conversations').replaceChildren(...list.map(conversationRow));
  setText($('#floor-count'), list.length ? t('floor.count', { n: list.length }) : t('floor.none'));
  $('#floor-agents').replaceChildren(...[...agents.values()]
    .sort((x, y) => x.name.localeCompare(y.name)).map(agentRow));
  $('#floor-alerts').replaceChildren(...unattended().map(([queue, n]) => el('p', { class: 'banner banner--warning floor-alert',
    role: 'alert', text: t('floor.unattended', { queue, n }) })));
  const badge = $('#floor-waiting');
  const waiting = list.filter((c) => c.status === 'queued').length;
  badge.hidden = waiting === 0;
  setText(badge, waiting);
}

function tickWaits() {
  for (const node of document.querySelectorAll('#floor-conversations .floor-row__wait')) {
    const c = running.get(node.dataset.conversationId);
    if (c) setText(node, waitText(c));
  }
}
