// The message list of a conversation, for both apps: messages in seq order (pending sends after
// them), sender names, times, attachments, option menus, private notes and read checks.
// Every piece of user data is set as text (dom.js), never parsed as HTML.

import { el, icon, srOnly, formatSize, atBottom } from './dom.js';
import { t, formatTime, formatDateTime } from './i18n.js';

export class ChatLog {
  /**
   * @param {HTMLElement} list      the <ol> that holds the messages (inside a scrolling element)
   * @param {object} options
   * @param {'customer'|'agent'} options.viewer
   * @param {string|null} [options.selfId]     the agent's id (agent viewer)
   * @param {(message, option) => void} [options.onOption]   customer picked an option
   * @param {(message) => void} [options.onRetry]            take a refused message back into the composer
   * @param {{download: Function, preview: Function}} [options.files]
   */
  constructor(list, { viewer, selfId = null, onOption = null, onRetry = null, files = null }) {
    this.list = list;
    this.scroller = list.closest('.log-scroll') || list.parentElement;
    this.viewer = viewer;
    this.selfId = selfId;
    this.onOption = onOption;
    this.onRetry = onRetry;
    this.files = files;
    this.bySeq = new Map();        // seq -> message
    this.byClientId = new Map();   // client_id -> message (pending and sent)
    this.nodes = new Map();        // message -> <li>
    this.readSeq = 0;              // what the other side has read
    // a list read at its end stays there when it shrinks (a phone's keyboard, a banner, a resize)
    this.stuck = true;
    this.scroller.addEventListener('scroll', () => { this.stuck = atBottom(this.scroller); }, { passive: true });
    new ResizeObserver(() => { if (this.stuck) this.scrollToEnd(); }).observe(this.scroller);
  }

  get lastSeq() {
    let last = 0;
    for (const seq of this.bySeq.keys()) last = Math.max(last, seq);
    return last;
  }

  has(seq) {
    return this.bySeq.has(seq);
  }

  messages() {
    return Array.from(this.bySeq.values()).sort((a, b) => a.seq - b.seq);
  }

  isMine(m) {
    if (this.viewer === 'customer') return m.sender && m.sender.kind === 'customer';
    return m.sender && m.sender.kind === 'agent' && m.sender.id === this.selfId;
  }

  /** Add or update a message (by seq, or by client_id for our own sends). True when it is new. */
  upsert(message) {
    const stick = atBottom(this.scroller);
    let m = message.client_id ? this.byClientId.get(message.client_id) : undefined;
    if (!m && message.seq !== undefined && message.seq !== null) m = this.bySeq.get(message.seq);
    const isNew = !m;
    if (m) {
      Object.assign(m, message);
    } else {
      m = { ...message };
    }
    if (m.seq !== undefined && m.seq !== null) {
      this.bySeq.set(m.seq, m);
      m.status = 'sent';
    } else if (!m.status) {
      m.status = 'pending';
    }
    if (m.client_id) this.byClientId.set(m.client_id, m);
    const old = this.nodes.get(m);
    const node = this.render(m);
    this.nodes.set(m, node);
    if (old) old.replaceWith(node);
    this.place(m, node);
    if (m.options || m.option_id) this.refreshOptions();
    if (stick || (isNew && this.isMine(m))) this.scrollToEnd();
    return isNew;
  }

  /** A send the engine refused for good (error event with the client_id as ref). */
  fail(clientId, reason) {
    const m = this.byClientId.get(clientId);
    if (!m || m.seq) return;
    m.status = 'failed';
    m.failure = reason;
    const node = this.render(m);
    this.nodes.get(m).replaceWith(node);
    this.nodes.set(m, node);
  }

  remove(clientId) {
    const m = this.byClientId.get(clientId);
    if (!m || m.seq) return;
    this.byClientId.delete(clientId);
    const node = this.nodes.get(m);
    if (node) node.remove();
    this.nodes.delete(m);
  }

  /** A line about the conversation itself (someone joined or left, the chat ended, ...). */
  notice(text, kind = 'info') {
    const stick = atBottom(this.scroller);
    const node = el('li', { class: ['notice', `notice--${kind}`] }, el('span', { text }));
    const firstPending = Array.from(this.list.children).find((n) => n.dataset.pending === '1');
    this.list.insertBefore(node, firstPending || null);
    if (stick) this.scrollToEnd();
  }

  /** The other side has read everything up to ``seq``: our messages up to it get two checks. */
  setReadSeq(seq) {
    if (seq <= this.readSeq) return;
    this.readSeq = seq;
    let options = false;
    for (const [m, node] of this.nodes) {
      if (this.isMine(m) && m.seq && m.seq <= seq && node.dataset.state !== 'read') {
        const fresh = this.render(m);
        node.replaceWith(fresh);
        this.nodes.set(m, fresh);
        options = options || Boolean(m.options);
      }
    }
    if (options) this.refreshOptions();
  }

  scrollToEnd() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  // ---- rendering -------------------------------------------------------------------------

  place(m, node) {
    if (m.seq === undefined || m.seq === null) {
      if (!node.isConnected) this.list.append(node);
      return;
    }
    // before the first message with a higher seq, else before the first pending one, else at the end
    let before = null;
    for (const child of this.list.children) {
      if (child === node) continue;
      const seq = Number(child.dataset.seq || 0);
      if ((seq && seq > m.seq) || child.dataset.pending === '1') {
        before = child;
        break;
      }
    }
    if (node.nextSibling !== before || !node.isConnected) this.list.insertBefore(node, before);
  }

  senderName(m) {
    if (this.isMine(m)) return t('common.you');
    if (!m.sender || m.sender.kind === 'system') return t('common.system');
    return m.sender.name || (m.sender.kind === 'customer' ? t('common.customer') : t('common.agent'));
  }

  render(m) {
    const mine = this.isMine(m);
    const kind = m.sender ? m.sender.kind : 'system';
    const time = m.at ? el('time', { dateTime: m.at, title: formatDateTime(m.at), text: formatTime(m.at) }) : null;
    const meta = el('div', { class: 'msg__meta' },
      el('span', { class: 'msg__name', text: this.senderName(m) }), ' ', time);
    if (m.private) {
      meta.append(' ', el('span', { class: 'msg__private' }, icon('eye'), t('agent.privateNote')));
    }
    const body = [];
    if (m.text) body.push(el('div', { class: 'msg__text', text: m.text }));
    if (m.attachments && m.attachments.length) body.push(this.renderFiles(m));
    if (m.options && m.options.length) body.push(this.renderOptions(m));
    const node = el('li', {
      class: ['msg', `msg--${kind}`, mine && 'msg--mine', m.private && 'msg--private',
        m.option_id && 'msg--answer'],
      dataset: { seq: m.seq || '', pending: m.seq ? '0' : '1', state: this.stateOf(m) },
    }, el('div', { class: 'msg__bubble' }, meta, body, mine ? this.renderState(m) : null));
    if (m.private) node.prepend(srOnly(`${t('agent.privateNote')}: `));
    return node;
  }

  stateOf(m) {
    if (m.status === 'failed') return 'failed';
    if (!m.seq) return 'pending';
    if (!m.private && m.seq <= this.readSeq) return 'read';
    return 'sent';
  }

  renderState(m) {
    const state = this.stateOf(m);
    const labels = { pending: t('msg.sending'), sent: t('msg.sent'), read: t('msg.read'), failed: t('msg.failed') };
    const icons = { pending: 'clock', sent: 'check', read: 'checks', failed: 'warn' };
    const box = el('div', { class: ['msg__state', `msg__state--${state}`] },
      icon(icons[state]), el('span', { class: state === 'failed' ? '' : 'sr-only', text: labels[state] }));
    if (state === 'failed') {
      if (m.failure) box.append(' ', el('span', { text: `(${m.failure})` }));
      if (this.onRetry) {
        box.append(' ', el('button', {
          type: 'button', class: 'link', text: t('msg.edit'), onclick: () => this.onRetry(m),
        }));
      }
    }
    return box;
  }

  renderFiles(m) {
    return el('ul', { class: 'msg__files', 'aria-label': t('msg.attachments') }, m.attachments.map((a) => {
      const item = el('li', { class: 'file' });
      const button = el('button', {
        type: 'button', class: 'file__open',
        onclick: () => this.files && this.files.download(a, button),
      }, icon('file'), el('span', { class: 'file__name', text: a.filename }),
      el('span', { class: 'file__size', text: formatSize(a.size) }));
      item.append(button);
      if (this.files && /^image\/(png|jpeg|gif)$/.test(a.content_type) && m.seq) {
        this.files.preview(a).then((url) => {
          if (!url) return;
          const stick = atBottom(this.scroller);
          const img = el('img', { class: 'file__preview', src: url, alt: a.filename });
          // the list grows when the picture arrives: stay at the end if we were there
          img.addEventListener('load', () => { if (stick) this.scrollToEnd(); });
          item.append(img);
        });
      }
      return item;
    }));
  }

  renderOptions(m) {
    const group = el('div', { class: 'msg__options', role: 'group', 'aria-label': t('msg.chooseOption') });
    for (const option of m.options) {
      if (this.viewer === 'customer') {
        group.append(el('button', {
          type: 'button', class: 'option', text: option.label, dataset: { optionId: option.id },
          onclick: () => this.onOption && this.onOption(m, option),
        }));
      } else {
        group.append(el('span', { class: 'option option--static', text: option.label, dataset: { optionId: option.id } }));
      }
    }
    return group;
  }

  /** Only the newest option menu can be answered; answered menus show the choice. */
  refreshOptions() {
    const ordered = this.messages();
    let newest = null;
    for (const m of ordered) if (m.options && m.options.length && !m.private) newest = m;
    for (const m of ordered) {
      if (!m.options || !m.options.length) continue;
      const node = this.nodes.get(m);
      if (!node) continue;
      const answer = ordered.find((x) => x.seq > m.seq && x.option_id &&
        m.options.some((o) => o.id === x.option_id));
      const live = m === newest && !answer && this.viewer === 'customer';
      for (const b of node.querySelectorAll('.option')) {
        const chosen = answer && b.dataset.optionId === answer.option_id;
        b.classList.toggle('option--chosen', Boolean(chosen));
        if (b.tagName === 'BUTTON') {
          b.disabled = !live;
          b.setAttribute('aria-pressed', chosen ? 'true' : 'false');
        }
      }
    }
  }
}
