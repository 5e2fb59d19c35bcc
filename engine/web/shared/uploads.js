// Attachments: the client-side check (type and size, PROTOCOL.md §3), uploads with progress
// (XMLHttpRequest, whose upload events fetch() lacks), downloads with the bearer token.
// The engine judges the type again from the bytes; its 413/415 answers are shown as they come.

import { el, icon, formatSize } from './dom.js';
import { t } from './i18n.js';

export const MAX_FILE_BYTES = 20 * 1024 * 1024;
export const MAX_FILES = 5;

// the default allowed types of PROTOCOL.md §3: PDF, ZIP, JPEG, PNG, GIF, plain text, DOCX, XLSX, XLS
const TYPES = {
  pdf: ['application/pdf'],
  zip: ['application/zip', 'application/x-zip-compressed'],
  jpg: ['image/jpeg'], jpeg: ['image/jpeg'],
  png: ['image/png'],
  gif: ['image/gif'],
  txt: ['text/plain'], text: ['text/plain'], log: ['text/plain'],
  docx: ['application/vnd.openxmlformats-officedocument.wordprocessingml.document'],
  xlsx: ['application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
  xls: ['application/vnd.ms-excel'],
};
const MIME_TYPES = new Set(Object.values(TYPES).flat());

/** The value for <input type=file accept=...>. */
export const ACCEPT = [...Object.keys(TYPES).map((e) => `.${e}`), ...MIME_TYPES].join(',');

/** null when ``file`` may be uploaded, else the reason (translated). */
export function checkFile(file) {
  const ext = (file.name.split('.').pop() || '').toLowerCase();
  const typeOk = file.name.includes('.') && ext in TYPES ? true : MIME_TYPES.has(file.type);
  if (!typeOk) return t('files.badType', { name: file.name });
  if (file.size > MAX_FILE_BYTES) return t('files.tooLarge', { name: file.name, max: formatSize(MAX_FILE_BYTES) });
  if (file.size === 0) return t('files.empty', { name: file.name });
  return null;
}

/** Upload one file: {promise (resolves with the engine's answer), abort()}; onProgress(0..1). */
export function upload(file, token, onProgress) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open('POST', '/api/uploads');
    xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.responseType = 'json';
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    });
    xhr.addEventListener('load', () => {
      if (xhr.status === 201 && xhr.response) {
        onProgress(1);
        resolve(xhr.response);
        return;
      }
      const error = (xhr.response && xhr.response.error) || {};
      reject(new Error(uploadError(xhr.status, error, file)));
    });
    xhr.addEventListener('error', () => reject(new Error(t('files.network', { name: file.name }))));
    xhr.addEventListener('abort', () => reject(new Error('aborted')));
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}

function uploadError(status, error, file) {
  if (status === 413) return t('files.tooLarge', { name: file.name, max: formatSize(MAX_FILE_BYTES) });
  if (status === 415) return t('files.badType', { name: file.name });
  if (status === 401) return t('error.session');
  return t('files.failed', { name: file.name, reason: error.message || `HTTP ${status}` });
}

/** Fetches attachments with the token; object URLs for previews and downloads. */
export class Files {
  constructor(getToken) {
    this.getToken = getToken;
    this.urls = new Map();   // attachment id -> Promise<object URL | null>
  }

  fetchUrl(attachment) {
    if (!this.urls.has(attachment.id)) {
      const promise = fetch(`/api/attachments/${encodeURIComponent(attachment.id)}`, {
        headers: { Authorization: `Bearer ${this.getToken()}` },
      }).then((r) => (r.ok ? r.blob() : null)).then((blob) => (blob ? URL.createObjectURL(blob) : null))
        .catch(() => null);
      this.urls.set(attachment.id, promise);
      promise.then((url) => {
        if (!url) this.urls.delete(attachment.id);   // try again next time
      });
    }
    return this.urls.get(attachment.id);
  }

  preview(attachment) {
    if (attachment.size > 5 * 1024 * 1024) return Promise.resolve(null);
    return this.fetchUrl(attachment);
  }

  async download(attachment, button) {
    if (button) button.setAttribute('aria-busy', 'true');
    const url = await this.fetchUrl(attachment);
    if (button) button.removeAttribute('aria-busy');
    if (!url) {
      if (button) button.classList.add('file__open--error');
      return;
    }
    const a = el('a', { href: url, download: attachment.filename || 'attachment', hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
  }
}

/**
 * The attachments of a message being written: checks, uploads with progress bars, removal.
 * ``ids()`` gives the uploaded ones; ``busy`` while an upload runs.
 */
export class Tray {
  constructor(container, errorBox, getToken, onChange) {
    this.container = container;
    this.errorBox = errorBox;
    this.getToken = getToken;
    this.onChange = onChange;
    this.items = [];
  }

  get busy() {
    return this.items.some((i) => !i.done);
  }

  ids() {
    return this.items.filter((i) => i.done).map((i) => i.result.attachment_id);
  }

  metas() {
    return this.items.filter((i) => i.done).map((i) => ({
      id: i.result.attachment_id, filename: i.result.filename, content_type: i.result.content_type, size: i.result.size,
    }));
  }

  clear() {
    for (const item of this.items) if (!item.done) item.upload.abort();
    this.items = [];
    this.container.replaceChildren();
    this.container.hidden = true;
    this.onChange();
  }

  showError(text) {
    this.errorBox.textContent = text;
    this.errorBox.hidden = !text;
  }

  add(files) {
    const errors = [];
    for (const file of files) {
      if (this.items.length >= MAX_FILES) {
        errors.push(t('files.tooMany', { max: MAX_FILES }));
        break;
      }
      const problem = checkFile(file);
      if (problem) {
        errors.push(problem);
        continue;
      }
      this.start(file);
    }
    this.showError(errors.join(' '));
  }

  start(file) {
    const progress = el('progress', { max: 1, value: 0, 'aria-label': t('files.progress', { name: file.name }) });
    const remove = el('button', { type: 'button', class: 'icon-button', 'aria-label': t('files.remove', { name: file.name }) },
      icon('close'));
    const chip = el('li', { class: 'chip' }, icon('file'),
      el('span', { class: 'chip__name', text: file.name }),
      el('span', { class: 'chip__size', text: formatSize(file.size) }), progress, remove);
    const item = { file, chip, done: false, result: null, upload: null };
    item.upload = upload(file, this.getToken(), (fraction) => { progress.value = fraction; });
    remove.addEventListener('click', () => {
      if (!item.done) item.upload.abort();
      this.items = this.items.filter((i) => i !== item);
      chip.remove();
      this.container.hidden = this.items.length === 0;
      this.onChange();
    });
    this.items.push(item);
    this.container.append(chip);
    this.container.hidden = false;
    this.onChange();
    item.upload.promise.then((result) => {
      item.done = true;
      item.result = result;
      progress.remove();
      chip.classList.add('chip--done');
      this.onChange();
    }, (error) => {
      if (error.message !== 'aborted') this.showError(error.message);
      this.items = this.items.filter((i) => i !== item);
      chip.remove();
      this.container.hidden = this.items.length === 0;
      this.onChange();
    });
  }
}


/** Drag & drop of files onto ``zone``: ``hint`` shows while files hover over it. */
export function setupDrop(zone, hint, onFiles) {
  let depth = 0;
  const hasFiles = (e) => e.dataTransfer && Array.from(e.dataTransfer.types || []).includes('Files');
  const reset = () => {
    depth = 0;
    zone.classList.remove('dropping');
    hint.hidden = true;
  };
  zone.addEventListener('dragenter', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth += 1;
    zone.classList.add('dropping');
    hint.hidden = false;
  });
  zone.addEventListener('dragover', (e) => {
    if (hasFiles(e)) e.preventDefault();
  });
  zone.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (!depth) reset();
  });
  zone.addEventListener('drop', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    reset();
    onFiles(Array.from(e.dataTransfer.files));
  });
}
