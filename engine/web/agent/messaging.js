// Conversations of messaging queues in the console (PROTOCOL.md §7): their status, what the
// console says when one leaves the list (set pending or resolved), and the owner's reminders.
// A conversation is known to be one by its status: the wire says "open" only in these queues
// (a live chat with an owner is "active").

import { $, el, icon, setText } from '/web/shared/dom.js';
import { t, formatTime } from '/web/shared/i18n.js';

const MESSAGING_STATUSES = new Set(['open', 'pending', 'resolved']);
const NOTE_ANNOUNCE_DELAY_MS = 50;     // a live region speaks a change, so it is emptied first

export function isMessaging(status) {
  return MESSAGING_STATUSES.has(status);
}

/** The sentence for a ``status`` event that takes the conversation with ``name`` off the list. */
export function leavingText(f, name) {
  if (f.status === 'pending') return t('agent.nowPending', { name });
  if (f.status === 'resolved' && f.by === 'customer') return t('agent.resolvedByCustomer', { name });
  if (f.status === 'resolved') return t('agent.nowResolved', { name });
  return t('agent.waitingAgain', { name });
}

/** The note above the tabs, also read out politely; it stays until dismissed or replaced. */
export function showConsoleNote(text) {
  setText($('#console-note-text'), text);
  $('#console-note').hidden = false;
  const live = $('#console-note-live');
  live.textContent = '';
  setTimeout(() => { live.textContent = text; }, NOTE_ANNOUNCE_DELAY_MS);
}

export function hideConsoleNote() {
  $('#console-note').hidden = true;
  setText($('#console-note-text'), '');
}

/** The status pill of a conversation's head ("Open", "Pending", ...). */
export function renderStatusPill(box, status) {
  const pill = $('.conv__status-pill', box);
  setText(pill, t('agent.statusLabel', { status: t(`status.${status}`) }));
  pill.dataset.status = status;
}

/** The reminder's line in the conversation: since when the customer waits, how much is unread. */
export function renderReminder(box, f) {
  box.replaceChildren(icon('bell'), el('span', { text: t('agent.reminder', { n: f.unread, time: formatTime(f.since) }) }));
}
