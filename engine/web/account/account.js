// The customer's account (/account): sign in with a one-time code (or a password), choose the
// first password after an activation, and see every conversation with its unread count; a
// conversation opens on the conversation page with a link token for it. Written against
// PROTOCOL.md §6–7 only. The account token is kept in localStorage: it is meant to outlive a tab.

import { el, $, replace, setText } from '/web/shared/dom.js';
import { t, applyI18n, lang } from '/web/shared/i18n.js';
import { ApiError, api } from '/web/shared/protocol.js';

const STORE = 'frontdesk.account';
const SCREENS = ['loading', 'signin', 'password', 'list'];
const MIN_PASSWORD = 10;

let mode = 'code';          // code | password
// a list row has room for a short date; the full one is the row's tooltip
const shortDate = new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' });
const longDate = new Intl.DateTimeFormat(lang, { dateStyle: 'full', timeStyle: 'short' });
let pendingEmail = '';

// ---- the token -------------------------------------------------------------------------------

function loadToken() {
  try { return localStorage.getItem(STORE); } catch { return null; }
}

function saveToken(token) {
  try {
    if (token) localStorage.setItem(STORE, token); else localStorage.removeItem(STORE);
  } catch { /* private mode: the token lives as long as the page */ }
}

let token = loadToken();

// ---- screens and errors ------------------------------------------------------------------------

function show(name) {
  for (const s of SCREENS) $(`#screen-${s}`).hidden = s !== name;
  $('#sign-out').hidden = name !== 'list';
  const heading = $(`#screen-${name} h2`);
  if (heading) heading.focus({ preventScroll: true });
}

const ERROR_TEXT = {
  missing_field: 'error.required', invalid_email: 'error.email', invalid_value: 'error.invalid',
  rate_limited: 'error.rateLimited', network: 'error.network', unavailable: 'error.unavailable',
  bad_code: 'account.badCode', bad_credentials: 'account.badCredentials', too_short: 'account.tooShort',
};

function errorText(err) {
  const key = ERROR_TEXT[err.code];
  return key ? t(key) : t('error.generic', { message: err.message || err.code });
}

function fieldError(id, text) {
  const input = $(`#${id}`);
  const box = $(`#${id}-error`);
  if (text) {
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', `${id}-error`);
    setText(box, text);
    box.hidden = false;
  } else {
    input.removeAttribute('aria-invalid');
    input.removeAttribute('aria-describedby');
    box.hidden = true;
  }
}

function formError(id, text) {
  const box = $(`#${id}`);
  setText(box, text || '');
  box.hidden = !text;
}

// ---- sign-in ---------------------------------------------------------------------------------

function setMode(next) {
  mode = next;
  $('#si-password-field').hidden = mode !== 'password';
  setText($('#si-submit'), t(mode === 'password' ? 'account.signIn' : 'account.sendCode'));
  setText($('#si-mode'), t(mode === 'password' ? 'account.useCode' : 'account.usePassword'));
  formError('si-error', '');
}

async function submitSignIn(event) {
  event.preventDefault();
  const email = $('#si-email').value.trim();
  fieldError('si-email', email ? '' : t('error.required'));
  formError('si-error', '');
  if (!email) return;
  try {
    if (mode === 'password') {
      const password = $('#si-password').value;
      fieldError('si-password', password ? '' : t('error.required'));
      if (!password) return;
      await signedIn((await api('POST', '/api/customers/login', { body: { email, password } })).data);
      return;
    }
    await api('POST', '/api/customers/code', { body: { email } });
    enterCode(email, t('account.codeSent', { email }));
  } catch (err) {
    if (err.field === 'email') fieldError('si-email', errorText(err));
    else if (err.code === 'bad_credentials') fieldError('si-password', errorText(err));
    else formError('si-error', errorText(err));
  }
}

async function submitCode(event) {
  event.preventDefault();
  const code = $('#si-code').value.replace(/\s+/g, '');
  fieldError('si-code', code ? '' : t('error.required'));
  if (!code) return;
  try {
    await signedIn((await api('POST', '/api/customers/login', { body: { email: pendingEmail, code } })).data);
  } catch (err) {
    fieldError('si-code', errorText(err));
  }
}

function enterCode(email, note) {
  pendingEmail = email;
  $('#si-email').value = email;
  setText($('#code-sent'), note);
  $('#code-request').hidden = true;
  $('#code-entry').hidden = false;
  $('#si-code').value = '';
  $('#si-code').focus();
}

function haveCode() {
  const email = $('#si-email').value.trim();
  fieldError('si-email', email ? '' : t('error.required'));
  if (email) enterCode(email, t('account.enterCode', { email }));
}

function codeAgain() {
  $('#code-entry').hidden = true;
  $('#code-request').hidden = false;
  fieldError('si-code', '');
  $('#si-email').focus();
}

async function signedIn(data) {
  token = data.token;
  saveToken(token);
  if (data.password_change_required) {
    show('password');
    return;
  }
  await showList();
}

// ---- the first password ----------------------------------------------------------------------

async function submitPassword(event) {
  event.preventDefault();
  const password = $('#pw-new').value;
  const repeat = $('#pw-repeat').value;
  fieldError('pw-new', password.length >= MIN_PASSWORD ? '' : t('account.tooShort'));
  fieldError('pw-repeat', repeat === password ? '' : t('account.mismatch'));
  if (password.length < MIN_PASSWORD || repeat !== password) return;
  try {
    await api('POST', '/api/customers/password', { body: { password }, token });
    await showList();
  } catch (err) {
    if (!signedOutBy(err)) fieldError('pw-new', errorText(err));
  }
}

// ---- my conversations ------------------------------------------------------------------------

function signedOutBy(err) {
  if (err instanceof ApiError && err.status === 401) {
    token = null;
    saveToken(null);
    show('signin');
    formError('si-error', t('error.session'));
    return true;
  }
  if (err instanceof ApiError && err.code === 'password_change_required') {
    show('password');
    return true;
  }
  return false;
}

const RATEABLE = new Set(['ended', 'resolved']);

function statusBadge(status) {
  return el('span', { class: `status status--${status}` }, t(`account.status.${status}`));
}

function conversationItem(c) {
  const last = c.last_message;
  const preview = last ? (last.sender_kind === 'customer' ? t('account.youWrote', { text: last.text }) : last.text) : '';
  const meta = el('span', { class: 'conversation__meta' }, statusBadge(c.status));
  if (c.unread > 0) {
    meta.append(el('span', { class: 'unread', 'aria-label': t('account.unread', { n: c.unread }) }, String(c.unread)));
  }
  // an ended or resolved conversation not yet rated invites a rating: the conversation page asks for it
  if (c.rating_score) {
    meta.append(el('span', { class: 'rated', title: t('account.rated', { score: c.rating_score }) },
      el('span', { 'aria-hidden': 'true' }, `★ ${c.rating_score}/5`),
      el('span', { class: 'sr-only' }, t('account.rated', { score: c.rating_score }))));
  } else if (RATEABLE.has(c.status)) {
    meta.append(el('span', { class: 'rate-hint' }, `☆ ${t('account.rate')}`));
  }
  const button = el('button', { type: 'button', class: `conversation${c.unread > 0 ? ' conversation--unread' : ''}` },
    el('span', { class: 'conversation__queue' }, c.queue),
    c.last_activity_at
      ? el('time', { class: 'conversation__when', dateTime: c.last_activity_at,
        title: longDate.format(new Date(c.last_activity_at)) }, shortDate.format(new Date(c.last_activity_at)))
      : el('span', { class: 'conversation__when' }),
    el('span', { class: 'conversation__last' }, preview),
    meta);
  button.addEventListener('click', () => open(c.conversation_id, button));
  return el('li', {}, button);
}

async function open(conversationId, button) {
  button.disabled = true;
  try {
    const { data } = await api('POST', `/api/conversations/${encodeURIComponent(conversationId)}/link`, { token });
    location.assign(`${data.path.split('#')[0]}?lang=${lang}#${data.path.split('#')[1]}`);
  } catch (err) {
    button.disabled = false;
    if (!signedOutBy(err)) formError('list-error', errorText(err));
  }
}

async function showList() {
  try {
    const [me, list] = await Promise.all([
      api('GET', '/api/customers/me', { token }),
      api('GET', '/api/customers/me/conversations', { token }),
    ]);
    setText($('#greeting'), t('account.greeting', { name: me.data.name }));
    showBranches(me.data.queues || []);
    const items = list.data.conversations || [];
    replace($('#conversations'), ...items.map(conversationItem));
    $('#list-empty').hidden = items.length > 0;
    formError('list-error', '');
    if ($('#screen-list').hidden) show('list');
  } catch (err) {
    if (!signedOutBy(err)) {
      show('list');
      formError('list-error', errorText(err));
    }
  }
}

/** Where a new conversation goes: the customer's branch (the queue of their latest conversation)
 *  first, the other messaging queues to choose from; no button where there is none. */
function showBranches(queues) {
  const select = $('#branch');
  const current = select.value;
  replace(select, ...queues.map((q) => el('option', { value: q.queue, text: q.title })));
  if (queues.some((q) => q.queue === current)) select.value = current;
  $('#branch-field').hidden = queues.length < 2;
  $('#new-conversation').hidden = queues.length === 0;
  updateNewConversation();
}

function updateNewConversation() {
  const queue = $('#branch').value;
  $('#new-conversation').href = `/chat?queue=${encodeURIComponent(queue)}&lang=${lang}`;
}

async function signOut() {
  try {
    await api('POST', '/api/customers/logout', { body: {}, token });
  } catch { /* signed out here either way */ }
  token = null;
  saveToken(null);
  codeAgain();
  show('signin');
}

// ---- start -----------------------------------------------------------------------------------

function init() {
  document.documentElement.lang = lang;
  applyI18n(document);
  document.title = t('account.title');
  const language = $('#language');
  language.value = lang;
  language.addEventListener('change', () => {
    const url = new URL(location.href);
    url.searchParams.set('lang', language.value);
    location.assign(url.toString());
  });
  $('#code-request').addEventListener('submit', submitSignIn);
  $('#code-entry').addEventListener('submit', submitCode);
  $('#code-again').addEventListener('click', codeAgain);
  $('#si-mode').addEventListener('click', () => setMode(mode === 'code' ? 'password' : 'code'));
  $('#si-have-code').addEventListener('click', haveCode);
  $('#password-form').addEventListener('submit', submitPassword);
  $('#sign-out').addEventListener('click', signOut);
  $('#branch').addEventListener('change', updateNewConversation);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && token && !$('#screen-list').hidden) showList();
  });
  setMode('code');
  // an activation mail links here with the address: the code came by SMS or in that mail
  const invited = new URLSearchParams(location.hash.slice(1)).get('email');
  if (invited) history.replaceState(null, '', location.pathname + location.search);
  if (token) showList();
  else {
    show('signin');
    if (invited) enterCode(invited, t('account.enterCode', { email: invited }));
  }
}

init();
