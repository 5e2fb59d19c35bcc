// Who the customer of a conversation is, shown beside the chat (GET /api/conversations/{id}/customer),
// and the business writing first (POST /api/conversations) from the "New conversation" dialog.
// The panel is a help, never a condition: a refused or failed load leaves a quiet note and the chat
// goes on as before.

import { el, $, $$, icon, replace, setText } from '/web/shared/dom.js';
import { t, formatDateTime } from '/web/shared/i18n.js';
import { api, ApiError } from '/web/shared/protocol.js';

// on a phone the panel would push the messages out of view, so it starts folded there
const PHONE = window.matchMedia('(max-width: 640px)');
const FIELD_OF = { email: 'email', customer_id: 'email', queue: 'queue', text: 'text' };
// the "New conversation" dialog once set up: a customer's panel offers it for that customer
let writer = null;

// ---- the customer beside the chat -------------------------------------------------------------

// a change of width folds or unfolds the panels the agent has not opened or closed by hand
PHONE.addEventListener('change', () => {
  for (const details of $$('.customer-panel')) if (!details.dataset.chosen) details.open = !PHONE.matches;
});

// a panel opened after this long shows what is known now, not what was known when it was drawn
const STALE_MS = 15_000;

/**
 * The panel of a newly built conversation: folded on a phone, open otherwise. ``reload()`` loads it
 * again; it runs when the agent opens a panel whose facts have aged.
 */
export function initCustomerPanel(panel, reload) {
  const details = $('.customer-panel', panel);
  details.open = !PHONE.matches;
  $('summary', details).addEventListener('click', () => { details.dataset.chosen = 'yes'; });
  details.addEventListener('toggle', () => {
    if (details.open && Date.now() - (Number(details.dataset.loadedAt) || 0) > STALE_MS) reload();
  });
  setText($('.customer-panel__body', details), t('common.loading'));
  return details;
}

/** Whether the panel lists ``conversationId`` among the customer's conversations. */
export function panelLists(details, conversationId) {
  return $$('.customer-conv', details).some((li) => li.dataset.conversationId === conversationId);
}

/** Load and show the customer of ``conversationId``; a later call supersedes an earlier one. */
export async function loadCustomerPanel(details, conversationId, token) {
  const ticket = (Number(details.dataset.ticket) || 0) + 1;
  details.dataset.ticket = String(ticket);
  const body = $('.customer-panel__body', details);
  let data;
  try {
    ({ data } = await api('GET', `/api/conversations/${encodeURIComponent(conversationId)}/customer`, { token }));
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (details.dataset.ticket !== String(ticket)) return;
    setText($('.customer-panel__count', details), '');
    replace(body, el('p', { class: 'customer-panel__note',
      text: err.status === 404 || err.status === 403 ? t('customer.unavailable') : t('customer.failed') }));
    return;
  }
  if (details.dataset.ticket !== String(ticket)) return;
  details.dataset.loadedAt = String(Date.now());
  renderCustomer(details, data || {});
}

function renderCustomer(details, data) {
  const c = data.customer || {};
  const rows = [
    ['customer.name', c.name], ['customer.email', c.email], ['customer.mobile', c.mobile],
    ['customer.externalId', c.external_id],
  ].filter(([, value]) => value);
  const fields = Object.entries(data.fields || {}).filter(([, value]) => value !== null && value !== '');
  const others = data.conversations || [];
  setText($('.customer-panel__count', details), others.length ? `· ${t('customer.others', { n: others.length })}` : '');
  const pair = ([label, value]) => [el('dt', { text: label }), el('dd', { text: value })];
  const write = writer && c.email
    ? el('button', { type: 'button', class: 'button button--small button--secondary customer-panel__write',
      text: t('customer.write'), hidden: !writer.available(), onclick: () => writer.open(c.email) })
    : null;
  replace($('.customer-panel__body', details),
    rows.length ? el('dl', { class: 'customer-panel__facts' }, rows.map(([key, value]) => pair([t(key), value]))) : null,
    fields.length ? el('h3', { class: 'customer-panel__heading', text: t('customer.fields') }) : null,
    fields.length ? el('dl', { class: 'customer-panel__facts customer-panel__fields' }, fields.map(pair)) : null,
    el('h3', { class: 'customer-panel__heading', text: t('customer.conversations') }),
    others.length
      ? el('ul', { class: 'customer-panel__list' }, others.map(otherConversation))
      : el('p', { class: 'customer-panel__note', text: t('customer.noConversations') }),
    write);
}

function otherConversation(c) {
  const status = t(`status.${c.status}`);
  const last = c.last_message;
  return el('li', { class: 'customer-conv', dataset: { conversationId: c.conversation_id } },
    el('p', { class: 'customer-conv__head' },
      el('span', { class: 'pill', text: c.queue }),
      el('span', { class: 'pill customer-conv__status', dataset: { status: c.status },
        text: status === `status.${c.status}` ? c.status : status }),
      c.last_activity_at
        ? el('time', { class: 'customer-conv__time', dateTime: c.last_activity_at,
          text: t('customer.lastActivity', { time: formatDateTime(c.last_activity_at) }) })
        : null),
    el('p', { class: ['customer-conv__text', last && last.text ? null : 'customer-conv__text--none'],
      text: last && last.text ? last.text : t('customer.noMessage') }));
}

// ---- the business writes first --------------------------------------------------------------

/**
 * The "New conversation" button and dialog. ``token()`` is the agent's token, ``queues()`` the
 * agent's queues; ``started(conversationId, email)`` runs after the engine's 201 (the console's
 * ``conversation`` event opens the conversation itself); ``errorText(err)`` words other errors.
 */
export function setupOutreach({ token, queues, started, errorText }) {
  const button = $('#outreach-open');
  const dialog = $('#outreach-dialog');
  const form = $('#outreach-form');
  const select = $('#outreach-queue');
  const submit = $('#outreach-submit');
  let messaging = [];
  let checked = '';
  button.prepend(icon(button.dataset.icon));
  button.title = t('outreach.button');          // at phone width the button shows its icon only

  const clearErrors = () => {
    for (const p of $$('.field-error, .form-error', form)) {
      p.hidden = true;
      p.textContent = '';
    }
    for (const input of $$('[aria-invalid]', form)) {
      input.removeAttribute('aria-invalid');
      input.removeAttribute('aria-describedby');
    }
  };

  const showError = (err) => {
    const name = FIELD_OF[err.field];
    let text = errorText(err);
    if (err.field === 'queue' && err.code === 'forbidden') text = t('outreach.notMember');
    else if (err.field === 'queue' && err.code === 'invalid_value') text = t('outreach.notMessaging');
    else if (err.field === 'customer_id' && err.code === 'not_found') text = t('outreach.noCustomer');
    if (!name) {
      setText($('#outreach-error'), text);
      $('#outreach-error').hidden = false;
      return;
    }
    const input = form.elements[name];
    const box = $(`#outreach-${name}-error`);
    setText(box, text);
    box.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', box.id);
    input.focus();
  };

  /** Which of the agent's queues are messaging queues; one that cannot be asked is offered all
   *  the same, and the engine's refusal shows at the queue field. */
  const refresh = async () => {
    const mine = queues() || [];
    const key = mine.join('\n');
    if (key === checked) return;
    checked = key;
    const modes = await Promise.all(mine.map((q) => api('GET', `/api/queues/${encodeURIComponent(q)}`)
      .then(({ data }) => data.mode, () => 'messaging')));
    if (checked !== key) return;
    messaging = mine.filter((q, i) => modes[i] === 'messaging');
    replace(select, messaging.map((q) => el('option', { value: q, text: q })));
    button.hidden = messaging.length === 0;
    for (const write of $$('.customer-panel__write')) write.hidden = button.hidden;
  };

  const open = (email = '') => {
    clearErrors();
    form.reset();
    if (messaging.length) select.value = messaging[0];
    submit.disabled = false;
    dialog.showModal();
    form.elements.email.value = email;
    (email ? form.elements.text : form.elements.email).focus();
  };
  button.addEventListener('click', () => open());
  writer = { available: () => !button.hidden, open };
  $('#outreach-cancel').addEventListener('click', () => dialog.close());
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (submit.disabled) return;
    clearErrors();
    const email = form.elements.email.value.trim();
    const body = { email, queue: select.value, text: form.elements.text.value.trim() };
    submit.disabled = true;
    setText($('#outreach-status'), t('outreach.sending'));
    try {
      const { data } = await api('POST', '/api/conversations', { token: token(), body });
      dialog.close();
      setText($('#outreach-status'), '');
      started(data.conversation_id, email);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      setText($('#outreach-status'), '');
      showError(err);
    } finally {
      submit.disabled = false;
    }
  });
  return { refresh };
}
