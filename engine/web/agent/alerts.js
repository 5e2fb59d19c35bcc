// What tells an agent that something waits while it looks elsewhere: a ring that repeats while an
// offer, invitation or transfer waits for an answer, a soft tone for a customer's message while the
// page is hidden or unfocused, desktop notifications (asked for only by the agent's own click), and
// the count in the page title. Tones come from the Web Audio API, so no sound file is shipped.

import { $, icon, setText } from '/web/shared/dom.js';
import { t } from '/web/shared/i18n.js';

const SOUND_KEY = 'frontdesk.agent.sound';
const NOTIFY_KEY = 'frontdesk.agent.notify';
const RING_EVERY_MS = 2500;

function stored(key, fallback) {
  try {
    const value = localStorage.getItem(key);
    return value === null ? fallback : value === 'on';
  } catch {
    return fallback;
  }
}

function store(key, on) {
  try {
    localStorage.setItem(key, on ? 'on' : 'off');
  } catch {
    // a browser without storage keeps the setting for this page only
  }
}

/**
 * ``pending()`` counts the cards still waiting for an answer, ``unread()`` the customer messages not
 * yet read; ``title()`` is the page's own title. Returns ``{ update, message, offer, stop }``.
 */
export function setupAlerts({ pending, unread, title }) {
  let audio = null;
  let ringTimer = null;
  let soundOn = stored(SOUND_KEY, true);
  let notifyOn = stored(NOTIFY_KEY, false);
  const soundButton = $('#alert-sound');
  const notifyButton = $('#alert-notify');
  const supported = typeof window.Notification === 'function';
  soundButton.prepend(icon('sound', 'alert-toggle__on'), icon('mute', 'alert-toggle__off'));
  notifyButton.prepend(icon('bell'));

  function context() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    if (!audio) audio = new Ctx();
    if (audio.state === 'suspended') audio.resume().catch(() => {});
    return audio;
  }

  // a short sine tone of ``freq`` Hz that fades in and out, ``at`` seconds from now
  function tone(freq, at, length, volume) {
    const ctx = context();
    if (!ctx) return;
    const start = ctx.currentTime + at;
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = 'sine';
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(volume, start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + length);
    osc.connect(gain).connect(ctx.destination);
    osc.start(start);
    osc.stop(start + length + 0.05);
  }

  function ring() {
    if (!soundOn) return;
    tone(880, 0, 0.18, 0.3);
    tone(1175, 0.22, 0.25, 0.3);
  }

  function soft() {
    if (!soundOn) return;
    tone(523, 0, 0.2, 0.08);
  }

  function showSettings() {
    soundButton.setAttribute('aria-checked', String(soundOn));
    setText(soundButton.querySelector('.alert-toggle__label'), soundOn ? t('alerts.soundOn') : t('alerts.soundOff'));
    notifyButton.hidden = !supported;
    const granted = supported && Notification.permission === 'granted';
    notifyButton.setAttribute('aria-checked', String(notifyOn && granted));
    let label = t('alerts.notifyOff');
    if (notifyOn && granted) label = t('alerts.notifyOn');
    else if (supported && Notification.permission === 'denied') label = t('alerts.notifyBlocked');
    setText(notifyButton.querySelector('.alert-toggle__label'), label);
  }

  soundButton.addEventListener('click', () => {
    soundOn = !soundOn;
    store(SOUND_KEY, soundOn);
    showSettings();
    if (soundOn && pending()) ring();
  });
  notifyButton.addEventListener('click', async () => {
    if (!supported) return;
    if (Notification.permission === 'granted') {
      notifyOn = !notifyOn;
    } else if (Notification.permission === 'default') {
      notifyOn = (await Notification.requestPermission()) === 'granted';
    } else {
      notifyOn = false;
    }
    store(NOTIFY_KEY, notifyOn);
    showSettings();
  });
  // browsers start an AudioContext only after a gesture: the first one on the page unlocks it
  const unlock = () => { if (soundOn) context(); };
  document.addEventListener('pointerdown', unlock, { once: true, capture: true });
  document.addEventListener('keydown', unlock, { once: true, capture: true });

  function update() {
    const waiting = pending();
    const n = waiting + unread();
    document.title = `${n ? `(${n}) ` : ''}${title()}`;
    if (waiting && !ringTimer) {
      ring();
      ringTimer = setInterval(() => { if (pending()) ring(); }, RING_EVERY_MS);
    } else if (!waiting && ringTimer) {
      clearInterval(ringTimer);
      ringTimer = null;
    }
  }

  function notify(heading, body, tag, onClick) {
    if (!supported || !notifyOn || Notification.permission !== 'granted') return;
    try {
      const n = new Notification(heading, { body, tag, lang: document.documentElement.lang });
      n.onclick = () => {
        window.focus();
        onClick();
        n.close();
      };
    } catch {
      // a browser that only notifies from a service worker shows the title and the tone instead
    }
  }

  const away = () => document.visibilityState !== 'visible' || !document.hasFocus();

  showSettings();
  return {
    update,
    showSettings,
    /** A customer's new message in conversation ``id``: a soft tone and a notification when away. */
    message(name, text, id, onClick) {
      if (!away()) return;
      soft();
      notify(t('alerts.messageTitle', { name }), text || '', `msg-${id}`, onClick);
    },
    /** A new card for the agent: the ring comes from ``update``; a notification when away. */
    offer(heading, name, id, onClick) {
      if (!away()) return;
      notify(heading, name, `offer-${id}`, onClick);
    },
    stop() {
      clearInterval(ringTimer);
      ringTimer = null;
    },
  };
}
