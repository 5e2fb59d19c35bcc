// Transfers in the agent console (PROTOCOL.md §8): the owner's "Transfer" dialog (a colleague of the
// chat's queue picked by name, with presence and load shown, or a queue; an optional note only agents
// see), the pending state and the result in the conversation; the target's transfer card with the
// note, a countdown and Accept / Decline. Every user string goes in as text (dom.js).

import { el, $, setText } from '/web/shared/dom.js';
import { t } from '/web/shared/i18n.js';
import { answerCard, dropCard, sendAnswer } from '/agent/cards.js';

const ERROR_WINDOW_MS = 5000;        // an error without ref this soon after a transfer is about it

/**
 * ``ctx``: send(frame) → bool, me() → the agent, colleagues() → Promise of GET /api/agents' list,
 * convs (conversation id → Conv), announce(text), countdownParts(expiresAt), customerLine(customer),
 * retireCard(card, text, remove), focusAfterCard(), updateTitle(), errorText(error).
 */
export function setupTransfers(ctx) {
  const cards = new Map();           // transfer_id -> the target's card
  const pending = new Map();         // conversation id -> { label } of the owner's pending transfer
  let last = null;                   // { conversationId, at }: errors of a transfer frame carry no ref
  let dialogFor = null;              // the Conv whose transfer dialog is open
  const dialog = $('#transfer-dialog');
  const form = $('#transfer-form');
  const list = $('#transfer-agents');
  const queueSelect = $('#transfer-queue');
  const note = $('#transfer-note');
  const formError = $('#transfer-error');

  // ---- the owner: the dialog ------------------------------------------------------------------

  function kind() {
    return form.querySelector('input[name=transfer-kind]:checked').value;
  }

  function showKind() {
    const agent = kind() === 'agent';
    $('#transfer-agents-box').hidden = !agent;
    $('#transfer-queue-box').hidden = agent;
    setText(formError, '');
    formError.hidden = true;
  }

  /** Why a colleague cannot take the chat now ('' when it can); presence already shows in its pill. */
  function reasonOf(a) {
    if (a.presence !== 'available') return a.presence;
    return a.open_conversations >= a.capacity ? t('transfer.full') : '';
  }

  function renderColleagues(all, conv) {
    const me = ctx.me();
    const mates = all.filter((a) => a.id !== me.id && (a.queues || []).includes(conv.queue));
    const ready = (a) => !reasonOf(a);
    mates.sort((x, y) => (ready(y) - ready(x)) || x.name.localeCompare(y.name));
    list.replaceChildren(...mates.map((a, i) => {
      const id = `transfer-agent-${i}`;
      const why = reasonOf(a);
      return el('li', { class: ['transfer-agent', why && 'transfer-agent--busy'] },
        el('input', { type: 'radio', name: 'transfer-agent', id, value: a.id, disabled: Boolean(why),
          'aria-describedby': `${id}-about` }),
        el('label', { htmlFor: id, class: 'transfer-agent__name', text: a.name }),
        el('span', { id: `${id}-about`, class: 'transfer-agent__about' },
          el('span', { class: `pill pill--${a.presence}`, text: t(`presence.${a.presence}`) }),
          el('span', { class: 'transfer-agent__load',
            text: t('transfer.load', { n: a.open_conversations, capacity: a.capacity }) }),
          why && a.presence === 'available' ? el('span', { class: 'transfer-agent__why', text: why }) : null));
    }));
    const first = list.querySelector('input:not([disabled])');
    if (first) first.checked = true;
    setText($('#transfer-agents-status'), mates.length ? (first ? '' : t('transfer.nobodyFree'))
      : t('transfer.noColleagues', { queue: conv.queue || '' }));
    const queues = [...new Set(all.flatMap((a) => a.queues || []))].sort();
    if (!queues.includes(conv.queue)) queues.unshift(conv.queue);
    queueSelect.replaceChildren(...queues.map((q) => el('option', { value: q, text: q })));
    queueSelect.value = conv.queue;
  }

  async function open(conv) {
    dialogFor = conv;
    form.reset();
    showKind();
    note.value = '';
    list.replaceChildren();
    setText($('#transfer-agents-status'), t('common.loading'));
    setText($('#transfer-customer'), conv.customer.name || t('common.customer'));
    dialog.showModal();
    try {
      const all = await ctx.colleagues();
      if (dialogFor === conv) renderColleagues(all, conv);
    } catch (err) {
      setText($('#transfer-agents-status'), ctx.errorText(err));
    }
  }

  function fail(text, focus) {
    setText(formError, text);
    formError.hidden = false;
    if (focus) focus.focus();
  }

  form.addEventListener('change', (e) => {
    if (e.target.name === 'transfer-kind') showKind();
  });
  $('#transfer-cancel').addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    const conv = dialogFor;
    dialogFor = null;
    if (conv && !conv.ended) $('.act-transfer', conv.panel).focus();
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const conv = dialogFor;
    if (!conv) return;
    const frame = { type: 'transfer', conversation_id: conv.id };
    let label;
    if (kind() === 'agent') {
      const picked = list.querySelector('input:checked');
      if (!picked) {
        fail(t('transfer.pickColleague'), list.querySelector('input:not([disabled])'));
        return;
      }
      frame.agent_id = picked.value;
      label = $(`label[for="${picked.id}"]`, list).textContent;
    } else {
      frame.queue = queueSelect.value;
      label = t('transfer.someoneIn', { queue: frame.queue });
    }
    if (note.value.trim()) frame.note = note.value;
    if (!ctx.send(frame)) {
      fail(t('conn.notConnected'));
      return;
    }
    last = { conversationId: conv.id, at: Date.now() };
    pending.set(conv.id, { label });
    render(conv, '');      // the last result's alert is over
    dialog.close();
  });

  // ---- the owner: pending state and result ------------------------------------------------------

  function render(conv, alert) {
    const state = pending.get(conv.id);
    const status = $('.transfer__status', conv.panel);
    setText(status, state ? t('transfer.waiting', { name: state.label }) : '');
    const box = $('.transfer__alert', conv.panel);
    if (alert !== undefined) {
      setText($('.transfer__alert-text', box), alert);
      box.hidden = !alert;
    }
    const button = $('.act-transfer', conv.panel);
    button.setAttribute('aria-disabled', String(Boolean(state)));
  }

  function onResult(f) {
    const conv = ctx.convs.get(f.conversation_id);
    const state = pending.get(f.conversation_id) || { label: t('transfer.colleague') };
    pending.delete(f.conversation_id);
    // a supervisor took the chat over or reassigned it: the transfer is over, whoever owns it now
    const text = t(f.reason === 'owner_changed' ? 'transfer.result.ownerChanged' : `transfer.result.${f.status}`,
      { name: state.label });
    if (conv && !conv.ended) render(conv, f.status === 'accepted' ? '' : text);
    ctx.announce(text);
  }

  /** The owner left its own chat: by a transfer (true: the text says to whom) or otherwise. */
  function handedOver(conversationId) {
    const state = pending.get(conversationId);
    return state ? t('transfer.handedOver', { name: state.label }) : null;
  }

  // ---- the target: the offer card --------------------------------------------------------------

  function showOffer(f, live) {
    const id = f.transfer_id;
    if (cards.has(id)) return;
    const from = (f.from && f.from.name) || '';
    const noteBox = f.note
      ? el('figure', { class: 'card__note' },
        el('figcaption', { class: 'card__note-label', text: t('transfer.noteFrom', { name: from }) }),
        el('blockquote', { class: 'card__question', text: f.note }))
      : el('p', { class: 'card__no-note', text: t('transfer.noNote') });
    const card = answerCard({
      id: `transfer-${id}`, className: 'transfer-offer', dataset: { transferId: id },
      countdown: ctx.countdownParts(f.expires_at), title: t('transfer.offerTitle', { name: from }),
      parts: [
        el('p', { class: 'card__queue', text: f.to_queue ? t('transfer.viaQueue', { queue: f.to_queue, from: f.queue || '' })
          : t('transfer.inQueue', { queue: f.queue || '' }) }),
        ctx.customerLine(f.customer), noteBox],
      acceptText: t('transfer.accept'), declineText: t('transfer.decline'),
      onAnswer: (accept) => sendAnswer(cards.get(id),
        { type: accept ? 'accept_transfer' : 'decline_transfer', transfer_id: id }, accept, ctx.send,
        () => remove(id)),
    });
    cards.set(id, { ...card, conversationId: f.conversation_id });
    card.countdown.update();
    $('#offers').append(card.node);
    ctx.updateTitle();
    if (live) ctx.announce(t('transfer.announce', { name: from }));
  }

  function remove(id) {
    dropCard(cards, id, ctx);
  }

  function onRevoked(f) {
    const card = cards.get(f.transfer_id);
    if (card) ctx.retireCard(card, t(f.reason === 'expired' ? 'transfer.expired' : 'transfer.gone'), () => remove(f.transfer_id));
  }

  // ---- both ----------------------------------------------------------------------------------------

  return {
    open,
    onResult,
    onRevoked,
    showOffer,
    handedOver,
    count: () => cards.size,
    tick: () => { for (const card of cards.values()) if (!card.retired) card.countdown.update(); },
    isPending: (conversationId) => pending.has(conversationId),
    /** The agent's welcome lists the transfers offered to it and those it asked for itself (after a
     *  reconnect, a reload, a restart of the engine, in a second tab). */
    welcome(offered, sent) {
      const listed = new Set(offered.map((o) => o.transfer_id));
      for (const id of [...cards.keys()]) if (!listed.has(id)) remove(id);
      for (const o of offered) showOffer(o, false);
      // the results of transfers that ended while the console was away follow the welcome
      for (const s of sent) {
        if (!pending.has(s.conversation_id)) {
          pending.set(s.conversation_id,
            { label: s.agent ? s.agent.name : t('transfer.someoneIn', { queue: s.to_queue || '' }) });
        }
        const conv = ctx.convs.get(s.conversation_id);
        if (conv && !conv.ended) render(conv);
      }
    },
    /** The conversation was opened by accepting: its card goes. */
    opened(conversationId) {
      for (const [id, card] of cards) if (card.conversationId === conversationId) remove(id);
    },
    forgetLast() {
      last = null;
    },
    /** An error about a transfer: true when handled here. */
    onError(f) {
      if (f.ref && cards.has(f.ref)) {
        ctx.retireCard(cards.get(f.ref), ctx.errorText(f), () => remove(f.ref));
        return true;
      }
      if (f.ref || !last || Date.now() - last.at > ERROR_WINDOW_MS) return false;
      const conv = ctx.convs.get(last.conversationId);
      pending.delete(last.conversationId);
      last = null;
      if (!conv) return true;
      const reasons = { agent_id: 'transfer.noAgent', queue: 'transfer.noQueue' };
      let reason = f.code === 'invalid_value' && reasons[f.field] ? t(reasons[f.field]) : ctx.errorText(f);
      if (f.code === 'invitation_pending') reason = t('transfer.pending');
      render(conv, t('transfer.failed', { reason }));
      return true;
    },
    clear() {
      for (const id of [...cards.keys()]) remove(id);
      pending.clear();
      last = null;
      if (dialog.open) dialog.close();
    },
    dismiss(conv) {
      render(conv, '');
    },
  };
}
