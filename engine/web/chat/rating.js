// The post-chat form (PROTOCOL.md §9): once a live chat has ended or a messaging conversation is
// resolved, the customer may rate it once with 1 to 5 stars and an optional comment.
//
// Whether to ask comes from the engine (GET /api/conversations/{id}/rating: can_rate, rating), also
// after a reload, so a rated conversation is never asked about again; a rated one shows a thank-you
// line with its score instead. The stars are native radio buttons in a fieldset: arrow keys move
// between them, each has a spoken label ("4 stars: good"), the look is CSS (chat.css).

import { $, $$, setText } from '/web/shared/dom.js';
import { t } from '/web/shared/i18n.js';
import { ApiError, api } from '/web/shared/protocol.js';
import { errorText } from '/chat/forms.js';

export class RatingForm {
  /** ``conversation()``: {conversation_id, token} of the running chat. */
  constructor(conversation) {
    this.conversation = conversation;
    this.root = $('#rating');
    this.form = $('#rating-form');
    this.asked = 0;              // a ticket per ask: an answer that comes after a hide() is dropped
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
    const row = $('#rating-star-row');
    for (const input of $$('.star__input', row)) {
      input.addEventListener('change', () => this.paint(Number(input.value)));
    }
    // hovering a star previews the score it would give; leaving the row shows the chosen one again
    for (const label of $$('.star', row)) {
      label.addEventListener('mouseenter', () => this.paint(Number($(`#${label.htmlFor}`).value), true));
    }
    row.addEventListener('mouseleave', () => this.paint(this.score()));
  }

  /** Ask the engine whether this conversation may still be rated, and show the form or the thanks. */
  async offer() {
    const ticket = ++this.asked;
    const { conversation_id: id, token } = this.conversation();
    try {
      const { data } = await api('GET', `/api/conversations/${encodeURIComponent(id)}/rating`, { token });
      if (ticket !== this.asked) return;
      if (data.rating) this.thank(data.rating.score, false);
      else if (data.can_rate) this.open();
      else this.hide();
    } catch {
      // the form is an offer, not a duty: when the engine cannot say, the chat shows no form
      if (ticket === this.asked) this.hide();
    }
  }

  hide() {
    this.asked += 1;
    this.root.hidden = true;
  }

  open() {
    if (!this.root.hidden && !this.form.hidden) return;
    this.clearErrors();
    this.form.hidden = false;
    $('#rating-done').hidden = true;
    this.root.hidden = false;
    this.paint(this.score());
  }

  score() {
    const checked = $('.star__input:checked', this.form);
    return checked ? Number(checked.value) : 0;
  }

  /** Stars up to ``score`` filled, and its word beside them. */
  paint(score, preview = false) {
    for (const label of $$('.star', this.form)) {
      const value = Number($(`#${label.htmlFor}`).value);
      label.classList.toggle('star--on', value <= score);
    }
    const chosen = $('#rating-chosen');
    setText(chosen, score ? t(`rating.word${score}`) : '');
    chosen.classList.toggle('rating__chosen--preview', preview);
  }

  clearErrors() {
    for (const id of ['rating-score-error', 'rating-comment-error', 'rating-error']) {
      const p = $(`#${id}`);
      p.hidden = true;
      p.textContent = '';
    }
    $('#rating-stars').removeAttribute('aria-invalid');
    $('#rating-comment').removeAttribute('aria-invalid');
    $('#rating-comment').removeAttribute('aria-describedby');
  }

  fieldError(field, text) {
    if (field === 'score') {
      $('#rating-stars').setAttribute('aria-invalid', 'true');
      setText($('#rating-score-error'), text);
      $('#rating-score-error').hidden = false;
      const first = $('.star__input:checked', this.form) || $('.star__input', this.form);
      first.focus();
    } else {
      const input = $('#rating-comment');
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', 'rating-comment-error');
      setText($('#rating-comment-error'), text);
      $('#rating-comment-error').hidden = false;
      input.focus();
    }
  }

  async submit() {
    this.clearErrors();
    const score = this.score();
    if (!score) {
      this.fieldError('score', t('rating.chooseScore'));
      return;
    }
    const body = { score };
    const comment = $('#rating-comment').value.trim();
    if (comment) body.comment = comment;
    const button = $('#rating-submit');
    button.disabled = true;
    setText(button, t('rating.sending'));
    this.form.setAttribute('aria-busy', 'true');
    const { conversation_id: id, token } = this.conversation();
    try {
      await api('POST', `/api/conversations/${encodeURIComponent(id)}/rating`, { token, body });
      this.thank(score, true);
    } catch (err) {
      this.refused(err);
    } finally {
      button.disabled = false;
      setText(button, t('rating.submit'));
      this.form.removeAttribute('aria-busy');
    }
  }

  refused(err) {
    if (!(err instanceof ApiError)) throw err;
    if (err.code === 'already_rated') {
      this.done(t('rating.already'));
    } else if (err.code === 'not_ended' || err.status === 404 || err.status === 401) {
      this.hide();            // reopened meanwhile, or the token no longer works: nothing to rate here
    } else if (err.status === 422 && (err.field === 'score' || err.field === 'comment')) {
      this.fieldError(err.field, t(err.field === 'score' ? 'rating.chooseScore' : 'rating.commentInvalid'));
    } else {
      const box = $('#rating-error');
      setText(box, err.code === 'network' || err.status >= 500 ? t('rating.failed') : errorText(err));
      box.hidden = false;
    }
  }

  /** The thank-you state; ``now``: just rated (focus moves there), else rated before. */
  thank(score, now) {
    this.done(now ? `${t('rating.thanks')} ${t('rating.yourScore', { score })}` : t('rating.yourScore', { score }),
      now);
  }

  done(text, focus = true) {
    this.form.hidden = true;
    const box = $('#rating-done');
    setText(box, text);
    box.hidden = false;
    this.root.hidden = false;
    if (focus) box.focus({ preventScroll: false });
  }
}
