// The agent console (/agent): sign-in, presence, offers, conversations in tabs, invitations,
// transfers (transfer.js) and offline requests; conversations of messaging queues with their status, set pending or resolved
// by their owner (messaging.js); the customer beside each chat and new conversations the business
// starts (customers.js). A supervisor signs in here too (supervisor.js): the floor instead of
// offers and offline requests, conversations watched read-only with whispers to the agents, and
// join, take over, reassign. Written against PROTOCOL.md and the README's API notes only.

import { el, $, $$, icon, srOnly, setText, throttle, atBottom } from '/web/shared/dom.js';
import { t, applyI18n, formatDateTime, lang } from '/web/shared/i18n.js';
import { Connection, ApiError, api, newId, sessionValue } from '/web/shared/protocol.js';
import { ChatLog } from '/web/shared/chatlog.js';
import { Files, Tray, ACCEPT, setupDrop } from '/web/shared/uploads.js';
import {
  isMessaging, leavingText, showConsoleNote, hideConsoleNote, renderStatusPill, renderReminder,
} from '/agent/messaging.js';
import { initCustomerPanel, loadCustomerPanel, panelLists, setupOutreach } from '/agent/customers.js';
import { setupTransfers } from '/agent/transfer.js';
import { answerCard, dropCard, sendAnswer } from '/agent/cards.js';
import { startFloor, stopFloor, setFloor, applyFloor, agentOptions } from '/agent/supervisor.js';
import { fillPlaceholders } from '/agent/canned.js';
import { setupAlerts } from '/agent/alerts.js';

const auth = sessionValue('frontdesk.agent');             // {token, agent, role}
const unackedStore = sessionValue('frontdesk.agent.unacked');
const TYPING_SEND_MS = 3000;
const TYPING_SHOW_MS = 5000;
const REQUESTS_REFRESH_MS = 60_000;
const MAX_OPTIONS = 10;
const MIN_OPTIONS = 2;
const SIGN_OUT_WAIT_MS = 5000;       // a server that does not answer the sign-out does not keep the agent here

let token = null;
let me = null;
let supervising = false;             // signed in as a supervisor (the engine checks every frame anyway)
let conn = null;
let files = null;
let presence = null;
let presenceWanted = null;
let activeTab = 'requests';
let clockSkew = 0;                   // server clock minus ours, from the Date header
let canned = null;                   // cached GET /api/canned
let lastInvite = null;               // {conversationId, at}: errors of an invite carry no ref
const pendingInvites = [];           // conversation ids awaiting invitation_result, oldest first
const convs = new Map();             // conversation_id -> Conv
const offers = new Map();            // offer_id -> card
const invitations = new Map();       // invitation_id -> card
const knownAgents = new Map();       // agent id -> name, for the invite field
let colleagues = null;               // cached GET /api/agents: { at, list }
const COLLEAGUES_TTL_MS = 10_000;    // presence in the list is at most this old (plus the engine's tick)
let requestsTimer = null;
let countdownTimer = null;
let outreach = null;                 // the "New conversation" dialog (customers.js)
let transfers = null;                // transfers: the owner's dialog and state, the target's cards (transfer.js)
let alerts = null;                   // sounds, desktop notifications and the title's count (alerts.js)

const now = () => Date.now() + clockSkew;

// ---- sign-in -------------------------------------------------------------------------------

function showScreen(name) {
  $('#screen-login').hidden = name !== 'login';
  $('#screen-console').hidden = name !== 'console';
  $('#me').hidden = name !== 'console';
  document.body.dataset.screen = name;
}

function showLogin(info) {
  showScreen('login');
  const box = $('#login-info');
  setText(box, info || '');
  box.hidden = !info;
  $('#login-title').focus({ preventScroll: true });
}

async function submitLogin(event) {
  event.preventDefault();
  const form = $('#login');
  for (const p of $$('.field-error, .form-error', form)) {
    p.hidden = true;
    p.textContent = '';
  }
  for (const input of $$('[aria-invalid]', form)) {
    input.removeAttribute('aria-invalid');
    input.removeAttribute('aria-describedby');
  }
  const email = form.elements.email.value;
  const password = form.elements.password.value;
  const role = form.elements.supervisor.checked ? 'supervisor' : 'agent';
  const submit = $('#login-submit');
  submit.disabled = true;
  try {
    const { data } = await api('POST', `/api/${role}s/login`, { body: { email, password } });
    const person = data[role];
    auth.save({ token: data.token, agent: person, role });
    form.elements.password.value = '';
    startConsole(data.token, person, role);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    const text = err.code === 'bad_credentials' ? t('login.bad') : errorText(err);
    const input = err.field ? form.querySelector(`#login-${err.field}`) : null;
    const box = err.field ? form.querySelector(`#login-${err.field}-error`) : null;
    if (input && box) {
      setText(box, text);
      box.hidden = false;
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', box.id);
      input.focus();
    } else {
      setText($('#login-error'), text);
      $('#login-error').hidden = false;
    }
  } finally {
    submit.disabled = false;
  }
}

function signOut(info) {
  if (alerts) alerts.stop();
  if (conn) conn.stop();
  conn = null;
  $('#conn').hidden = true;          // a connection closed on purpose is not a lost one
  auth.save(null);
  unackedStore.save(null);
  for (const conv of convs.values()) removeConv(conv);
  hideConsoleNote();
  for (const id of [...offers.keys()]) removeOffer(id);
  for (const id of [...invitations.keys()]) removeInvitation(id);
  if (transfers) transfers.clear();
  clearInterval(requestsTimer);
  clearInterval(countdownTimer);
  if (supervising) stopFloor();
  supervising = false;
  token = null;
  me = null;
  colleagues = null;
  updateTitle();
  showLogin(info);
}

/** Chats this agent takes part in that are still going on (watched ones are not its own). */
function openChats() {
  return [...convs.values()].filter((c) => !c.ended && !c.watching);
}

// Signing out gives live chats back to the queue: the agent confirms, or sets itself away instead
// and finishes them first.
function askSignOut() {
  const open = openChats();
  if (!open.length) {
    signOutByChoice();
    return;
  }
  const dialog = $('#sign-out-dialog');
  setText($('#sign-out-text'), t('signOut.text', { n: open.length }));
  $('#sign-out-away').hidden = supervising;      // a supervisor has no presence to set
  dialog.returnValue = '';
  dialog.onclose = () => {
    if (dialog.returnValue === 'out') signOutByChoice();
    else if (dialog.returnValue === 'away') setAwayToFinish();
  };
  dialog.showModal();
}

function setAwayToFinish() {
  if (presence !== 'away' && presenceWanted !== 'away') togglePresence();
  showConsoleNote(t('signOut.awayDone'));
}

// The server revokes the token before the console forgets it, so that no copy of it stays usable;
// offline or refused, the console signs out all the same.
async function signOutByChoice() {
  const button = $('#sign-out');
  button.disabled = true;
  try {
    if (token) {
      const revoked = api('POST', supervising ? '/api/supervisors/logout' : '/api/agents/logout', { token })
        .catch(() => null);
      await Promise.race([revoked, new Promise((done) => { setTimeout(done, SIGN_OUT_WAIT_MS); })]);
    }
  } finally {
    button.disabled = false;
    signOut(t('login.signedOut'));
  }
}

const ERROR_TEXT = {
  missing_field: 'error.required', invalid_email: 'error.email', invalid_value: 'error.invalid',
  rate_limited: 'error.rateLimited', network: 'error.network', unavailable: 'error.unavailable',
  offer_expired: 'offer.gone', not_found: 'error.notFound', forbidden: 'error.forbidden',
  invitation_pending: 'invite.pending', too_long: 'error.tooLong', too_many_attachments: 'files.tooManyShort',
  unauthenticated: 'error.session', not_participant: 'error.notParticipant',
};

function errorText(err) {
  const key = ERROR_TEXT[err.code];
  return key ? t(key) : t('error.generic', { message: err.message || err.code });
}

function announce(text) {
  const box = $('#announcer');
  box.textContent = '';
  setTimeout(() => { box.textContent = text; }, 50);
}

// ---- the console ----------------------------------------------------------------------------

function startConsole(newToken, agent, role = 'agent') {
  token = newToken;
  me = agent;
  supervising = role === 'supervisor';
  files = new Files(() => token);
  setText($('#me-name'), me.name);
  $('#me-role').hidden = !supervising;
  $('#presence').hidden = supervising;          // a supervisor takes no chats: no presence of its own
  $('#tab-floor').hidden = !supervising;
  $('#tab-requests').hidden = supervising;
  document.body.classList.toggle('supervisor-mode', supervising);
  showScreen('console');
  clearInterval(requestsTimer);
  if (supervising) {
    startFloor({ send: (frame) => conn && conn.send(frame), open: watch, isOpen: (id) => convs.has(id), now });
    selectTab('floor', false);
  } else {
    selectTab('requests', false);
    loadRequests();
    requestsTimer = setInterval(() => loadRequests(true), REQUESTS_REFRESH_MS);
  }
  clearInterval(countdownTimer);
  countdownTimer = setInterval(tickCountdowns, 1000);
  conn = new Connection({
    token,
    // a watched conversation is watched again after a reconnect (its view comes whole), not resumed
    resume: () => Object.fromEntries([...convs.values()].filter((c) => !c.gone && c.loaded && !c.watching)
      .map((c) => [c.id, c.log.lastSeq])),
    store: { load: () => unackedStore.load([]), save: (frames) => unackedStore.save(frames) },
  });
  // a connection closed by a sign-out says nothing more: its late events belong to nobody
  const current = conn;
  conn.addEventListener('frame', (e) => { if (conn === current) onFrame(e.detail); });
  conn.addEventListener('status', (e) => { if (conn === current) showConnection(e.detail); });
  conn.addEventListener('sendfailed', (e) => {
    const conv = convs.get(e.detail.frame.conversation_id);
    if (conv) conv.log.fail(e.detail.frame.client_id, errorText(e.detail.error));
  });
  conn.addEventListener('unauthenticated', () => { if (conn === current) signOut(t('error.session')); });
  conn.start();
}

function showConnection(status) {
  const box = $('#conn');
  box.hidden = status === 'online';
  box.dataset.status = status;
  setText(box, status === 'online' ? '' : t('conn.reconnecting'));
}

function onFrame(f) {
  switch (f.type) {
    case 'welcome': onWelcome(f); break;
    case 'floor': applyFloor(f); break;
    case 'presence': setPresence(f.state, true); break;
    case 'offer': showOffer(f, true); break;
    case 'offer_revoked': revokeOffer(f); break;
    case 'conversation': onConversation(f); break;
    case 'participant_joined': onParticipant(f, true); break;
    case 'participant_left': onParticipant(f, false); break;
    case 'message': onMessage(f); break;
    case 'read': onRead(f); break;
    case 'typing': onTyping(f); break;
    case 'invitation': showInvitation(f, true); break;
    case 'invitation_result': onInvitationResult(f); break;
    case 'transfer_offer':
      transfers.showOffer(f, true);
      cardAlert(`[data-transfer-id="${CSS.escape(f.transfer_id || '')}"]`, t('transfer.offerTitle', { name: (f.from && f.from.name) || '' }), f.customer);
      break;
    case 'transfer_result': transfers.onResult(f); break;
    case 'transfer_revoked': transfers.onRevoked(f); break;
    case 'ended': onEnded(f); break;
    case 'status': onStatus(f); break;
    case 'reminder': onReminder(f); break;
    case 'error': onError(f); break;
    default: break;
  }
}

function onWelcome(f) {
  me = { ...me, ...(f.role === 'supervisor' ? f.supervisor : f.agent) };
  auth.save({ token, agent: me, role: supervising ? 'supervisor' : 'agent' });
  if (supervising) {
    setFloor(f.floor);
    for (const conv of convs.values()) {
      if (conv.watching) conn.send({ type: 'monitor', conversation_id: conv.id });
    }
  } else {
    setPresence(f.presence, false);
  }
  outreach.refresh();
  const open = new Set();
  for (const summary of f.conversations || []) {
    open.add(summary.conversation_id);
    let conv = convs.get(summary.conversation_id);
    if (conv) {
      conv.update(summary);
    } else {
      conv = new Conv(summary);
      conv.loadHistory();
    }
    // what the owner left unread while away (the engine counts the customer's messages)
    if (typeof summary.unread === 'number' && conv.role === 'owner') conv.setUnread(summary.unread);
  }
  for (const conv of convs.values()) {
    if (!open.has(conv.id) && !conv.ended && !conv.watching) conv.finish(t('agent.gone'));
  }
  const pending = new Set((f.offers || []).map((o) => o.offer_id));
  for (const id of [...offers.keys()]) if (!pending.has(id)) removeOffer(id);
  for (const offer of f.offers || []) showOffer(offer, false);
  transfers.welcome(f.transfers || [], f.transfers_sent || []);
}

// ---- presence --------------------------------------------------------------------------------

function setPresence(state, fromEvent) {
  const byServer = fromEvent && presenceWanted !== state;
  presence = state;
  presenceWanted = null;
  const button = $('#presence');
  button.setAttribute('aria-checked', state === 'available' ? 'true' : 'false');
  button.removeAttribute('aria-busy');
  button.dataset.state = state;
  setText($('#presence-label'), state === 'available' ? t('presence.available') : t('presence.away'));
  let hint = state === 'available' ? t('presence.availableHint') : t('presence.awayHint');
  if (byServer && state === 'away') {
    hint = t('presence.setAway');
    announce(hint);
  }
  setText($('#idle-hint'), hint);
  $('#idle-hint').dataset.state = state;
}

function togglePresence() {
  const wanted = presence === 'available' ? 'away' : 'available';
  if (!conn || !conn.send({ type: 'presence', state: wanted })) {
    announce(t('conn.notConnected'));
    return;
  }
  presenceWanted = wanted;
  $('#presence').setAttribute('aria-busy', 'true');
}

// ---- offers and invitations -------------------------------------------------------------------

function customerLine(customer, tag = 'p') {
  const c = customer || {};
  const verified = new Set(c.verified || []);
  const lock = (field) => (verified.has(field)
    ? el('span', { class: 'verified', title: t('common.verified') }, icon('lock'), srOnly(` (${t('common.verified')})`))
    : null);
  return el(tag, { class: 'card__customer' },
    el('span', { class: 'card__name' }, el('span', { text: c.name || t('common.customer') }), lock('name')),
    c.email ? el('span', { class: 'card__email' }, el('span', { text: c.email }), lock('email')) : null);
}

function countdownParts(expiresAt) {
  const expires = Date.parse(expiresAt);
  const total = Math.max(1, expires - now());
  const text = el('span', { class: 'countdown__text' });
  const bar = el('progress', { class: 'countdown__bar', max: total, value: total, 'aria-hidden': 'true' });
  const box = el('p', { class: 'countdown' }, icon('clock'), text, bar);
  return { box, update: () => {
    const left = Math.max(0, expires - now());
    bar.value = left;
    setText(text, left > 0 ? t('offer.expiresIn', { s: Math.ceil(left / 1000) }) : t('offer.expiring'));
    box.classList.toggle('countdown--urgent', left < 10_000);
  } };
}

function tickCountdowns() {
  for (const card of [...offers.values(), ...invitations.values()]) if (!card.retired) card.countdown.update();
  transfers.tick();
}

function updateTitle() {
  if (alerts) alerts.update();
  else document.title = t('agent.docTitle');
}

/** The cards still waiting for this agent's answer: not accepted yet, not gone. */
function waitingCards() {
  return $$('#offers .card').filter((c) => !c.classList.contains('card--gone') && c.dataset.answered !== 'true');
}

function unreadCount() {
  let n = 0;
  for (const conv of convs.values()) n += conv.unread;
  return n;
}

/** A notification for the card ``selector`` when the agent is away from the page; its click
 *  brings the card's Accept button into focus. */
function cardAlert(selector, heading, customer) {
  alerts.offer(heading, (customer && customer.name) || t('common.customer'), selector, () => {
    $(`#offers ${selector} .act-accept`)?.focus();
  });
}

// Alt+A and Alt+R answer the newest card; the physical key is read, so that Option on a Mac (which
// types a letter) and a composer with the focus both work.
function answerShortcut(e) {
  if (!e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
  if (e.code !== 'KeyA' && e.code !== 'KeyR') return;
  const card = waitingCards().pop();
  if (!card) return;
  e.preventDefault();
  if (e.code === 'KeyA') {
    const accept = $('.act-accept', card);
    if (accept && !accept.closest('[hidden]')) accept.click();
    return;
  }
  const rejectForm = $('.card__reject', card);
  if (rejectForm) rejectForm.requestSubmit();
  else $('.act-decline', card)?.click();
}

function showOffer(f, live) {
  if (offers.has(f.offer_id)) return;
  const headingId = `offer-${f.offer_id}`;
  const countdown = countdownParts(f.expires_at);
  const status = el('p', { class: 'card__status', role: 'status' });
  const reason = el('input', { type: 'text', id: `${headingId}-reason`, maxLength: 1000, autocomplete: 'off' });
  const rejectForm = el('form', { class: 'card__reject', hidden: true, novalidate: true },
    el('label', { htmlFor: reason.id, text: t('offer.reason') }), reason,
    el('div', { class: 'card__actions' },
      el('button', { type: 'button', class: 'button button--small button--secondary', text: t('common.back'),
        onclick: () => { rejectForm.hidden = true; actions.hidden = false; acceptButton.focus(); } }),
      el('button', { type: 'submit', class: 'button button--small button--danger', text: t('offer.rejectConfirm') })));
  const acceptButton = el('button', { type: 'button', class: 'button button--primary act-accept', text: t('offer.accept'),
    'aria-keyshortcuts': 'Alt+A' });
  const actions = el('div', { class: 'card__actions' }, acceptButton,
    el('button', { type: 'button', class: 'button button--secondary act-reject', text: t('offer.reject'),
      'aria-keyshortcuts': 'Alt+R',
      onclick: () => { actions.hidden = true; rejectForm.hidden = false; reason.focus(); } }));
  const node = el('section', { class: 'card offer', 'aria-labelledby': headingId, dataset: { offerId: f.offer_id } },
    el('h2', { id: headingId, class: 'card__title', text: t('offer.title', { queue: f.queue || '' }) }),
    customerLine(f.customer),
    f.question ? el('blockquote', { class: 'card__question', text: f.question }) : null,
    countdown.box, actions, rejectForm, status);
  const card = { node, countdown, status, conversationId: f.conversation_id, actions, rejectForm };
  acceptButton.addEventListener('click', () => {
    if (!conn.send({ type: 'accept', offer_id: f.offer_id })) {
      setText(status, t('conn.notConnected'));
      return;
    }
    card.accepting = true;
    node.dataset.answered = 'true';
    actions.hidden = true;
    updateTitle();
    setText(status, t('offer.accepting'));
  });
  rejectForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const frame = { type: 'reject', offer_id: f.offer_id };
    if (reason.value.trim()) frame.reason = reason.value.trim();
    if (!conn.send(frame)) {
      setText(status, t('conn.notConnected'));
      return;
    }
    removeOffer(f.offer_id);
  });
  offers.set(f.offer_id, card);
  countdown.update();
  $('#offers').append(node);
  updateTitle();
  if (live) {
    announce(t('offer.announce', { name: (f.customer && f.customer.name) || '', queue: f.queue || '' }));
    cardAlert(`[data-offer-id="${CSS.escape(f.offer_id)}"]`, t('offer.title', { queue: f.queue || '' }), f.customer);
  }
}

function removeOffer(offerId) {
  dropCard(offers, offerId, { updateTitle, focusAfterCard });
}

function focusAfterCard() {
  const next = $('#offers .card button');
  if (next) next.focus();
  else $(`#tab-${cssId(activeTab)}`)?.focus();
}

function retireCard(card, text, remove) {
  card.actions.hidden = true;
  card.retired = true;
  if (card.rejectForm) card.rejectForm.hidden = true;
  card.countdown.box.hidden = true;
  setText(card.status, text);
  card.node.classList.add('card--gone');
  updateTitle();
  setTimeout(remove, 4000);
}

function revokeOffer(f) {
  const card = offers.get(f.offer_id);
  if (!card) return;
  const reasons = { expired: 'offer.expired', customer_left: 'offer.customerLeft', agent_unavailable: 'offer.unavailable' };
  retireCard(card, t(reasons[f.reason] || 'offer.gone'), () => removeOffer(f.offer_id));
}

function showInvitation(f, live = false) {
  if (invitations.has(f.invitation_id)) return;
  if (f.from) knownAgents.set(f.from.id, f.from.name);
  const id = f.invitation_id;
  const card = answerCard({
    id: `inv-${id}`, className: 'invitation', countdown: countdownParts(f.expires_at),
    title: t('invitation.title', { name: (f.from && f.from.name) || '', queue: f.queue || '' }),
    parts: [customerLine(f.customer)], acceptText: t('invitation.accept'), declineText: t('invitation.decline'),
    onAnswer: (accept) => sendAnswer(invitations.get(id),
      { type: accept ? 'accept_invitation' : 'decline_invitation', invitation_id: id }, accept,
      (frame) => Boolean(conn && conn.send(frame)), () => removeInvitation(id)),
    dataset: { invitationId: id },
  });
  invitations.set(id, { ...card, conversationId: f.conversation_id });
  card.countdown.update();
  $('#offers').append(card.node);
  updateTitle();
  announce(t('invitation.announce', { name: (f.from && f.from.name) || '' }));
  if (live) {
    cardAlert(`[data-invitation-id="${CSS.escape(id)}"]`,
      t('invitation.title', { name: (f.from && f.from.name) || '', queue: f.queue || '' }), f.customer);
  }
}

function removeInvitation(id) {
  dropCard(invitations, id, { updateTitle, focusAfterCard });
}

function onInvitationResult(f) {
  // the engine names the conversation; older engines did not, then invites answer in order
  let cid = f.conversation_id;
  const i = cid ? pendingInvites.indexOf(cid) : 0;
  if (i >= 0 && pendingInvites.length) cid = pendingInvites.splice(i, 1)[0];
  const conv = cid ? convs.get(cid) : null;
  const text = t(`invite.result.${f.status}`);
  if (conv) {
    const result = $('.invite__result', conv.panel);
    setText(result, text);
    result.classList.toggle('invite__result--failed', f.status !== 'accepted');
  }
  announce(text);
}

function onError(f) {
  if (transfers.onError(f)) return;
  if (f.ref && offers.has(f.ref)) {
    retireCard(offers.get(f.ref), errorText(f), () => removeOffer(f.ref));
    return;
  }
  if (f.ref && invitations.has(f.ref)) {
    const card = invitations.get(f.ref);
    retireCard(card, errorText(f), () => removeInvitation(f.ref));
    return;
  }
  if (f.ref) return;   // a send: shown at the message (sendfailed)
  const asked = [...convs.values()].find((c) => c.statusWanted);
  if (asked && (f.field === 'status' || f.field === 'conversation_id')) {
    asked.statusRefused(errorText(f));
    return;
  }
  if (lastInvite && Date.now() - lastInvite.at < 5000) {
    const conv = convs.get(lastInvite.conversationId);
    const i = pendingInvites.lastIndexOf(lastInvite.conversationId);
    if (i >= 0) pendingInvites.splice(i, 1);
    lastInvite = null;
    if (conv) {
      const reasons = { agent_id: 'invite.noAgent', queue: 'invite.noQueue' };
      const reason = f.code === 'invalid_value' && reasons[f.field] ? t(reasons[f.field]) : errorText(f);
      const result = $('.invite__result', conv.panel);
      setText(result, t('invite.failed', { reason }));
      result.classList.add('invite__result--failed');
      return;
    }
  }
  if (f.code === 'rate_limited') return;
  const conv = convs.get(activeTab);
  if (conv) conv.log.notice(errorText(f), 'error');
  else announce(errorText(f));
}

// ---- conversations ---------------------------------------------------------------------------

function cssId(id) {
  return String(id).replace(/[^A-Za-z0-9_-]/g, '_');
}

class Conv {
  constructor(view) {
    this.id = view.conversation_id;
    this.queue = view.queue;
    this.status = view.status;
    this.customer = view.customer || {};
    this.participants = view.participants || [];
    this.ended = view.status === 'ended';
    this.messaging = isMessaging(view.status);
    this.statusWanted = null;        // set_status sent, its status event not yet here
    this.reminder = null;            // the last reminder event, until the agent reads
    this.gone = false;
    this.loaded = false;
    this.unread = 0;
    this.readSent = 0;
    this.typingTimer = null;
    this.build();
    this.log.setReadSeq(view.customer_read_seq || 0);
    convs.set(this.id, this);
    this.renderHead();
    this.loadCustomer();
  }

  build() {
    const key = cssId(this.id);
    const panel = $('#tpl-conversation').content.firstElementChild.cloneNode(true);
    panel.id = `panel-${key}`;
    panel.setAttribute('aria-labelledby', `tab-${key}`);
    panel.hidden = true;
    applyI18n(panel);
    for (const b of $$('[data-icon]', panel)) b.prepend(icon(b.dataset.icon));
    // unique ids for the label/input pairs of the template
    const pair = (labelSel, inputSel, suffix) => {
      const input = $(inputSel, panel);
      input.id = `${key}-${suffix}`;
      $(labelSel, panel).htmlFor = input.id;
      return input;
    };
    const input = pair('.message-label', '.message-input', 'input');
    pair('.private-label', '.private-input', 'private');
    pair('.invite__target-label', '.invite__target', 'invite-target');
    const radios = $$('.invite__kinds input', panel);
    const radioLabels = $$('.invite__kinds label', panel);
    radios.forEach((r, i) => {
      r.id = `${key}-kind-${r.value}`;
      r.name = `${key}-kind`;
      radioLabels[i].htmlFor = r.id;
    });
    const hint = $('.composer__hint', panel);
    hint.id = `${key}-hint`;
    input.setAttribute('aria-describedby', hint.id);
    $('.log', panel).setAttribute('aria-label', t('chat.messages'));
    $('.tray', panel).setAttribute('aria-label', t('files.attached'));

    const tab = el('button', {
      type: 'button', role: 'tab', id: `tab-${key}`, class: 'tab', 'aria-controls': panel.id,
      'aria-selected': 'false', tabindex: '-1', dataset: { conversationId: this.id },
    }, el('span', { class: 'tab__label' }),
    el('span', { class: 'tab__reminder', hidden: true }, icon('bell'), srOnly(t('agent.reminderBadge'))),
    el('span', { class: 'badge', hidden: true }));
    tab.addEventListener('click', () => selectTab(this.id, true));
    $('#tabs').append(tab);
    $('#panels').append(panel);
    this.panel = panel;
    this.tab = tab;
    this.input = input;
    this.log = new ChatLog($('.log', panel), {
      viewer: 'agent', selfId: me.id, files,
      onRetry: (m) => {
        this.log.remove(m.client_id);
        input.value = m.text || '';
        input.focus();
      },
    });
    this.tray = new Tray($('.tray', panel), $('.tray-error', panel), () => token, () => this.updateSend());
    this.customerPanel = initCustomerPanel(panel, () => this.loadCustomer());
    this.wire();
  }

  wire() {
    const panel = this.panel;
    const input = this.input;
    const form = $('.composer', panel);
    const privateInput = $('.private-input', panel);
    const fileInput = $('.file-input', panel);
    fileInput.accept = ACCEPT;
    const sendTyping = throttle(() => conn.send({ type: 'typing', conversation_id: this.id }), TYPING_SEND_MS);
    const submit = () => {
      if (this.tray.busy || this.ended) return;
      const text = input.value.replace(/\s+$/, '');
      const attachments = this.tray.metas();
      if (!text.trim() && !attachments.length) return;
      this.send({ text: text.trim() ? text : '', private: privateInput.checked, attachments });
      input.value = '';
      this.tray.clear();
      // a note is one message: the next one goes to the customer unless marked again (a whisper
      // while watching stays one, its switch is locked)
      if (privateInput.checked && !privateInput.disabled) {
        privateInput.checked = false;
        this.updatePrivate();
      }
      this.updateSend();
    };
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      submit();
    });
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        submit();
      }
    });
    input.addEventListener('input', () => {
      this.updateSend();
      // private notes stay private: no typing indicator for the customer while writing one
      if (input.value.trim() && !privateInput.checked) sendTyping();
    });
    privateInput.addEventListener('change', () => this.updatePrivate());
    this.updatePrivate();
    $('.act-attach', panel).addEventListener('click', () => fileInput.click());
    fileInput.addEventListener('change', () => {
      this.tray.add(Array.from(fileInput.files));
      fileInput.value = '';
    });
    setupDrop(panel, $('.drop-hint', panel), (list) => this.tray.add(list));
    $('.act-canned', panel).addEventListener('click', () => openCanned(this));
    $('.act-options', panel).addEventListener('click', () => openOptions(this));
    $('.act-end', panel).addEventListener('click', () => confirmEnd(this));
    $('.act-pending', panel).addEventListener('click', () => this.setStatus('pending'));
    $('.act-resolve', panel).addEventListener('click', () => this.setStatus('resolved'));
    $('.act-leave', panel).addEventListener('click', () => {
      if (!conn.send({ type: 'leave', conversation_id: this.id })) this.log.notice(t('conn.notConnected'), 'error');
    });
    $('.act-close', panel).addEventListener('click', () => {
      removeConv(this);
      selectTab('requests', true);
    });
    this.wireInvite();
    this.wireReassign();
    $('.act-transfer', panel).addEventListener('click', (e) => {
      if (e.currentTarget.getAttribute('aria-disabled') === 'true') {
        announce(t('transfer.pending'));
        return;
      }
      transfers.open(this);
    });
    $('.transfer__dismiss', panel).addEventListener('click', () => {
      transfers.dismiss(this);
      $('.act-transfer', panel).focus();
    });
    $('.log-scroll', panel).addEventListener('scroll', () => this.markRead(), { passive: true });
    this.updateSend();
  }

  wireInvite() {
    const panel = this.panel;
    const toggle = $('.act-invite', panel);
    const form = $('.invite', panel);
    const target = $('.invite__target', panel);
    const hint = $('.invite__hint', panel);
    const list = el('datalist', { id: `${cssId(this.id)}-invite-list` });
    form.append(list);
    target.setAttribute('list', list.id);
    const agentOptions = (listed) => {
      const here = new Set(this.participants.map((p) => p.id));
      const options = [];
      const seen = new Set();
      // colleagues who can take the chat first, then the rest (by name, as listed)
      for (const a of [...listed].sort((x, y) => (x.presence !== 'available') - (y.presence !== 'available'))) {
        seen.add(a.id);
        if (a.id === me.id || here.has(a.id)) continue;
        options.push(el('option', { value: a.id, label: `${a.name} · ${t(`presence.${a.presence}`)}` }));
      }
      for (const [id, name] of knownAgents) {
        if (!seen.has(id) && id !== me.id && !here.has(id)) options.push(el('option', { value: id, label: name }));
      }
      list.replaceChildren(...options);
    };
    const refresh = () => {
      const kind = form.querySelector('input[type=radio]:checked').value;
      list.replaceChildren();
      if (kind === 'agent') {
        agentOptions(colleagues ? colleagues.list : []);
        setText(hint, t('invite.agentHint', { id: me.id }));
        loadColleagues().then((listed) => {
          if (form.querySelector('input[type=radio]:checked').value === 'agent') agentOptions(listed);
        }, () => {});                 // the ids seen in chats stay offered
      } else {
        for (const q of me.queues || []) list.append(el('option', { value: q }));
        setText(hint, t('invite.queueHint'));
      }
    };
    toggle.addEventListener('click', () => {
      form.hidden = !form.hidden;
      toggle.setAttribute('aria-expanded', String(!form.hidden));
      if (!form.hidden) {
        refresh();
        setText($('.invite__result', panel), '');
        target.focus();
      }
    });
    form.addEventListener('change', refresh);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const value = target.value.trim();
      if (!value) {
        target.focus();
        return;
      }
      const kind = form.querySelector('input[type=radio]:checked').value;
      const frame = { type: 'invite', conversation_id: this.id, [kind === 'agent' ? 'agent_id' : 'queue']: value };
      const result = $('.invite__result', panel);
      if (!conn.send(frame)) {
        setText(result, t('conn.notConnected'));
        return;
      }
      pendingInvites.push(this.id);
      transfers.forgetLast();
      lastInvite = { conversationId: this.id, at: Date.now() };
      result.classList.remove('invite__result--failed');
      setText(result, t('invite.sent'));
      target.value = '';
      form.hidden = true;
      toggle.setAttribute('aria-expanded', 'false');
      toggle.focus();
    });
  }

  updatePrivate() {
    const on = $('.private-input', this.panel).checked;
    $('.composer', this.panel).classList.toggle('composer--private', on);
    $('.private-hint', this.panel).hidden = !on;
    $('.act-options', this.panel).disabled = on || this.ended;
    this.input.placeholder = this.watching ? t('supervisor.placeholderWhisper')
      : on ? t('agent.placeholderPrivate') : t('agent.placeholder');
  }

  updateSend() {
    const hasText = this.input.value.trim().length > 0;
    $('.act-send', this.panel).disabled = this.ended || this.tray.busy || (!hasText && this.tray.ids().length === 0);
  }

  update(view) {
    this.status = view.status;
    if (isMessaging(view.status)) this.messaging = true;
    if (this.statusWanted) this.statusRefused('');    // still listed after a reconnect: it was not set
    if (view.customer) this.customer = view.customer;
    if (view.participants) this.participants = view.participants;
    for (const p of this.participants) if (p.id !== me.id) knownAgents.set(p.id, p.name);
    if (view.customer_read_seq) this.log.setReadSeq(view.customer_read_seq);
    this.renderHead();
  }

  get role() {
    const mine = this.participants.find((p) => p.id === me.id);
    return mine ? mine.role : null;
  }

  /** A supervisor who watches without taking part: read-only, and what it writes is a whisper. */
  get watching() {
    return supervising && this.role === null;
  }

  renderHead() {
    const c = this.customer;
    setText($('.tab__label', this.tab), c.name || t('common.customer'));
    this.tab.classList.toggle('tab--ended', this.ended);
    const heading = $('.conv__customer', this.panel);
    heading.replaceChildren(customerLine(c, 'span'));
    const people = this.participants.map((p) => `${p.id === me.id ? t('common.you') : p.name} (${t(`role.${p.role}`)})`);
    setText($('.conv__details', this.panel), [t('agent.queueLabel', { queue: this.queue || '' }),
      people.length ? t('agent.participants', { list: people.join(', ') }) : ''].filter(Boolean).join(' · '));
    const role = this.role;
    $('.act-leave', this.panel).hidden = this.ended || role !== 'invited';
    // a messaging conversation is resolved or set pending by its owner, never ended
    $('.act-end', this.panel).hidden = this.ended || role !== 'owner' || this.messaging;
    this.renderSupervisor(role);
    const settable = this.messaging && role === 'owner' && !this.ended && this.status === 'open';
    for (const button of $$('.act-pending, .act-resolve', this.panel)) {
      button.hidden = !settable;
      // aria-disabled, not disabled: the pressed button keeps the focus until the answer comes
      button.setAttribute('aria-disabled', String(Boolean(this.statusWanted)));
    }
    const statusBox = $('.conv__status', this.panel);
    statusBox.hidden = !this.messaging || this.ended;
    if (this.messaging) renderStatusPill(statusBox, this.status);
    $('.act-invite', this.panel).hidden = this.ended || role === null;
    // only the owner hands the chat over; a resting messaging conversation has nobody to hand over
    $('.act-transfer', this.panel).hidden = this.ended || role !== 'owner' || (this.messaging && this.status !== 'open');
    $('.act-close', this.panel).hidden = !this.ended;
    $('.composer', this.panel).hidden = this.ended;
    if (this.ended) $('.invite', this.panel).hidden = true;
    this.updateBadge();
  }

  /** A supervisor's actions: join and take over while watching, reassign, stop watching; the
   *  composer of a watched conversation whispers to the agents only. */
  renderSupervisor(role) {
    const panel = this.panel;
    const live = supervising && !this.ended;
    const waiting = this.status === 'queued';
    $('.act-join', panel).hidden = !live || role !== null || waiting;
    $('.act-take-over', panel).hidden = !live || role === 'owner';
    $('.act-reassign', panel).hidden = !live;
    $('.act-unmonitor', panel).hidden = !live || role !== null;
    $('.conv__watching', panel).hidden = !this.watching || this.ended;
    if (!live) $('.reassign', panel).hidden = true;
    const privateInput = $('.private-input', panel);
    const whisper = this.watching;
    // a whisper while watching; once taking part, messages go to the customer unless made private
    if (whisper !== Boolean(this.whispering)) privateInput.checked = whisper;
    this.whispering = whisper;
    privateInput.disabled = whisper;
    setText($('.private-label span', panel), whisper ? t('supervisor.whisperMode') : t('agent.privateMode'));
    $('.act-options', panel).hidden = whisper;
    $('.act-canned', panel).hidden = supervising;
    $('.act-attach', panel).hidden = whisper;
    this.updatePrivate();
  }

  supervise(type) {
    if (!conn.send({ type, conversation_id: this.id })) {
      this.log.notice(t('conn.notConnected'), 'error');
      return;
    }
    setText($('.conv__progress', this.panel), t('supervisor.asked'));
  }

  wireReassign() {
    const panel = this.panel;
    const toggle = $('.act-reassign', panel);
    const form = $('.reassign', panel);
    const select = $('.reassign__agent', panel);
    select.id = `${cssId(this.id)}-reassign`;
    $('.reassign__label', panel).htmlFor = select.id;
    const fill = () => {
      const owner = this.participants.find((p) => p.role === 'owner');
      const n = agentOptions(select, new Set(owner ? [owner.id] : []));
      $('button[type=submit]', form).disabled = n === 0;
      setText($('.reassign__hint', panel), n ? t('supervisor.reassignHint') : t('supervisor.noAgents'));
    };
    toggle.addEventListener('click', () => {
      form.hidden = !form.hidden;
      toggle.setAttribute('aria-expanded', String(!form.hidden));
      if (!form.hidden) {
        fill();
        select.focus();
      }
    });
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!select.value) return;
      if (!conn.send({ type: 'reassign', conversation_id: this.id, agent_id: select.value })) {
        this.log.notice(t('conn.notConnected'), 'error');
        return;
      }
      setText($('.conv__progress', panel), t('supervisor.asked'));
      form.hidden = true;
      toggle.setAttribute('aria-expanded', 'false');
      toggle.focus();
    });
    $('.act-join', panel).addEventListener('click', () => this.supervise('join'));
    $('.act-take-over', panel).addEventListener('click', () => this.supervise('take_over'));
    $('.act-unmonitor', panel).addEventListener('click', () => {
      conn.send({ type: 'unmonitor', conversation_id: this.id });
      removeConv(this);
      selectTab('floor', true);
    });
  }

  /** The owner asks for ``status`` (pending, resolved); the ``status`` event shows the result. */
  setStatus(status) {
    if (this.statusWanted) return;
    if (!conn.send({ type: 'set_status', conversation_id: this.id, status })) {
      this.log.notice(t('conn.notConnected'), 'error');
      return;
    }
    this.statusWanted = status;
    setText($('.conv__progress', this.panel), t('agent.settingStatus'));
    this.renderHead();
  }

  statusRefused(text) {
    this.statusWanted = null;
    setText($('.conv__progress', this.panel), text);
    this.renderHead();
  }

  loadCustomer() {
    loadCustomerPanel(this.customerPanel, this.id, token);
  }

  /** The engine's count of unread customer messages (welcome), unless the agent is reading now. */
  setUnread(n) {
    if (this.visible()) return;
    this.unread = n;
    this.updateBadge();
  }

  remind(f) {
    const first = !this.reminder;
    this.reminder = f;
    if (!this.visible()) this.unread = Math.max(this.unread, f.unread);
    const box = $('.conv__reminder', this.panel);
    renderReminder(box, f);
    box.hidden = false;
    this.tab.title = box.textContent;          // the reminder's words where the bell is
    this.tab.classList.add('tab--reminder');
    $('.tab__reminder', this.tab).hidden = false;
    this.updateBadge();
    if (first) announce(t('agent.reminderAnnounce', { name: this.customer.name || t('common.customer') }));
    this.markRead();
  }

  clearReminder() {
    this.reminder = null;
    $('.conv__reminder', this.panel).hidden = true;
    this.tab.removeAttribute('title');
    this.tab.classList.remove('tab--reminder');
    $('.tab__reminder', this.tab).hidden = true;
  }

  updateBadge() {
    const badge = $('.badge', this.tab);
    badge.hidden = this.unread === 0;
    setText(badge, this.unread);
    badge.setAttribute('aria-label', t('agent.unread', { n: this.unread }));
    updateTitle();
  }

  async loadHistory() {
    try {
      const { data } = await api('GET', `/api/conversations/${encodeURIComponent(this.id)}/transcript`, { token });
      for (const m of data.messages || []) this.log.upsert(m);
    } catch (err) {
      this.log.notice(errorText(err), 'error');
    }
    this.loaded = true;
    this.markRead();
  }

  setHistory(messages) {
    for (const m of messages) this.log.upsert(m);
    this.loaded = true;
  }

  send({ text, private: isPrivate = false, attachments = [], options = null }) {
    const clientId = newId();
    this.log.upsert({
      client_id: clientId, sender: { kind: 'agent', id: me.id, name: me.name }, text, private: isPrivate,
      attachments, options, option_id: null, at: new Date(now()).toISOString(),
    });
    const frame = { conversation_id: this.id, client_id: clientId, text, private: isPrivate };
    if (attachments.length) frame.attachments = attachments.map((a) => a.id);
    if (options) frame.options = options;
    conn.sendMessage(frame).then((ack) => this.log.upsert({ client_id: clientId, seq: ack.seq, id: ack.id }), () => {});
  }

  onMessage(m) {
    const isNew = this.log.upsert(m);
    if (m.sender && m.sender.kind !== 'system' && !this.log.isMine(m)) {
      this.hideTyping();
      if (m.sender.kind === 'agent' && m.sender.id) knownAgents.set(m.sender.id, m.sender.name);
      if (isNew && !this.visible()) {
        this.unread += 1;
        this.updateBadge();
      }
      if (isNew && m.sender.kind === 'customer' && !this.watching) {
        alerts.message(this.customer.name || t('common.customer'), m.text, this.id, () => selectTab(this.id, true));
      }
    }
    this.markRead();
  }

  visible() {
    return activeTab === this.id && document.visibilityState === 'visible' && atBottom($('.log-scroll', this.panel));
  }

  markRead() {
    if (!this.visible() || this.ended || this.watching) return;
    const seq = this.log.lastSeq;
    if (seq > this.readSent && conn.send({ type: 'read', conversation_id: this.id, seq })) this.readSent = seq;
    if (this.unread) {
      this.unread = 0;
      this.updateBadge();
    }
    if (this.reminder) this.clearReminder();
  }

  showTyping(name) {
    setText($('.typing', this.panel), t('chat.typing', { name }));
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => this.hideTyping(), TYPING_SHOW_MS);
  }

  hideTyping() {
    clearTimeout(this.typingTimer);
    setText($('.typing', this.panel), '');
  }

  finish(text) {
    this.ended = true;
    this.status = 'ended';
    if (this.reminder) this.clearReminder();
    this.hideTyping();
    this.tray.clear();
    const banner = $('.conv__banner', this.panel);
    setText(banner, text);
    banner.hidden = false;
    this.log.notice(text);
    this.updatePrivate();
    this.updateSend();
    this.renderHead();
  }
}

function onConversation(f) {
  let conv = convs.get(f.conversation_id);
  if (conv && conv.ended) {
    removeConv(conv);
    conv = null;
  }
  if (conv) {
    conv.update(f);
    conv.loadCustomer();             // accepted again: what is known of the customer may have changed
  } else {
    conv = new Conv(f);
  }
  conv.setHistory(f.messages || []);
  setText($('.conv__progress', conv.panel), '');
  for (const [id, card] of offers) if (card.conversationId === f.conversation_id) removeOffer(id);
  for (const [id, card] of invitations) if (card.conversationId === f.conversation_id) removeInvitation(id);
  transfers.opened(f.conversation_id);
  selectTab(conv.id, false);
  conv.input.focus({ preventScroll: true });
  conv.log.scrollToEnd();
  conv.markRead();
}

/** The floor's "Watch": the conversation's tab when it is open, else ``monitor`` (its view follows). */
function watch(conversationId) {
  if (convs.has(conversationId)) {
    selectTab(conversationId, true);
    return;
  }
  if (!conn || !conn.send({ type: 'monitor', conversation_id: conversationId })) announce(t('conn.notConnected'));
}

function onParticipant(f, joined) {
  const conv = convs.get(f.conversation_id);
  if (!conv) return;
  if (f.agent.id !== me.id) knownAgents.set(f.agent.id, f.agent.name);
  const name = f.agent.id === me.id ? t('common.you') : f.agent.name;
  if (joined) {
    const known = conv.participants.find((p) => p.id === f.agent.id);
    if (known) known.role = f.role;          // an invited colleague who owns the chat now
    else conv.participants.push({ id: f.agent.id, name: f.agent.name, role: f.role, read_seq: 0 });
    if (f.agent.id !== me.id) conv.log.notice(t('agent.joined', { name }));
  } else {
    conv.participants = conv.participants.filter((p) => p.id !== f.agent.id);
    if (f.agent.id === me.id) {
      conv.finish(f.role === 'invited' ? t('agent.youLeft') : ownerLeftText(conv));
      return;
    }
    conv.log.notice(t('agent.left', { name }));
  }
  conv.renderHead();
}

/** Why the owner is out of its chat: its own transfer, a supervisor's reassignment (the engine named
 * the new owner just before), or its chats went back to the queue. */
function ownerLeftText(conv) {
  const handed = transfers.handedOver(conv.id);
  if (handed) return handed;
  const successor = conv.participants.find((p) => p.role === 'owner' && p.id !== me.id);
  return successor ? t('agent.reassigned', { name: successor.name }) : t('agent.requeued');
}

function onMessage(f) {
  const conv = convs.get(f.conversation_id);
  if (conv) conv.onMessage(f);
}

function onRead(f) {
  const conv = convs.get(f.conversation_id);
  if (conv && f.reader && f.reader.kind === 'customer') conv.log.setReadSeq(f.seq);
}

function onTyping(f) {
  const conv = convs.get(f.conversation_id);
  if (conv && f.sender && !(f.sender.kind === 'agent' && f.sender.id === me.id)) {
    conv.showTyping(f.sender.name || t('common.customer'));
  }
}

function onEnded(f) {
  const conv = convs.get(f.conversation_id);
  if (!conv) return;
  let text = t('agent.ended');
  if (f.reason === 'left') text = t('agent.customerLeft');
  else if (f.by === 'customer') text = t('agent.endedByCustomer');
  else if (f.by === 'agent') text = t('agent.endedByAgent');
  conv.finish(text);
}

/** A messaging conversation was set pending or resolved (or waits again): every agent left it, so it
 *  leaves the list, and a note says what became of it. */
function onStatus(f) {
  // the panels that list this conversation beside another chat of the same customer show its new status
  for (const other of convs.values()) {
    if (other.id !== f.conversation_id && panelLists(other.customerPanel, f.conversation_id)) other.loadCustomer();
  }
  const conv = convs.get(f.conversation_id);
  if (!conv) return;
  if (f.status === 'open') {
    conv.status = 'open';
    conv.renderHead();
    return;
  }
  showConsoleNote(leavingText(f, conv.customer.name || t('common.customer')));
  const hadFocus = conv.panel.contains(document.activeElement) || conv.tab.contains(document.activeElement);
  const wasActive = activeTab === conv.id;
  removeConv(conv);
  if (wasActive) selectTab('requests', hadFocus);
}

function onReminder(f) {
  const conv = convs.get(f.conversation_id);
  if (conv && !conv.ended) conv.remind(f);
}

function removeConv(conv) {
  conv.tray.clear();
  conv.tab.remove();
  conv.panel.remove();
  convs.delete(conv.id);
}

function confirmEnd(conv) {
  const dialog = $('#end-dialog');
  setText($('#agent-end-text'), t('agent.endText', { name: conv.customer.name || t('common.customer') }));
  dialog.returnValue = '';
  dialog.onclose = () => {
    if (dialog.returnValue !== 'end') return;
    if (!conn.send({ type: 'end', conversation_id: conv.id })) conv.log.notice(t('conn.notConnected'), 'error');
  };
  dialog.showModal();
}

// ---- tabs ------------------------------------------------------------------------------------

function selectTab(id, focus) {
  activeTab = id;
  for (const tab of $$('#tabs [role=tab]')) {
    const selected = id === 'requests' || id === 'floor' ? tab.id === `tab-${id}` : tab.dataset.conversationId === id;
    tab.setAttribute('aria-selected', String(selected));
    tab.tabIndex = selected ? 0 : -1;
    if (selected && focus) tab.focus();
  }
  $('#panel-requests').hidden = id !== 'requests';
  $('#panel-floor').hidden = id !== 'floor';
  for (const conv of convs.values()) conv.panel.hidden = conv.id !== id;
  const conv = convs.get(id);
  if (conv) {
    conv.log.scrollToEnd();
    conv.markRead();
  }
}

function tabKeys(e) {
  const tabs = $$('#tabs [role=tab]').filter((tab) => !tab.hidden);
  const i = tabs.indexOf(document.activeElement);
  if (i < 0) return;
  let next = null;
  if (e.key === 'ArrowRight') next = tabs[(i + 1) % tabs.length];
  else if (e.key === 'ArrowLeft') next = tabs[(i - 1 + tabs.length) % tabs.length];
  else if (e.key === 'Home') next = tabs[0];
  else if (e.key === 'End') next = tabs[tabs.length - 1];
  if (!next) return;
  e.preventDefault();
  const fixed = { 'tab-requests': 'requests', 'tab-floor': 'floor' };
  selectTab(fixed[next.id] || next.dataset.conversationId, true);
}

// ---- canned messages and option menus --------------------------------------------------------

let cannedFor = null;

async function openCanned(conv) {
  cannedFor = conv;
  const dialog = $('#canned-dialog');
  $('#canned-search').value = '';
  dialog.showModal();
  $('#canned-search').focus();
  if (!canned) {
    setText($('#canned-status'), t('common.loading'));
    try {
      const { data } = await api('GET', '/api/canned', { token });
      canned = data.canned || [];
    } catch (err) {
      setText($('#canned-status'), errorText(err));
      return;
    }
  }
  renderCanned();
}

async function loadColleagues() {
  if (colleagues && Date.now() - colleagues.at < COLLEAGUES_TTL_MS) return colleagues.list;
  const { data } = await api('GET', '/api/agents', { token });
  colleagues = { at: Date.now(), list: data.agents || [] };
  for (const a of colleagues.list) knownAgents.set(a.id, a.name);
  return colleagues.list;
}

function renderCanned() {
  const query = $('#canned-search').value.trim().toLowerCase();
  const hits = (canned || []).filter((c) => !query || c.title.toLowerCase().includes(query) ||
    c.text.toLowerCase().includes(query));
  $('#canned-list').replaceChildren(...hits.map((c) => el('li', {},
    el('button', { type: 'button', class: 'canned', onclick: () => insertCanned(c) },
      el('span', { class: 'canned__title', text: c.title }),
      c.queue ? el('span', { class: 'canned__queue', text: c.queue }) : null,
      el('span', { class: 'canned__text', text: c.text })))));
  setText($('#canned-status'), hits.length ? t('canned.count', { n: hits.length }) : t('canned.none'));
}

function insertCanned(c) {
  $('#canned-dialog').close();
  const input = cannedFor.input;
  const start = input.selectionStart ?? input.value.length;
  const end = input.selectionEnd ?? input.value.length;
  const text = fillPlaceholders(c.text, {
    customer_name: (cannedFor.customer && cannedFor.customer.name) || '',
    agent_name: (me && me.name) || '',
    queue: cannedFor.queue || '',
  });
  input.setRangeText(text, start, end, 'end');
  input.focus();
  cannedFor.updateSend();
}

let optionsFor = null;

function optionRow(value = '') {
  const list = $('#options-list');
  const n = list.children.length + 1;
  const id = `option-${newId()}`;
  const row = el('li', { class: 'options-row' },
    el('label', { htmlFor: id, class: 'sr-only', text: t('options.choice', { n }) }),
    el('input', { id, type: 'text', maxLength: 200, value, placeholder: t('options.choice', { n }) }),
    el('button', { type: 'button', class: 'icon-button', 'aria-label': t('options.remove', { n }),
      onclick: () => {
        if (list.children.length <= MIN_OPTIONS) return;
        row.remove();
        renumberOptions();
      } }, icon('close')));
  list.append(row);
  return row;
}

function renumberOptions() {
  const rows = $$('#options-list li');
  rows.forEach((row, i) => {
    const label = t('options.choice', { n: i + 1 });
    setText($('label', row), label);
    $('input', row).placeholder = label;
    $('button', row).setAttribute('aria-label', t('options.remove', { n: i + 1 }));
    $('button', row).disabled = rows.length <= MIN_OPTIONS;
  });
  $('#options-add').disabled = rows.length >= MAX_OPTIONS;
}

function openOptions(conv) {
  optionsFor = conv;
  $('#options-prompt').value = conv.input.value;
  $('#options-list').replaceChildren();
  optionRow();
  optionRow();
  renumberOptions();
  $('#options-error').hidden = true;
  $('#options-dialog').showModal();
  $('#options-prompt').focus();
}

function submitOptions(e) {
  e.preventDefault();
  const prompt = $('#options-prompt').value.trim();
  const labels = $$('#options-list input').map((i) => i.value.trim());
  const error = $('#options-error');
  let problem = null;
  if (!prompt) problem = t('options.needPrompt');
  else if (labels.some((l) => !l)) problem = t('options.emptyChoice');
  else if (new Set(labels).size !== labels.length) problem = t('options.duplicate');
  else if (labels.length < MIN_OPTIONS || labels.length > MAX_OPTIONS) problem = t('options.count');
  if (problem) {
    setText(error, problem);
    error.hidden = false;
    return;
  }
  const options = labels.map((label, i) => ({ id: `o${i + 1}`, label }));
  optionsFor.send({ text: prompt, options });
  optionsFor.input.value = '';
  optionsFor.updateSend();
  $('#options-dialog').close();
  optionsFor.input.focus();
}

// ---- offline requests ------------------------------------------------------------------------

async function loadRequests(quiet = false) {
  if (!token) return;
  const status = $('#requests-status').value;
  const box = $('#requests-status-text');
  if (!quiet) setText(box, t('common.loading'));
  let result;
  try {
    result = await api('GET', `/api/offline-requests?status=${encodeURIComponent(status)}`, { token });
  } catch (err) {
    if (err.status === 401) signOut(t('error.session'));
    else setText(box, errorText(err));
    return;
  }
  const serverDate = Date.parse(result.response.headers.get('Date') || '');
  // the Date header has a resolution of one second: only a clearly wrong clock is corrected
  if (!Number.isNaN(serverDate)) clockSkew = Math.abs(serverDate - Date.now()) > 2000 ? serverDate - Date.now() : 0;
  const requests = result.data.requests || [];
  $('#requests-list').replaceChildren(...requests.map(renderRequest));
  setText(box, requests.length ? t('requests.count', { n: requests.length }) : t('requests.none'));
  if (status === 'open') {
    const badge = $('#requests-count');
    badge.hidden = requests.length === 0;
    setText(badge, requests.length);
    badge.setAttribute('aria-label', t('requests.openCount', { n: requests.length }));
  }
}

function renderRequest(r) {
  const status = el('p', { class: 'request__status', role: 'status' });
  const item = el('li', { class: 'request' },
    el('div', { class: 'request__head' },
      el('h3', { class: 'request__number', text: r.request_number }),
      el('span', { class: 'pill', text: r.queue }),
      el('time', { dateTime: r.created_at, text: formatDateTime(r.created_at) })),
    el('p', { class: 'request__who' }, el('span', { class: 'request__name', text: r.name }), ' · ',
      el('span', { class: 'request__email', text: r.email })),
    el('details', { class: 'request__details' },
      el('summary', { text: t('requests.read') }),
      el('p', { class: 'request__question', text: r.question })),
    r.status === 'handled'
      ? el('p', { class: 'request__handled', text: t('requests.handledAt', { time: formatDateTime(r.handled_at) }) })
      : el('button', { type: 'button', class: 'button button--small button--primary act-handle', text: t('requests.handle'),
        onclick: async (e) => {
          e.target.disabled = true;
          try {
            await api('POST', `/api/offline-requests/${encodeURIComponent(r.request_id)}/handle`, { token, body: {} });
            item.remove();
            announce(t('requests.done', { number: r.request_number }));
            setText($('#requests-status-text'), t('requests.done', { number: r.request_number }));
            const badge = $('#requests-count');
            const left = $$('#requests-list .request').length;
            badge.hidden = left === 0;
            setText(badge, left);
          } catch (err) {
            setText(status, errorText(err));
            e.target.disabled = false;
          }
        } }),
    status);
  return item;
}

// ---- start -----------------------------------------------------------------------------------

function init() {
  document.documentElement.lang = lang;
  applyI18n(document);
  $('#login').addEventListener('submit', submitLogin);
  $('#presence').addEventListener('click', togglePresence);
  $('#sign-out').addEventListener('click', askSignOut);
  alerts = setupAlerts({ pending: () => waitingCards().length, unread: unreadCount, title: () => t('agent.docTitle') });
  document.addEventListener('keydown', answerShortcut);
  $('#tabs').addEventListener('keydown', tabKeys);
  $('#tab-requests').addEventListener('click', () => selectTab('requests', true));
  $('#tab-floor').addEventListener('click', () => selectTab('floor', true));
  $('#console-note-dismiss').addEventListener('click', () => {
    hideConsoleNote();
    $(`#tab-${cssId(activeTab)}`)?.focus();
  });
  $('#requests-refresh').addEventListener('click', () => loadRequests());
  $('#requests-status').addEventListener('change', () => loadRequests());
  $('#canned-search').addEventListener('input', renderCanned);
  $('#options-form').addEventListener('submit', submitOptions);
  $('#options-add').addEventListener('click', () => {
    if ($('#options-list').children.length < MAX_OPTIONS) $('input', optionRow()).focus();
    renumberOptions();
  });
  $('#options-cancel').addEventListener('click', () => $('#options-dialog').close());
  updateTitle();
  transfers = setupTransfers({
    send: (frame) => {
      const sent = Boolean(conn && conn.send(frame));
      if (sent && frame.type === 'transfer') lastInvite = null;     // its errors are the transfer's
      return sent;
    },
    me: () => me,
    colleagues: () => {
      colleagues = null;     // presence and load as they are now, not as when the invite field last asked
      return loadColleagues();
    },
    convs, announce, countdownParts, customerLine, retireCard, focusAfterCard, updateTitle, errorText,
  });
  outreach = setupOutreach({
    token: () => token,
    queues: () => (me && me.queues) || [],
    errorText,
    started: (conversationId, email) => {
      announce(t('outreach.started', { email }));
      // the conversation event may have come first: closing the dialog gave the focus back to its button
      const conv = convs.get(conversationId);
      if (conv) {
        selectTab(conv.id, false);
        conv.input.focus({ preventScroll: true });
      }
    },
  });
  document.addEventListener('visibilitychange', () => {
    const conv = convs.get(activeTab);
    if (conv) conv.markRead();
  });
  // a warning before leaving while a chat is going on (not once the customer has left or it ended)
  window.addEventListener('beforeunload', (e) => {
    if ([...convs.values()].some((c) => !c.ended)) {
      e.preventDefault();
      e.returnValue = '';
    }
  });
  // the dashboard's live overview links here for supervisors
  if (new URLSearchParams(window.location.search).get('role') === 'supervisor') $('#login-supervisor').checked = true;
  const saved = auth.load(null);
  if (saved && saved.token && saved.agent) startConsole(saved.token, saved.agent, saved.role || 'agent');
  else showLogin();
}




init();
