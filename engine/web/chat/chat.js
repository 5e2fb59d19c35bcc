// The customer chat (/chat?queue=support): pre-chat form with FAQ suggestions, closed queue with
// the offline-request form, waiting, and the chat itself. Written against PROTOCOL.md only.

import { el, $, $$, icon, replace, setText, debounce, throttle, atBottom } from '/web/shared/dom.js';
import { t, tParts, applyI18n, formatDateTime, formatWait, lang } from '/web/shared/i18n.js';
import { Connection, ApiError, api, newId, sessionValue } from '/web/shared/protocol.js';
import { ChatLog } from '/web/shared/chatlog.js';
import { Files, Tray, ACCEPT, setupDrop } from '/web/shared/uploads.js';

const params = new URLSearchParams(location.search);
const queue = params.get('queue') || 'support';
const embedded = params.get('embed') === '1';
// a verified identity from the embedding page: #email=...&name=...&hmac=... (PROTOCOL.md §3)
const fragment = new URLSearchParams(location.hash.slice(1));
const identity = fragment.get('email') && fragment.get('hmac')
  ? { email: fragment.get('email'), name: fragment.get('name') || undefined, hmac: fragment.get('hmac') } : null;

const KEY = `frontdesk.chat.${queue}`;
const saved = sessionValue(KEY);                 // {conversation_id, token, name, email, last_seq, messages}
const unackedStore = sessionValue(`${KEY}.unacked`);
const MAX_CACHED_MESSAGES = 300;
const TYPING_SEND_MS = 3000;
const TYPING_SHOW_MS = 5000;

let queueInfo = null;
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

function fail(text) {
  setText($('#error-text'), text);
  show('error');
}

// ---- form errors (error.field of the API -> the right input) ---------------------------------

const ERROR_TEXT = {
  missing_field: 'error.required', invalid_email: 'error.email', invalid_value: 'error.invalid',
  too_large: 'error.tooLong', rate_limited: 'error.rateLimited', network: 'error.network',
  unavailable: 'error.unavailable', not_found: 'chat.unknownQueue',
};

function errorText(err) {
  const key = ERROR_TEXT[err.code];
  return key ? t(key) : t('error.generic', { message: err.message || err.code });
}

function clearErrors(form) {
  for (const input of form.querySelectorAll('[aria-invalid]')) {
    input.removeAttribute('aria-invalid');
    input.removeAttribute('aria-describedby');
  }
  for (const p of form.querySelectorAll('.field-error, .form-error')) {
    p.hidden = true;
    p.textContent = '';
  }
}

function fieldError(form, prefix, field, text) {
  const id = field.startsWith('fields.') ? `${prefix}-f-${cssId(field.slice(7))}` : `${prefix}-${field}`;
  const input = form.querySelector(`#${id}`);
  const box = form.querySelector(`#${id}-error`);
  if (!input || !box) return false;
  setText(box, text);
  box.hidden = false;
  input.setAttribute('aria-invalid', 'true');
  input.setAttribute('aria-describedby', box.id);
  input.focus();
  return true;
}

function showApiError(form, prefix, err, formErrorBox) {
  const text = errorText(err);
  if (err.field && fieldError(form, prefix, err.field, text)) return;
  setText(formErrorBox, text);
  formErrorBox.hidden = false;
}

function cssId(name) {
  return String(name).replace(/[^A-Za-z0-9_-]/g, '_');
}

function fieldLabel(name) {
  const text = String(name).replace(/[_-]+/g, ' ').trim();
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function values(form) {
  const data = Object.fromEntries(new FormData(form).entries());
  for (const k of Object.keys(data)) data[k] = String(data[k]);
  return data;
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
  const v = values(form);
  const fields = {};
  for (const input of form.querySelectorAll('[data-extra-field]')) fields[input.dataset.extraField] = input.value;
  const body = { queue, name: v.name, email: v.email, question: v.question };
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
      last_seq: 0, messages: [], position: data.position,
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
  show('closed');
}

async function submitOffline(event) {
  event.preventDefault();
  const form = $('#offline');
  clearErrors(form);
  const v = values(form);
  const submit = $('#offline-submit');
  submit.disabled = true;
  try {
    const { data } = await api('POST', '/api/offline-requests',
      { body: { queue, name: v.name, email: v.email, question: v.question } });
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

function startChat(session) {
  show('chat');
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
    session, log, files, status: 'queued', agents: new Map(), readSent: 0, ended: false,
    typingTimer: null, transcriptAsked: Boolean(session.transcript_asked),
  };
  chat = state;

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
    fail(t('chat.expired'));
  });
  conn.start();

  const tray = new Tray($('#tray'), $('#tray-error'), () => session.token, () => updateSendButton(state));
  state.tray = tray;
  setupComposer(state);
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
      state.status = conv.status;
      for (const p of conv.participants || []) {
        state.agents.set(p.id, p.name);
        log.setReadSeq(p.read_seq || 0);
      }
      if (conv.status === 'active') hideBanner();
      if (conv.status === 'ended') showEnded(state, null);
      break;
    }
    case 'queued':
      state.status = 'queued';
      showWaiting(f.position, f.estimated_wait_s);
      break;
    case 'requeued':
      state.status = 'queued';
      showWaiting(f.position, null, t('chat.requeued'));
      log.notice(t('chat.requeued'));
      break;
    case 'participant_joined':
      state.status = 'active';
      state.agents.set(f.agent.id, f.agent.name);
      hideBanner();
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

/** Send ``read`` for what the customer can see: the page is visible and the list is at its end. */
function markRead(state) {
  if (document.visibilityState !== 'visible' || !atBottom($('#log-scroll'))) return;
  const seq = state.log.lastSeq;
  if (seq > state.readSent && state.conn.send({ type: 'read', conversation_id: state.session.conversation_id, seq })) {
    state.readSent = seq;
  }
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
  $('#transcript-button').hidden = state.transcriptAsked || Boolean(state.fallback);
  if (state.transcriptAsked) setText($('#transcript-status'), t('chat.transcriptQueued'));
  for (const b of $$('#log button.option')) b.disabled = true;
  state.tray.clear();
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
    $('#end-transcript').checked = false;
    dialog.showModal();
  });
  dialog.addEventListener('close', () => {
    if (dialog.returnValue !== 'end') return;
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
    location.reload();
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

function init() {
  document.documentElement.lang = lang;
  if (embedded) document.body.classList.add('embedded');
  applyI18n(document);
  for (const b of document.querySelectorAll('[data-icon]')) b.prepend(icon(b.dataset.icon));
  $('#prechat').addEventListener('submit', submitPrechat);
  $('#pc-question').addEventListener('input', (e) => lookupFaq(e.target.value));
  $('#faq-anyway').addEventListener('click', () => $('#prechat').requestSubmit());
  $('#answered-back').addEventListener('click', () => {
    show('prechat');
    $('#pc-question').focus();
  });
  $('#offline').addEventListener('submit', submitOffline);
  $('#offline-again').addEventListener('click', () => location.reload());
  $('#error-retry').addEventListener('click', () => location.reload());
  const session = saved.load(null);
  if (session && session.token && session.conversation_id) startChat(session);
  else loadQueue();
}

init();
