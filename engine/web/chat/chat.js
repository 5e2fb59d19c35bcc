// The customer chat (/chat?queue=support): pre-chat form with FAQ suggestions, closed queue with
// the offline-request form, waiting, and the chat itself; and the same chat opened by a
// notification mail's link (/chat/c/{conversation_id}#t=<link token>, link.js), where a messaging
// conversation is pending or resolved until the customer writes again. Once it has ended or is
// resolved, the post-chat form asks for a rating (rating.js). Written against PROTOCOL.md only.

import { el, $, $$, icon, replace, setText, debounce, throttle, atBottom } from '/web/shared/dom.js';
import { t, tParts, applyI18n, formatDateTime, formatWait, lang } from '/web/shared/i18n.js';
import { Connection, ApiError, api, newId, sessionValue } from '/web/shared/protocol.js';
import { ChatLog } from '/web/shared/chatlog.js';
import { Files, Tray, ACCEPT, setupDrop } from '/web/shared/uploads.js';
import {
  errorText, cssId, fieldLabel, values, clearErrors, showApiError, setupConsent, withConsent,
  applyLimits, watchForm, checkForm,
} from '/chat/forms.js';
import { readLink, newChatUrl } from '/chat/link.js';
import { RatingForm } from '/chat/rating.js';

const params = new URLSearchParams(location.search);
const queue = params.get('queue') || 'support';
const embedded = params.get('embed') === '1';
// a verified identity from the embedding page: #email=...&name=...&hmac=... (PROTOCOL.md §3)
const fragment = new URLSearchParams(location.hash.slice(1));
const identity = fragment.get('email') && fragment.get('hmac')
  ? { email: fragment.get('email'), name: fragment.get('name') || undefined, hmac: fragment.get('hmac') } : null;

const link = readLink();                         // {conversationId, token} on /chat/c/...
// a link's conversation is kept under its own key: the tab may hold a chat of the queue's page too
const KEY = link ? `frontdesk.chat.c.${link.conversationId}` : `frontdesk.chat.${queue}`;
// {conversation_id, token, name, email, last_seq, messages, queue, messaging, link}
const saved = sessionValue(KEY);
const unackedStore = sessionValue(`${KEY}.unacked`);
const MAX_CACHED_MESSAGES = 300;
const TYPING_SEND_MS = 3000;
const TYPING_SHOW_MS = 5000;
const RESTING = new Set(['pending', 'resolved']);   // a messaging conversation set aside (PROTOCOL.md §7)
const MESSAGING_STATUSES = new Set(['open', ...RESTING]);

// the embedding page's origin (widget.js): the only one this page talks to and listens to
const host = embedded ? launcherOrigin(params.get('host')) : null;
const BASE_TITLE = document.title;
const PREVIEW_CHARS = 120;
// the widget's panel: open unless the launcher says it is closed
let panelOpen = true;

let queueInfo = null;
// a queue may send no transcript mails (its setting); a page restored without its queue's view offers them
const transcriptMails = () => !queueInfo || queueInfo.transcript_mails !== false;
let chat = null;   // the running chat (see startChat)

// ---- screens -------------------------------------------------------------------------------

const SCREENS = ['loading', 'error', 'prechat', 'answered', 'closed', 'offline-done', 'chat'];

function show(name, focus = true) {
  for (const s of SCREENS) $(`#screen-${s}`).hidden = s !== name;
  document.body.dataset.screen = name;
  if (focus) {
    const heading = $(`#screen-${name} h2`);
    if (heading && heading.hasAttribute('tabindex')) heading.focus({ preventScroll: true });
  }
}

/** The error screen; ``newChat``: the way out is a new chat (a link that no longer works), not a retry. */
function fail(text, { newChat = false, queue: newQueue = null } = {}) {
  setText($('#error-text'), text);
  $('#error-retry').hidden = newChat;
  $('#error-new').hidden = !newChat;
  $('#error-new').href = newChatUrl(newQueue);
  show('error');
}

// ---- pre-chat ------------------------------------------------------------------------------

async function loadQueue() {
  show('loading', false);
  try {
    ({ data: queueInfo } = await api('GET', `/api/queues/${encodeURIComponent(queue)}`));
  } catch (err) {
    fail(err.status === 404 ? t('chat.unknownQueue') : errorText(err));
    return;
  }
  buildExtraFields(queueInfo.required_fields || []);
  setupConsent('pc', queueInfo.consent_notice);
  applyLimits($('#prechat'), queueInfo.form);
  applyLimits($('#offline'), queueInfo.form);
  // a live queue nobody can serve now takes a message at once, as the server would answer the form
  if (!queueInfo.open || (queueInfo.agents_online === 0 && queueInfo.mode !== 'messaging')) {
    const reason = queueInfo.open ? 'no_agents' : 'outside_hours';
    showClosed({ reason, message: queueInfo.closed_message, next_open: queueInfo.next_open },
      identity ? { name: identity.name, email: identity.email } : {});
    return;
  }
  const notice = $('#prechat-notice');
  if (!queueInfo.open || queueInfo.agents_online === 0) {
    const when = queueInfo.next_open ? t('closed.next', { time: formatDateTime(queueInfo.next_open) }) : '';
    setText($('#prechat-notice-text'), [queueInfo.open ? t('closed.noAgentsHint') : t('closed.closedHint'), when]
      .filter(Boolean).join(' '));
    notice.hidden = false;
  } else {
    notice.hidden = true;
  }
  if (identity) {
    const name = $('#pc-name');
    const email = $('#pc-email');
    email.value = identity.email;
    email.readOnly = true;
    if (identity.name) {
      name.value = identity.name;
      name.readOnly = true;
    }
  }
  show('prechat');
}

function buildExtraFields(fields) {
  const box = $('#pc-extra');
  box.replaceChildren();
  for (const field of fields) {
    const name = typeof field === 'string' ? field : field && field.name;
    if (!name) continue;
    const label = typeof field === 'object' && field.label ? field.label : fieldLabel(name);
    const id = `pc-f-${cssId(name)}`;
    box.append(el('div', { class: 'field' },
      el('label', { htmlFor: id, text: label }),
      el('input', { id, type: 'text', maxLength: 1000, dataset: { extraField: name } }),
      el('p', { class: 'field-error', id: `${id}-error`, hidden: true })));
  }
}

async function submitPrechat(event) {
  event.preventDefault();
  const form = $('#prechat');
  clearErrors(form);
  if (!checkForm(form, queueInfo && queueInfo.form)) return;
  const v = values(form);
  const fields = {};
  for (const input of form.querySelectorAll('[data-extra-field]')) fields[input.dataset.extraField] = input.value;
  // the language the page shows: mails and system messages of the chat follow it
  const body = withConsent('pc', { queue, name: v.name, email: v.email, question: v.question, language: lang });
  if (Object.keys(fields).length) body.fields = fields;
  if (identity) body.identity = identity;
  const submit = $('#prechat-submit');
  submit.disabled = true;
  try {
    const { data } = await api('POST', '/api/chats', { body });
    if (data.status === 'closed') {
      showClosed(data, v);
      return;
    }
    const session = {
      conversation_id: data.conversation_id, token: data.customer_token, name: v.name, email: v.email,
      last_seq: 0, messages: [], position: data.position, queue, messaging: queueInfo.mode === 'messaging',
    };
    saved.save(session);
    startChat(session);
  } catch (err) {
    if (err instanceof ApiError) showApiError(form, 'pc', err, $('#prechat-error'));
    else throw err;
  } finally {
    submit.disabled = false;
  }
}

// ---- FAQ suggestions -----------------------------------------------------------------------

let faqRequest = 0;

const lookupFaq = debounce(async (text) => {
  const ticket = ++faqRequest;
  if (!queueInfo || !queueInfo.faq_suggestions || text.trim().length < 3) {
    renderFaq([]);
    return;
  }
  try {
    const { data } = await api('GET', `/api/faq?queue=${encodeURIComponent(queue)}&q=${encodeURIComponent(text)}`);
    if (ticket === faqRequest) renderFaq(data.results || []);
  } catch {
    if (ticket === faqRequest) renderFaq([]);
  }
}, 350);

function renderFaq(results) {
  const list = $('#faq-list');
  const shown = Array.from(list.children, (li) => li.dataset.id).join();
  if (shown === results.map((r) => r.id).join()) return;   // keep what is open
  list.replaceChildren(...results.map((r) => el('li', { dataset: { id: r.id } },
    el('details', { class: 'faq__item' },
      el('summary', { text: r.question }),
      el('div', { class: 'faq__answer' },
        el('p', { text: r.answer }),
        el('button', { type: 'button', class: 'button button--secondary button--small', text: t('faq.answered'),
          onclick: () => show('answered') }))))));
  $('#faq').hidden = results.length === 0;
  setText($('#faq-status'), results.length ? t('faq.count', { n: results.length }) : '');
}

// ---- closed queue: offline request ----------------------------------------------------------

function showClosed(data, v) {
  setText($('#closed-title'), data.reason === 'no_agents' ? t('closed.noAgentsTitle') : t('closed.closedTitle'));
  setText($('#closed-message'), data.message || '');
  setText($('#closed-next'), data.next_open ? t('closed.next', { time: formatDateTime(data.next_open) }) : '');
  $('#closed-next').hidden = !data.next_open;
  const form = $('#offline');
  clearErrors(form);
  form.elements.name.value = v.name || '';
  form.elements.email.value = v.email || '';
  form.elements.question.value = v.question || '';
  setupConsent('of', queueInfo && queueInfo.consent_notice, $('#pc-consent').checked);
  show('closed');
}

async function submitOffline(event) {
  event.preventDefault();
  const form = $('#offline');
  clearErrors(form);
  if (!checkForm(form, queueInfo && queueInfo.form)) return;
  const v = values(form);
  const submit = $('#offline-submit');
  submit.disabled = true;
  try {
    const { data } = await api('POST', '/api/offline-requests',
      { body: withConsent('of', { queue, name: v.name, email: v.email, question: v.question, language: lang }) });
    setText($('#request-number'), data.request_number);
    setText($('#offline-done-text'), t('offline.doneText', { email: v.email }));
    show('offline-done');
  } catch (err) {
    if (err instanceof ApiError) showApiError(form, 'of', err, $('#offline-error'));
    else throw err;
  } finally {
    submit.disabled = false;
  }
}

// ---- the chat ------------------------------------------------------------------------------

/** The running chat of ``session``. A link opened in a new tab shows its conversation once the
 *  engine has welcomed the token: a link that no longer works never flashes an empty chat. */
function startChat(session) {
  const waitForWelcome = Boolean(session.link) && !(session.messages || []).length;
  if (!waitForWelcome) show('chat');
  const files = new Files(() => session.token);
  const log = new ChatLog($('#log'), {
    viewer: 'customer', files,
    onOption: (_m, option) => sendFrame({ option_id: option.id }, { text: option.label, option_id: option.id }),
    onRetry: (m) => {
      log.remove(m.client_id);
      const input = $('#message-input');
      input.value = m.text || '';
      input.focus();
    },
  });
  const state = {
    session, log, files, status: 'queued', agents: new Map(), readSent: session.read_seq || 0, ended: false,
    unreadShown: '',
    typingTimer: null, transcriptAsked: Boolean(session.transcript_asked), messaging: Boolean(session.messaging),
  };
  chat = state;
  state.rating = new RatingForm(() => ({ conversation_id: session.conversation_id, token: session.token }));

  for (const m of session.messages || []) log.upsert(m);
  if (session.position) showWaiting(session.position, null);

  const conn = new Connection({
    token: session.token,
    resume: () => ({ [session.conversation_id]: log.lastSeq }),
    store: { load: () => unackedStore.load([]), save: (frames) => unackedStore.save(frames) },
  });
  state.conn = conn;
  for (const frame of conn.unacked()) {
    log.upsert({ client_id: frame.client_id, sender: { kind: 'customer', name: session.name }, text: frame.text,
      attachments: [], option_id: frame.option_id || null, at: new Date().toISOString() });
  }
  conn.addEventListener('frame', (e) => onFrame(state, e.detail));
  conn.addEventListener('status', (e) => showConnection(e.detail));
  conn.addEventListener('sendfailed', (e) => log.fail(e.detail.frame.client_id, errorText(e.detail.error)));
  conn.addEventListener('unauthenticated', () => {
    saved.save(null);
    unackedStore.save(null);
    if (session.link) fail(t('link.invalid'), { newChat: true, queue: session.queue });
    else fail(t('chat.expired'));
  });
  conn.start();

  const tray = new Tray($('#tray'), $('#tray-error'), () => session.token, () => updateSendButton(state));
  state.tray = tray;
  setupComposer(state);
  updateHead(state);
  document.addEventListener('visibilitychange', () => markRead(state));
  window.addEventListener('focus', () => markRead(state));
  $('#log-scroll').addEventListener('scroll', () => markRead(state), { passive: true });
}

function sendFrame(frame, shown) {
  const state = chat;
  if (!state || state.ended) return null;
  const clientId = newId();
  const attachments = shown.attachments || [];
  state.log.upsert({
    client_id: clientId, sender: { kind: 'customer', name: state.session.name }, text: shown.text || '',
    attachments, option_id: shown.option_id || null, options: null, private: false, at: new Date().toISOString(),
  });
  const promise = state.conn.sendMessage({ ...frame, client_id: clientId, conversation_id: state.session.conversation_id });
  promise.then((ack) => {
    state.log.upsert({ client_id: clientId, seq: ack.seq, id: ack.id });
    persist(state);
  }, () => {});
  return promise;
}

function persist(state) {
  const messages = state.log.messages().slice(-MAX_CACHED_MESSAGES).map((m) => ({
    seq: m.seq, id: m.id, sender: m.sender, text: m.text, attachments: m.attachments || [], options: m.options || null,
    option_id: m.option_id || null, private: false, at: m.at, client_id: m.client_id,
  }));
  const complete = messages.length === 0 || messages[0].seq === 1 || state.log.messages().length <= MAX_CACHED_MESSAGES;
  const { position: _position, ...rest } = state.session;
  const session = { ...rest, messages, last_seq: state.log.lastSeq };
  // a history cut short would hide the start after a reload: then resume from the beginning instead
  if (!complete || !saved.save(session)) saved.save({ ...rest, messages: [], last_seq: 0 });
}

function onFrame(state, f) {
  const { log } = state;
  const cid = state.session.conversation_id;
  if (f.conversation_id && f.conversation_id !== cid) return;
  switch (f.type) {
    case 'welcome': {
      const conv = f.conversation || {};
      if (state.session.link && conv.conversation_id !== cid) {
        // a token of another conversation under this address: the link was altered
        state.conn.stop();
        saved.save(null);
        unackedStore.save(null);
        fail(t('link.invalid'), { newChat: true });
        return;
      }
      if (document.body.dataset.screen !== 'chat') show('chat');
      state.status = conv.status;
      remember(state, conv.queue, MESSAGING_STATUSES.has(conv.status));
      for (const p of conv.participants || []) {
        state.agents.set(p.id, p.name);
        log.setReadSeq(p.read_seq || 0);
      }
      if (conv.status === 'active' || conv.status === 'open') hideBanner();
      if (RESTING.has(conv.status)) showResting(conv.status);
      if (conv.status === 'resolved') state.rating.offer();
      else if (conv.status !== 'ended') state.rating.hide();
      if (conv.status === 'ended') showEnded(state, null);
      updateHead(state);
      break;
    }
    case 'queued':
      state.status = 'queued';
      showWaiting(f.position, f.estimated_wait_s);
      break;
    case 'status':
      onStatus(state, f);
      break;
    case 'requeued':
      state.status = 'queued';
      showWaiting(f.position, null, t('chat.requeued'));
      log.notice(t('chat.requeued'));
      break;
    case 'participant_joined':
      state.status = state.messaging ? 'open' : 'active';
      state.agents.set(f.agent.id, f.agent.name);
      hideBanner();
      updateHead(state);
      log.notice(t('chat.joined', { name: f.agent.name }));
      $('#message-input').focus({ preventScroll: true });
      break;
    case 'participant_left':
      state.agents.delete(f.agent.id);
      log.notice(t('chat.left', { name: f.agent.name }));
      break;
    case 'message':
      if (f.sender && f.sender.kind !== 'customer') hideTyping(state);
      log.upsert(f);
      persist(state);
      markRead(state);
      break;
    case 'read':
      if (f.reader && f.reader.kind === 'agent') log.setReadSeq(f.seq);
      break;
    case 'typing':
      if (f.sender && f.sender.kind === 'agent') showTyping(state, f.sender.name);
      break;
    case 'fallback':
      showBanner(t('chat.fallbackTitle'), tParts('chat.fallbackText', { number: requestNumber(f.request_number) }));
      state.fallback = f.request_number;
      break;
    case 'ended':
      showEnded(state, f);
      break;
    case 'error':
      if (!f.ref && f.code !== 'rate_limited') log.notice(errorText(f), 'error');
      break;
    default:
      break;
  }
}

/** The queue and kind of the conversation, kept for a reload and for "start a new chat". */
function remember(state, conversationQueue, messaging) {
  if (messaging) state.messaging = true;
  const { session } = state;
  if ((conversationQueue && session.queue !== conversationQueue) || session.messaging !== state.messaging) {
    session.queue = conversationQueue || session.queue;
    session.messaging = state.messaging;
    persist(state);
  }
}

/** A messaging conversation changed its status: a line in the log, and a calm note while it rests
 *  (the customer's next message reopens it). */
function onStatus(state, f) {
  state.status = f.status;
  remember(state, null, true);
  const line = statusLine(f);
  if (line) state.log.notice(line);
  if (RESTING.has(f.status)) showResting(f.status);
  else if (f.status === 'queued') showBanner(t('wait.unknown'), '');
  else hideBanner();
  // a resolved conversation may be rated; a reopened one waits for its next resolution
  if (f.status === 'resolved') state.rating.offer();
  else state.rating.hide();
  updateHead(state);
}

function statusLine(f) {
  if (f.status === 'pending') return t('chat.statusPending');
  if (f.status === 'resolved') return t(f.by === 'customer' ? 'chat.statusResolvedByYou' : 'chat.statusResolvedByAgent');
  if (f.status === 'queued') return t('chat.statusReopened');
  return null;
}

function showResting(status) {
  showBanner(t(status === 'pending' ? 'chat.notePending' : 'chat.noteResolved'), '');
}

/** The head's button: "End chat" in a live chat; in a messaging conversation "Mark as resolved",
 *  which nothing needs while it rests. */
function updateHead(state) {
  const button = $('#end-button');
  setText(button, t(state.messaging ? 'chat.resolve' : 'chat.end'));
  button.classList.toggle('button--danger', !state.messaging);
  button.classList.toggle('button--secondary', state.messaging);
  button.hidden = state.ended || (state.messaging && RESTING.has(state.status));
}

function showWaiting(position, estimate, headline) {
  const main = headline || (position === 1 ? t('wait.next') : t('wait.position', { n: position }));
  const sub = estimate === null || estimate === undefined ? t('wait.unknown') : t('wait.estimate', { time: formatWait(estimate) });
  showBanner(main, sub);
}

/** A request number as one unbreakable piece of text. */
function requestNumber(number) {
  return el('span', { class: 'nowrap', text: number });
}

function showBanner(main, sub) {
  setText($('#banner-main'), main);
  replace($('#banner-sub'), sub);
  $('#banner-sub').hidden = !sub || (Array.isArray(sub) && !sub.length);
  $('#chat-banner').hidden = false;
}

function hideBanner() {
  $('#chat-banner').hidden = true;
}

function showConnection(status) {
  const box = $('#conn');
  box.hidden = status === 'online';
  box.dataset.status = status;
  setText(box, status === 'online' ? '' : t('conn.reconnecting'));
}

function showTyping(state, name) {
  setText($('#typing'), t('chat.typing', { name }));
  clearTimeout(state.typingTimer);
  state.typingTimer = setTimeout(() => hideTyping(state), TYPING_SHOW_MS);
}

function hideTyping(state) {
  clearTimeout(state.typingTimer);
  setText($('#typing'), '');
}

/** The conversation is in front of the customer: the page is visible and, in the widget, its panel open. */
function seen() {
  return document.visibilityState === 'visible' && panelOpen;
}

/** Send ``read`` for what the customer can see: the conversation is seen and the list is at its end. */
function markRead(state) {
  if (seen() && atBottom($('#log-scroll'))) {
    const seq = state.log.lastSeq;
    if (seq > state.readSent && state.conn.send({ type: 'read', conversation_id: state.session.conversation_id, seq })) {
      state.readSent = seq;
      state.session.read_seq = seq;
    }
  }
  reportUnread(state);
}

/** The replies not read yet: a count and the newest one's text for the widget's launcher (its badge
 *  and preview), or in the tab's title on the chat's own page. */
function reportUnread(state) {
  const unread = state.log.messages().filter((m) => m.seq > state.readSent && m.sender
    && (m.sender.kind === 'agent' || m.sender.kind === 'bot'));
  const newest = unread[unread.length - 1];
  let preview = '';
  if (newest) {
    const text = (newest.text || '').replace(/\s+/g, ' ').trim();
    const files = (newest.attachments || []).map((a) => a.filename || a.name).filter(Boolean).join(', ');
    preview = [...(text || files)].slice(0, PREVIEW_CHARS).join('');
  }
  const key = `${unread.length}:${preview}`;
  if (key === state.unreadShown) return;
  state.unreadShown = key;
  if (embedded) {
    if (host) {
      window.parent.postMessage({ type: 'frontdesk:unread', count: unread.length, preview,
        sender: newest ? newest.sender.name || '' : '' }, host);
    }
  } else {
    document.title = unread.length ? `(${unread.length}) ${BASE_TITLE}` : BASE_TITLE;
  }
}

/** ``claimed`` when it is an origin and, where the browser says (ancestorOrigins), our parent's. */
function launcherOrigin(claimed) {
  if (!claimed) return null;
  try {
    if (new URL(claimed).origin !== claimed) return null;
  } catch {
    return null;
  }
  const ancestors = location.ancestorOrigins;
  return ancestors && ancestors.length && ancestors[0] !== claimed ? null : claimed;
}

/** The launcher of widget.js says whether its panel is open; nobody else is listened to. */
function listenToLauncher() {
  if (!host) return;
  window.addEventListener('message', (e) => {
    if (e.origin !== host || e.source !== window.parent || !e.data || e.data.type !== 'frontdesk:panel') return;
    panelOpen = Boolean(e.data.open);
    if (chat) markRead(chat);
  });
  window.parent.postMessage({ type: 'frontdesk:ready' }, host);
}

function showEnded(state, f) {
  state.ended = true;
  state.status = 'ended';
  hideTyping(state);
  let text = t('chat.ended');
  if (f && f.reason === 'max_wait') text = tParts('chat.endedMaxWait', { number: requestNumber(state.fallback || '') });
  else if (f && f.by === 'agent') text = t('chat.endedByAgent');
  else if (f && f.by === 'customer') text = t('chat.endedByYou');
  if (f && f.reason !== 'max_wait') hideBanner();
  replace($('#ended-text'), text);
  $('#ended').hidden = false;
  $('#composer').hidden = true;
  $('#end-button').hidden = true;
  $('#transcript-button').hidden = state.transcriptAsked || Boolean(state.fallback) || !transcriptMails();
  if (state.transcriptAsked) setText($('#transcript-status'), t('chat.transcriptQueued'));
  for (const b of $$('#log button.option')) b.disabled = true;
  state.tray.clear();
  // a chat that became an offline request was never served: nothing to rate
  if (!(f && f.reason === 'max_wait')) state.rating.offer();
  state.log.scrollToEnd();
  if (f) $('#ended-text').focus({ preventScroll: true });
}

function setupComposer(state) {
  const input = $('#message-input');
  const form = $('#composer');
  const fileInput = $('#file-input');
  fileInput.accept = ACCEPT;
  const sendTyping = throttle(() => {
    state.conn.send({ type: 'typing', conversation_id: state.session.conversation_id });
  }, TYPING_SEND_MS);

  const submit = () => {
    if (state.tray.busy) return;
    const text = input.value.replace(/\s+$/, '');
    const attachments = state.tray.metas();
    if (!text.trim() && !attachments.length) return;
    const frame = { text: text.trim() ? text : '' };
    if (attachments.length) frame.attachments = attachments.map((a) => a.id);
    sendFrame(frame, { text: frame.text, attachments });
    input.value = '';
    state.tray.clear();
    autosize(input);
    updateSendButton(state);
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
    autosize(input);
    updateSendButton(state);
    if (input.value.trim()) sendTyping();
  });
  $('#attach-button').addEventListener('click', () => fileInput.click());
  fileInput.addEventListener('change', () => {
    state.tray.add(Array.from(fileInput.files));
    fileInput.value = '';
  });
  setupDrop($('#screen-chat'), $('#drop-hint'), (list) => state.tray.add(list));
  updateSendButton(state);

  const dialog = $('#end-dialog');
  $('#end-button').addEventListener('click', () => {
    // a messaging conversation is resolved, not ended: it reopens when the customer writes again
    const { messaging } = state;
    setText($('#end-dialog-title'), t(messaging ? 'chat.resolveTitle' : 'chat.endTitle'));
    setText($('#end-dialog-text'), messaging ? t('chat.resolveText') : '');
    $('#end-dialog-text').hidden = !messaging;
    $('#end-transcript-row').hidden = messaging || !transcriptMails();
    const confirm = $('#end-confirm');
    setText(confirm, t(messaging ? 'chat.resolve' : 'chat.end'));
    confirm.classList.toggle('button--danger', !messaging);
    confirm.classList.toggle('button--primary', messaging);
    $('#end-transcript').checked = false;
    dialog.showModal();
  });
  dialog.addEventListener('close', () => {
    if (dialog.returnValue !== 'end') return;
    if (state.messaging) {
      if (!state.conn.send({ type: 'end', conversation_id: state.session.conversation_id })) {
        state.log.notice(t('conn.notConnected'), 'error');
      }
      return;
    }
    state.transcriptAsked = $('#end-transcript').checked;
    state.session.transcript_asked = state.transcriptAsked;
    persist(state);
    const sent = state.conn.send({
      type: 'end', conversation_id: state.session.conversation_id, transcript_email: state.transcriptAsked,
    });
    if (!sent) state.log.notice(t('conn.notConnected'), 'error');
    else if (state.transcriptAsked) setText($('#transcript-status'), t('chat.transcriptQueued'));
  });
  $('#transcript-button').addEventListener('click', async () => {
    const button = $('#transcript-button');
    button.disabled = true;
    try {
      await api('POST', `/api/conversations/${encodeURIComponent(state.session.conversation_id)}/transcript-email`,
        { token: state.session.token, body: {} });
      state.transcriptAsked = true;
      state.session.transcript_asked = true;
      persist(state);
      button.hidden = true;
      setText($('#transcript-status'), t('chat.transcriptQueued'));
    } catch (err) {
      setText($('#transcript-status'), errorText(err));
      button.disabled = false;
    }
  });
  $('#new-chat').addEventListener('click', () => {
    saved.save(null);
    unackedStore.save(null);
    if (state.session.link) location.assign(newChatUrl(state.session.queue));
    else location.reload();
  });
}

function updateSendButton(state) {
  const hasText = $('#message-input').value.trim().length > 0;
  $('#send-button').disabled = state.tray.busy || (!hasText && state.tray.ids().length === 0);
}

function autosize(textarea) {
  textarea.style.height = 'auto';
  textarea.style.height = `${Math.min(textarea.scrollHeight, 160)}px`;
}

// ---- start -----------------------------------------------------------------------------------

/** The conversation of a mail's link: the token from the fragment, else the one this tab kept; its
 *  whole history comes with the first hello (resume from 0). */
function openLink() {
  const kept = saved.load(null);
  const token = link.token || (kept && kept.token);
  if (!token) {
    fail(t('link.invalid'), { newChat: true });
    return;
  }
  const same = kept && kept.conversation_id === link.conversationId ? kept : { last_seq: 0, messages: [] };
  const session = { ...same, conversation_id: link.conversationId, token, link: true, messaging: true };
  saved.save(session);
  startChat(session);
}

function init() {
  document.documentElement.lang = lang;
  $('#signin-link').href = `/account?lang=${lang}`;      // the account page speaks the chat's language
  if (embedded) document.body.classList.add('embedded');
  listenToLauncher();
  applyI18n(document);
  for (const b of document.querySelectorAll('[data-icon]')) b.prepend(icon(b.dataset.icon));
  $('#prechat').addEventListener('submit', submitPrechat);
  $('#pc-question').addEventListener('input', (e) => lookupFaq(e.target.value));
  // Enter starts the chat, Shift+Enter starts a new line, as in the chat's own composer
  $('#pc-question').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      $('#prechat').requestSubmit();
    }
  });
  watchForm($('#prechat'), () => queueInfo && queueInfo.form);
  watchForm($('#offline'), () => queueInfo && queueInfo.form);
  $('#faq-anyway').addEventListener('click', () => $('#prechat').requestSubmit());
  $('#answered-back').addEventListener('click', () => {
    show('prechat');
    $('#pc-question').focus();
  });
  $('#offline').addEventListener('submit', submitOffline);
  $('#offline-again').addEventListener('click', () => location.reload());
  $('#error-retry').addEventListener('click', () => location.reload());
  if (link) {
    openLink();
    return;
  }
  const session = saved.load(null);
  if (session && session.token && session.conversation_id) startChat(session);
  else loadQueue();
}

init();
