// The websocket client of PROTOCOL.md §4, shared by the customer chat and the agent console.
//
// - hello first (with ``resume`` from the app: {conversation_id: last seen seq}), then frames.
// - Reconnects after any drop with exponential backoff and jitter (0.5 s doubling to 30 s; the
//   wait is drawn between half and all of it), at once when the browser comes back online.
// - ``sendMessage`` keeps every ``send`` until its ``ack``; after a reconnect the unacked ones go
//   out again with the same ``client_id``, so the engine stores each once (§5.2). A store (e.g.
//   sessionStorage) can keep them across a page reload.
// - ``ping`` every 20 s; no answer within 10 s counts as a dead connection.
//
// Events (EventTarget): 'frame' (detail: the frame), 'status' (detail: 'connecting' | 'online' |
// 'offline'), 'unauthenticated' (the token is bad or expired: the app must sign in again),
// 'sendfailed' (detail: {frame, error}) for a send the engine refused for good.

const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30_000;
const PING_EVERY_MS = 20_000;
const PONG_TIMEOUT_MS = 10_000;
const RETRY_UNAVAILABLE_MS = 2_000;
const HELLO_TIMEOUT_MS = 15_000;
// errors after which the same send is tried again (same client_id) instead of given up
const RETRYABLE = new Set(['unavailable', 'rate_limited']);

/** A random id that works outside secure contexts too (crypto.randomUUID needs https). */
export function newId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function websocketUrl() {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`;
}

/** The wait before reconnect attempt ``attempt`` (0, 1, 2, ...): exponential, with jitter. */
export function backoffDelay(attempt, random = Math.random) {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return ceiling / 2 + random() * (ceiling / 2);
}

export class Connection extends EventTarget {
  /**
   * @param {object} options
   * @param {string} options.token       bearer token for hello
   * @param {() => object|undefined} options.resume   called before each hello
   * @param {{load: () => object[], save: (frames: object[]) => void}} [options.store]  unacked sends
   * @param {string} [options.url]
   */
  constructor({ token, resume = () => undefined, store = null, url = websocketUrl() }) {
    super();
    this.token = token;
    this.resume = resume;
    this.store = store;
    this.url = url;
    this.ws = null;
    this.ready = false;          // welcome received on the current socket
    this.stopped = true;
    this.attempt = 0;
    this.status = 'offline';
    this.pending = new Map();    // client_id -> {frame, resolve, reject}
    this.timers = { reconnect: null, ping: null, pong: null };
    this.lastError = null;
    for (const frame of store ? store.load() : []) {
      if (frame && frame.client_id) this.pending.set(frame.client_id, { frame, resolve: null, reject: null });
    }
    this.onOnline = () => {
      if (!this.stopped && !this.ready) this.reconnectNow();
    };
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    window.addEventListener('online', this.onOnline);
    this.open();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.onOnline);
    this.clearTimers();
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close(1000);
    }
    this.setStatus('offline');
  }

  /** Fire-and-forget frames (typing, read, presence, accept, ...): false when not connected. */
  send(frame) {
    if (!this.ready || !this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** A ``send`` frame, kept until acked and repeated after reconnects. Resolves with the ack. */
  sendMessage(frame) {
    const message = { ...frame, type: 'send', client_id: frame.client_id || newId() };
    return new Promise((resolve, reject) => {
      this.pending.set(message.client_id, { frame: message, resolve, reject });
      this.persist();
      this.send(message);
    });
  }

  /** Unacked sends, oldest first (e.g. to show them as "sending" after a reload). */
  unacked() {
    return Array.from(this.pending.values(), (p) => p.frame);
  }

  /** Forget an unacked send (the user discarded it). */
  discard(clientId) {
    this.pending.delete(clientId);
    this.persist();
  }

  // ---- internals -------------------------------------------------------------------------

  persist() {
    if (this.store) this.store.save(this.unacked());
  }

  setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    this.dispatchEvent(new CustomEvent('status', { detail: status }));
  }

  clearTimers() {
    clearTimeout(this.timers.reconnect);
    clearInterval(this.timers.ping);
    clearTimeout(this.timers.pong);
    this.timers = { reconnect: null, ping: null, pong: null };
  }

  open() {
    this.clearTimers();
    this.ready = false;
    this.lastError = null;
    this.setStatus('connecting');
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.addEventListener('open', () => {
      const hello = { type: 'hello', token: this.token };
      const resume = this.resume();
      if (resume && Object.keys(resume).length) hello.resume = resume;
      ws.send(JSON.stringify(hello));
      // no welcome in time: try again (any frame clears this timer)
      this.timers.pong = setTimeout(() => this.reconnectLater(ws), HELLO_TIMEOUT_MS);
    });
    ws.addEventListener('message', (event) => this.onMessage(ws, event));
    ws.addEventListener('close', (event) => this.onClose(ws, event));
  }

  onMessage(ws, event) {
    if (ws !== this.ws) return;
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    clearTimeout(this.timers.pong);
    if (frame.type === 'welcome') {
      this.ready = true;
      this.attempt = 0;
      this.setStatus('online');
      this.timers.ping = setInterval(() => this.ping(), PING_EVERY_MS);
      this.dispatchEvent(new CustomEvent('frame', { detail: frame }));
      for (const { frame: unacked } of this.pending.values()) this.send(unacked);
      return;
    }
    if (frame.type === 'pong') return;
    if (frame.type === 'ack') {
      const entry = this.pending.get(frame.client_id);
      if (entry) {
        this.pending.delete(frame.client_id);
        this.persist();
        if (entry.resolve) entry.resolve(frame);
      }
    } else if (frame.type === 'error') {
      this.lastError = frame;
      const entry = frame.ref ? this.pending.get(frame.ref) : null;
      if (entry) {
        if (RETRYABLE.has(frame.code)) {
          setTimeout(() => this.send(entry.frame), RETRY_UNAVAILABLE_MS);
        } else {
          this.pending.delete(frame.ref);
          this.persist();
          if (entry.reject) entry.reject(frame);
          this.dispatchEvent(new CustomEvent('sendfailed', { detail: { frame: entry.frame, error: frame } }));
        }
      }
    }
    this.dispatchEvent(new CustomEvent('frame', { detail: frame }));
  }

  ping() {
    if (!this.send({ type: 'ping' })) return;
    clearTimeout(this.timers.pong);
    this.timers.pong = setTimeout(() => {
      // no frame at all for a while: the connection is dead even if the browser has not noticed
      if (this.ws) this.ws.close(4000, 'ping timeout');
      this.reconnectNow();
    }, PONG_TIMEOUT_MS);
  }

  onClose(ws, event) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.ready = false;
    this.clearTimers();
    if (this.stopped) return;
    const refused = event.code === 1008 && this.lastError && this.lastError.code === 'unauthenticated';
    if (refused) {
      this.stopped = true;
      this.setStatus('offline');
      this.dispatchEvent(new CustomEvent('unauthenticated', { detail: this.lastError }));
      return;
    }
    this.setStatus('offline');
    this.scheduleReconnect();
  }

  scheduleReconnect() {
    clearTimeout(this.timers.reconnect);
    const delay = backoffDelay(this.attempt);
    this.attempt += 1;
    this.timers.reconnect = setTimeout(() => {
      if (!this.stopped) this.open();
    }, delay);
  }

  reconnectLater(ws) {
    if (ws !== this.ws) return;
    this.ws = null;
    ws.close(4000, 'no welcome');
    this.ready = false;
    this.clearTimers();
    this.setStatus('offline');
    this.scheduleReconnect();
  }

  reconnectNow() {
    if (this.stopped) return;
    const old = this.ws;
    this.ws = null;
    if (old) old.close(4000, 'reconnect');
    this.open();
  }
}

/** A sessionStorage-backed JSON value (ignores quota and privacy-mode errors). */
export function sessionValue(key) {
  return {
    load(fallback = null) {
      try {
        const raw = sessionStorage.getItem(key);
        return raw === null ? fallback : JSON.parse(raw);
      } catch {
        return fallback;
      }
    },
    save(value) {
      try {
        if (value === null || value === undefined) sessionStorage.removeItem(key);
        else sessionStorage.setItem(key, JSON.stringify(value));
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** JSON over fetch; throws an ApiError with the engine's {code, message, field} on failure. */
export class ApiError extends Error {
  constructor(status, error) {
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || 'http_error';
    this.field = error.field || null;
  }
}

export async function api(method, path, { body, token } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, { code: 'network', message: 'network error' });
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, (data && data.error) || {});
  return { data, response };
}
