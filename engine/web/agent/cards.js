// The cards that ask an agent to take part in a conversation someone else chose for it (an
// invitation, a transfer): one way to build them, answer them and take them away, so both read and
// behave alike. Every user string goes in as text (dom.js).

import { el, setText } from '/web/shared/dom.js';
import { t } from '/web/shared/i18n.js';

/**
 * A card in the offers column: heading ``title``, then ``parts`` (nodes: the customer, a note...),
 * the ``countdown`` (countdownParts), the Accept and Decline buttons (``onAnswer(accept)``) and a
 * status line. Returns ``{ node, countdown, status, actions }``; the caller keeps it and appends it.
 */
export function answerCard({ id, className, title, parts, countdown, acceptText, declineText, onAnswer,
  dataset }) {
  const status = el('p', { class: 'card__status', role: 'status' });
  const actions = el('div', { class: 'card__actions' },
    el('button', { type: 'button', class: 'button button--primary act-accept', text: acceptText,
      'aria-keyshortcuts': 'Alt+A', onclick: () => onAnswer(true) }),
    el('button', { type: 'button', class: 'button button--secondary act-decline', text: declineText,
      'aria-keyshortcuts': 'Alt+R', onclick: () => onAnswer(false) }));
  const node = el('section', { class: ['card', className], 'aria-labelledby': id, dataset },
    el('h2', { id, class: 'card__title', text: title }), ...parts, countdown.box, actions, status);
  return { node, countdown, status, actions };
}

/**
 * Send the answer ``frame`` of ``card``: accepting waits for the conversation (the card says so);
 * declining takes the card away at once (``remove``). Without a connection the card says that.
 */
export function sendAnswer(card, frame, accept, send, remove) {
  if (!send(frame)) {
    setText(card.status, t('conn.notConnected'));
    return;
  }
  if (accept) {
    card.node.dataset.answered = 'true';     // answered: the ring stops
    card.actions.hidden = true;
    setText(card.status, t('offer.accepting'));
  } else {
    remove();
  }
}

/**
 * Take card ``id`` out of ``cards`` and the page; the focus moves on (``focusAfterCard``) when it
 * was inside, and the page title counts again (``updateTitle``).
 */
export function dropCard(cards, id, { updateTitle, focusAfterCard }) {
  const card = cards.get(id);
  if (!card) return;
  const hadFocus = card.node.contains(document.activeElement);
  card.node.remove();
  cards.delete(id);
  updateTitle();
  if (hadFocus) focusAfterCard();
}
