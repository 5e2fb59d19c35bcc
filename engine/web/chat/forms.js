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

/** The error of ``field`` (an API field name) under its input of the form ``prefix``; false when there is none. */
function fieldError(form, prefix, field, text) {
  const id = field.startsWith('fields.') ? `${prefix}-f-${cssId(field.slice(7))}` : `${prefix}-${field}`;
  const input = form.querySelector(`#${id}`);
  const box = form.querySelector(`#${id}-error`);
  if (!input || !box) return false;
  setText(box, text);
  box.hidden = false;
  input.setAttribute('aria-invalid', 'true');
  input.setAttribute('aria-describedby', [box.id, input.dataset.describedBy].filter(Boolean).join(' '));
  input.focus();
  return true;
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
