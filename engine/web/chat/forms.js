// The customer's two forms (pre-chat and offline request): the API's errors at the field they name,
// the queue's consent notice with its checkbox, and the values to send. Text only (dom.js).

import { $, setText } from '/web/shared/dom.js';
import { t } from '/web/shared/i18n.js';

const ERROR_TEXT = {
  missing_field: 'error.required', invalid_email: 'error.email', invalid_value: 'error.invalid',
  too_large: 'error.tooLong', rate_limited: 'error.rateLimited', network: 'error.network',
  unavailable: 'error.unavailable', not_found: 'chat.unknownQueue',
};

/** An API or websocket error as a sentence for the customer. */
export function errorText(err) {
  if (err.code === 'missing_field' && err.field === 'consent') return t('consent.required');
  const key = ERROR_TEXT[err.code];
  return key ? t(key) : t('error.generic', { message: err.message || err.code });
}

export function cssId(name) {
  return String(name).replace(/[^A-Za-z0-9_-]/g, '_');
}

export function fieldLabel(name) {
  const text = String(name).replace(/[_-]+/g, ' ').trim();
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The form's text inputs by name. */
export function values(form) {
  const data = Object.fromEntries(new FormData(form).entries());
  for (const k of Object.keys(data)) data[k] = String(data[k]);
  return data;
}

export function clearErrors(form) {
  for (const input of form.querySelectorAll('[aria-invalid]')) {
    input.removeAttribute('aria-invalid');
    // what described the input before its error (the consent notice) describes it again
    const before = input.dataset.describedBy;
    if (before) input.setAttribute('aria-describedby', before);
    else input.removeAttribute('aria-describedby');
  }
  for (const p of form.querySelectorAll('.field-error, .form-error')) {
    p.hidden = true;
    p.textContent = '';
  }
}

/** The error box under ``input`` shows ``text`` (empty: no error), and the input says so. */
function markField(input, text) {
  const box = input.form && input.form.querySelector(`#${input.id}-error`);
  if (!box) return false;
  if (!text) {
    if (!input.hasAttribute('aria-invalid')) return true;
    input.removeAttribute('aria-invalid');
    const before = input.dataset.describedBy;
    if (before) input.setAttribute('aria-describedby', before);
    else input.removeAttribute('aria-describedby');
    box.hidden = true;
    box.textContent = '';
    return true;
  }
  setText(box, text);
  box.hidden = false;
  input.setAttribute('aria-invalid', 'true');
  input.setAttribute('aria-describedby', [box.id, input.dataset.describedBy].filter(Boolean).join(' '));
  return true;
}

/** The error of ``field`` (an API field name) under its input of the form ``prefix``; false when there is none. */
function fieldError(form, prefix, field, text) {
  const id = field.startsWith('fields.') ? `${prefix}-f-${cssId(field.slice(7))}` : `${prefix}-${field}`;
  const input = form.querySelector(`#${id}`);
  if (!input || !markField(input, text)) return false;
  input.focus();
  return true;
}

// ---- the queue's form rules (``form`` of GET /api/queues/{queue}), checked as the customer types ----

// what the server refuses in a name: C0/C1 controls, line and paragraph separators
const CONTROL = /[\p{Cc}\u2028\u2029]/u;
// the shape of an address; the server's check is finer and still decides
const EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;

/** The rule of ``input`` in the queue's ``rules``, or null when the form has none for it. */
function ruleOf(input, rules) {
  if (!rules) return null;
  const extra = input.dataset.extraField;
  if (extra !== undefined) {
    const fields = rules.fields || {};
    return { required: (fields.required || []).includes(extra), max_chars: fields.max_chars };
  }
  return rules[input.name] || null;
}

/** The sentence for what is wrong with ``input`` under ``rule``; '' when nothing is. */
function ruleError(input, rule) {
  if (!rule || input.readOnly) return '';
  if (input.type === 'checkbox') return rule.required && !input.checked ? t('consent.required') : '';
  const { value } = input;
  if (!value.trim()) return rule.required ? t('error.required') : '';
  // the server counts characters (code points), not UTF-16 units
  if (rule.max_chars && [...value].length > rule.max_chars) return t('error.tooLong');
  if (rule.no_control_characters && CONTROL.test(value)) return t('error.invalid');
  if (rule.format === 'email' && !EMAIL.test(value.trim())) return t('error.email');
  return '';
}

function fieldsOf(form) {
  return Array.from(form.querySelectorAll('input, textarea'))
    .filter((input) => input.id && !input.closest('[hidden]') && input.type !== 'file');
}

/** Set the inputs' length limits from ``rules``, so the browser keeps within them too. */
export function applyLimits(form, rules) {
  if (!rules) return;
  for (const input of fieldsOf(form)) {
    const rule = ruleOf(input, rules);
    if (rule && rule.max_chars && input.type !== 'checkbox') input.maxLength = rule.max_chars;
  }
}

/** Check each field as the customer leaves it (once typed in) and again as they fix it: the error
 *  shows at the field and goes as soon as the value is right. ``rules()``: the queue's rules now. */
export function watchForm(form, rules) {
  const check = (input) => markField(input, ruleError(input, ruleOf(input, rules())));
  form.addEventListener('input', (e) => {
    const input = e.target;
    input.dataset.touched = '1';
    if (input.hasAttribute('aria-invalid') || [...input.value].length > (input.maxLength > 0 ? input.maxLength : Infinity)) {
      check(input);
    }
  });
  form.addEventListener('focusout', (e) => {
    // on the way to the form's button the submit checks it: an error appearing now would move the button
    const to = e.relatedTarget;
    if (to && to.form === form && to.type === 'submit') return;
    if (e.target.dataset && e.target.dataset.touched) check(e.target);
  });
  form.addEventListener('change', (e) => {
    if (e.target.type === 'checkbox') check(e.target);
  });
}

/** Every field checked before sending: false, with the errors shown and the first one focused,
 *  when one is wrong. */
export function checkForm(form, rules) {
  let first = null;
  for (const input of fieldsOf(form)) {
    const text = ruleError(input, ruleOf(input, rules));
    markField(input, text);
    if (text && !first) first = input;
  }
  if (first) first.focus();
  return !first;
}

export function showApiError(form, prefix, err, formErrorBox) {
  const text = errorText(err);
  if (err.field && fieldError(form, prefix, err.field, text)) return;
  setText(formErrorBox, text);
  formErrorBox.hidden = false;
}

/** Show the queue's consent notice in the form ``prefix`` (pc, of), or hide it when there is none.
 *  ``checked``: the customer already agreed on the form before (the pre-chat form of a closed queue). */
export function setupConsent(prefix, notice, checked = false) {
  const box = $(`#${prefix}-consent-box`);
  const input = $(`#${prefix}-consent`);
  box.hidden = !notice;
  setText($(`#${prefix}-consent-notice`), notice || '');
  input.checked = Boolean(notice) && checked;
  input.dataset.describedBy = `${prefix}-consent-notice`;
  input.setAttribute('aria-describedby', input.dataset.describedBy);
}

/** ``body`` with the consent of the form ``prefix`` when its queue asks for one. */
export function withConsent(prefix, body) {
  const box = $(`#${prefix}-consent-box`);
  return box.hidden ? body : { ...body, consent: $(`#${prefix}-consent`).checked };
}
