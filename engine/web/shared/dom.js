// Text-only DOM helpers. User data always goes in as text (textContent, text nodes, attribute
// values through setAttribute): nothing here ever parses HTML, and innerHTML is not used anywhere.

const PROPERTIES = new Set(['value', 'checked', 'disabled', 'hidden', 'type', 'name', 'id', 'htmlFor',
  'tabIndex', 'multiple', 'accept', 'rows', 'required', 'open', 'download', 'href', 'src', 'alt', 'title',
  'placeholder', 'autocomplete', 'maxLength', 'min', 'max', 'dateTime']);
const FORBIDDEN = new Set(['innerHTML', 'outerHTML', 'srcdoc', 'style']);

/** Create an element: el('li', {class: 'msg', text: userText, onclick: fn}, child, 'text', ...). */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (FORBIDDEN.has(key) || /^on/i.test(key) && typeof value !== 'function') {
      throw new Error(`el(): ${key} is not allowed`);
    }
    if (key === 'class') node.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    else if (key === 'text') node.textContent = String(value);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2).toLowerCase(), value);
    else if (key === 'href' || key === 'src') node[key] = safeUrl(value);
    else if (PROPERTIES.has(key)) node[key] = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  append(node, ...children);
  return node;
}

/** Append children: nodes as they are, strings and numbers as text nodes, arrays flattened. */
export function append(parent, ...children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Replace every child of ``parent`` with ``children``. */
export function replace(parent, ...children) {
  parent.replaceChildren();
  return append(parent, ...children);
}

export function setText(node, text) {
  node.textContent = text === null || text === undefined ? '' : String(text);
  return node;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

export function $$(selector, root = document) {
  return Array.from(root.querySelectorAll(selector));
}

/** Only our own pages, blob: object URLs and #fragments may become an href or src. */
function safeUrl(value) {
  const url = String(value);
  if (url.startsWith('#') || url.startsWith('blob:')) return url;
  const parsed = new URL(url, location.href);
  if (parsed.origin !== location.origin) throw new Error('el(): foreign URL');
  return parsed.href;
}

const SVG = 'http://www.w3.org/2000/svg';
// 24x24 outline icons (own drawings, stroke only).
const ICONS = {
  lock: ['M6 11h12v10H6z', 'M8.5 11V8a3.5 3.5 0 0 1 7 0v3'],
  eye: ['M2 12s3.6-6.5 10-6.5S22 12 22 12s-3.6 6.5-10 6.5S2 12 2 12z', 'M12 9.2a2.8 2.8 0 1 0 0 5.6a2.8 2.8 0 1 0 0-5.6z'],
  check: ['M4 12.5l5 5L20 6.5'],
  checks: ['M1.5 12.5l5 5L17.5 6.5', 'M11.5 16.5l1 1L23 6.5'],
  clock: ['M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18z', 'M12 7v5l3 2'],
  clip: ['M20 11.5l-8.2 8.2a5 5 0 0 1-7.1-7.1l8.5-8.5a3.3 3.3 0 0 1 4.7 4.7l-8.4 8.4a1.7 1.7 0 0 1-2.4-2.4l7.7-7.7'],
  send: ['M3 11.5L21 3l-6.5 18l-3-7.5z', 'M11.5 13.5L21 3'],
  file: ['M6 2.5h8l5 5V21.5H6z', 'M14 2.5v5h5'],
  close: ['M6 6l12 12', 'M18 6L6 18'],
  warn: ['M12 3L2 21h20z', 'M12 10v5', 'M12 17.5v.5'],
  bell: ['M6 17V11a6 6 0 0 1 12 0v6l1.5 2h-15z', 'M10 21h4'],
  sound: ['M4 9h4l5-4v14l-5-4H4z', 'M16 9a4 4 0 0 1 0 6', 'M18.5 6.5a7.5 7.5 0 0 1 0 11'],
  mute: ['M4 9h4l5-4v14l-5-4H4z', 'M16 9.5l5 5', 'M21 9.5l-5 5'],
  plus: ['M12 5v14', 'M5 12h14'],
};

/** An SVG icon (decorative: aria-hidden; give the text alternative next to it). */
export function icon(name, extraClass = '') {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', `icon icon-${name} ${extraClass}`.trim());
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  for (const d of ICONS[name] || []) {
    const path = document.createElementNS(SVG, 'path');
    path.setAttribute('d', d);
    svg.append(path);
  }
  return svg;
}

/** Visually hidden text for screen readers. */
export function srOnly(text) {
  return el('span', { class: 'sr-only', text });
}

/** Call ``fn`` at most once per ``ms`` (leading edge). */
export function throttle(fn, ms) {
  let last = 0;
  return (...args) => {
    const now = Date.now();
    if (now - last >= ms) {
      last = now;
      fn(...args);
    }
  };
}

/** Call ``fn`` ``ms`` after the last call. */
export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

/** Human-readable file size. */
export function formatSize(bytes, lang) {
  const units = ['B', 'KB', 'MB', 'GB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 10 ? 0 : 1;
  return `${new Intl.NumberFormat(lang, { maximumFractionDigits: digits }).format(value)} ${units[unit]}`;
}

/** Is the element scrolled (nearly) to its end? */
export function atBottom(scroller, slack = 48) {
  return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight <= slack;
}
