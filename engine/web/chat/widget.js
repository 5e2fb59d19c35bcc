/*
 * Frontdesk chat widget: put this on any page to get a chat button that opens the customer chat
 * of the engine in a panel (an iframe of /chat, served by the engine with its own CSP).
 *
 *   <script src="https://support.example.com/chat/widget.js" data-queue="support" defer></script>
 *
 * Optional attributes: data-lang="de|en", data-label="Chat" (button text), and for a verified
 * identity (PROTOCOL.md §3) data-identity-email, data-identity-name, data-identity-hmac — passed
 * in the URL fragment, which never reaches a server log.
 *
 * A classic script (not a module) so that it works in any page; it touches the host page only
 * through its own elements, styled with element.style (no stylesheet, no inline <style>), which
 * the host's own CSP allows like any DOM change. Its few words come from the apps' one translation
 * table (/web/shared/i18n.js, a module served with CORS for this); should the host page forbid
 * loading it, the button just says "Chat".
 */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || window.__frontdeskWidget) return;
  window.__frontdeskWidget = true;

  var origin = new URL(script.src, location.href).origin;
  var data = script.dataset;
  var queue = data.queue || 'support';
  var lang = (data.lang || navigator.language || 'en').slice(0, 2).toLowerCase() === 'de' ? 'de' : 'en';

  var src = origin + '/chat?queue=' + encodeURIComponent(queue) + '&embed=1&lang=' + lang;
  if (data.identityEmail && data.identityHmac) {
    var fragment = new URLSearchParams();
    fragment.set('email', data.identityEmail);
    if (data.identityName) fragment.set('name', data.identityName);
    fragment.set('hmac', data.identityHmac);
    src += '#' + fragment.toString();
  }

  import(origin + '/web/shared/i18n.js').then(function (i18n) {
    build({
      open: i18n.translate(lang, 'widget.open'), close: i18n.translate(lang, 'widget.close'),
      title: i18n.translate(lang, 'widget.title'),
    });
  }, function () {
    build({ open: 'Chat', close: '✕', title: 'Chat' });
  });

  function css(node, styles) {
    for (var k in styles) node.style[k] = styles[k];
    return node;
  }

  function build(text) {
    var button = css(document.createElement('button'), {
      position: 'fixed', right: '20px', bottom: '20px', zIndex: '2147483000', padding: '12px 18px',
      border: '0', borderRadius: '999px', background: '#0a58ca', color: '#ffffff', font: '600 16px/1.2 system-ui, sans-serif',
      boxShadow: '0 4px 16px rgba(0,0,0,0.3)', cursor: 'pointer',
    });
    button.type = 'button';
    button.textContent = data.label || text.open;
    button.setAttribute('aria-expanded', 'false');
    button.setAttribute('aria-controls', 'frontdesk-chat-panel');

    var panel = css(document.createElement('div'), {
      position: 'fixed', right: '20px', bottom: '84px', zIndex: '2147483000', width: '380px', height: '600px',
      maxHeight: 'calc(100vh - 110px)', display: 'none', flexDirection: 'column', background: '#ffffff',
      borderRadius: '12px', overflow: 'hidden', boxShadow: '0 10px 40px rgba(0,0,0,0.35)',
    });
    panel.id = 'frontdesk-chat-panel';
    panel.setAttribute('role', 'dialog');
    panel.setAttribute('aria-label', text.title);

    var bar = css(document.createElement('div'), {
      display: 'flex', alignItems: 'center', justifyContent: 'space-between', gap: '8px', background: '#12355b',
      color: '#ffffff', padding: '6px 6px 6px 12px', font: '700 16px/1.2 system-ui, sans-serif',
    });
    var heading = document.createElement('span');
    heading.textContent = data.label || text.open;
    bar.appendChild(heading);
    var close = css(document.createElement('button'), {
      border: '1px solid #ffffff', background: 'transparent', color: '#ffffff', borderRadius: '6px',
      font: '600 16px/1 system-ui, sans-serif', width: '36px', height: '36px', cursor: 'pointer',
    });
    close.type = 'button';
    close.textContent = '✕';
    close.setAttribute('aria-label', text.close);
    close.title = text.close;
    bar.appendChild(close);
    panel.appendChild(bar);

    var frame = null;

    function isOpen() {
      return panel.style.display !== 'none';
    }

    function layout() {
      var phone = window.innerWidth < 520;
      // on a phone the panel covers the page, the button too: the panel's own close button remains
      button.style.display = phone && isOpen() ? 'none' : '';
      css(panel, phone
        ? { right: '0', bottom: '0', width: '100vw', height: '100vh', maxHeight: '100vh', borderRadius: '0' }
        : { right: '20px', bottom: '84px', width: '380px', height: '600px', maxHeight: 'calc(100vh - 110px)', borderRadius: '12px' });
    }

    function open() {
      if (!frame) {
        // created on first open: the chat (and its websocket) only starts when asked for
        frame = css(document.createElement('iframe'), { flex: '1 1 auto', width: '100%', border: '0' });
        frame.title = text.title;
        frame.src = src;
        frame.setAttribute('sandbox', 'allow-scripts allow-same-origin allow-forms allow-downloads allow-modals');
        frame.setAttribute('allow', 'clipboard-write');
        panel.appendChild(frame);
      }
      panel.style.display = 'flex';
      layout();
      button.setAttribute('aria-expanded', 'true');
      frame.focus();
    }

    function hide() {
      panel.style.display = 'none';
      button.setAttribute('aria-expanded', 'false');
      layout();
      button.focus();
    }

    button.addEventListener('click', function () {
      if (isOpen()) hide(); else open();
    });
    close.addEventListener('click', hide);
    document.addEventListener('keydown', function (e) {
      if (e.key === 'Escape' && isOpen()) hide();
    });
    window.addEventListener('resize', function () {
      if (isOpen()) layout();
    });

    function mount() {
      document.body.appendChild(panel);
      document.body.appendChild(button);
    }
    if (document.body) mount(); else document.addEventListener('DOMContentLoaded', mount);
  }
})();
