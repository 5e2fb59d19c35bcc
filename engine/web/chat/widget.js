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
  // the chat posts its unread count only to this origin, and listens only to it
  var hostOrigin = location.origin && location.origin !== 'null' ? location.origin : null;
  if (hostOrigin) src += '&host=' + encodeURIComponent(hostOrigin);
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
      title: i18n.translate(lang, 'widget.title'), dismiss: i18n.translate(lang, 'widget.dismiss'),
      unread: function (n) { return i18n.translate(lang, 'widget.unread', { n: n }); },
    });
  }, function () {
    build({ open: 'Chat', close: '✕', title: 'Chat', dismiss: '✕', unread: function (n) { return '(' + n + ')'; } });
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
    var label = data.label || text.open;
    button.textContent = label;
    // the count of replies not yet read, on the button while the panel is closed
    var badge = css(document.createElement('span'), {
      display: 'none', minWidth: '22px', height: '22px', marginLeft: '8px', padding: '0 6px', borderRadius: '11px',
      background: '#b3261e', color: '#ffffff', font: '700 13px/22px system-ui, sans-serif', textAlign: 'center',
      verticalAlign: 'middle', boxSizing: 'border-box',
    });
    badge.setAttribute('aria-hidden', 'true');
    button.appendChild(badge);

    // the newest unread reply, above the button; a click on it opens the chat
    var preview = css(document.createElement('div'), {
      position: 'fixed', right: '20px', bottom: '80px', zIndex: '2147483000', maxWidth: 'min(320px, calc(100vw - 40px))',
      display: 'none', alignItems: 'flex-start', gap: '6px', background: '#ffffff', color: '#1b1f24',
      border: '1px solid #c4ccd6', borderRadius: '12px', boxShadow: '0 4px 16px rgba(0,0,0,0.25)',
      font: '400 15px/1.35 system-ui, sans-serif', padding: '10px 8px 10px 12px', boxSizing: 'border-box',
    });
    preview.setAttribute('role', 'status');
    var previewOpen = css(document.createElement('button'), {
      flex: '1 1 auto', minWidth: '0', border: '0', background: 'transparent', color: 'inherit', font: 'inherit',
      textAlign: 'left', cursor: 'pointer', padding: '0', overflowWrap: 'anywhere',
    });
    previewOpen.type = 'button';
    var previewName = css(document.createElement('strong'), { display: 'block', fontWeight: '700' });
    var previewText = css(document.createElement('span'), {
      display: '-webkit-box', webkitLineClamp: '3', webkitBoxOrient: 'vertical', overflow: 'hidden',
    });
    previewOpen.appendChild(previewName);
    previewOpen.appendChild(previewText);
    preview.appendChild(previewOpen);
    var previewHide = css(document.createElement('button'), {
      flex: 'none', width: '28px', height: '28px', border: '0', borderRadius: '6px', background: 'transparent',
      color: '#1b1f24', font: '600 14px/1 system-ui, sans-serif', cursor: 'pointer',
    });
    previewHide.type = 'button';
    previewHide.textContent = '✕';
    previewHide.setAttribute('aria-label', text.dismiss);
    previewHide.title = text.dismiss;
    preview.appendChild(previewHide);
    var unread = { count: 0, preview: '', sender: '', dismissed: '' };
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

    /** The badge and preview say what the chat reported; both only while the panel is closed. */
    function showUnread() {
      var closed = !isOpen();
      var n = unread.count;
      badge.textContent = String(n);
      badge.style.display = closed && n > 0 ? 'inline-block' : 'none';
      button.setAttribute('aria-label', n > 0 && closed ? label + ', ' + text.unread(n) : label);
      previewName.textContent = unread.sender;
      previewName.style.display = unread.sender ? 'block' : 'none';
      previewText.textContent = unread.preview;
      var key = n + ':' + unread.preview;
      preview.style.display = closed && n > 0 && unread.preview && unread.dismissed !== key ? 'flex' : 'none';
    }

    /** Tell the chat whether it is in front of the customer: it sends ``read`` only then. */
    function tellPanel() {
      if (frame && frame.contentWindow) frame.contentWindow.postMessage({ type: 'frontdesk:panel', open: isOpen() }, origin);
    }

    window.addEventListener('message', function (e) {
      if (!frame || e.source !== frame.contentWindow || e.origin !== origin || !e.data) return;
      if (e.data.type === 'frontdesk:ready') tellPanel();
      if (e.data.type === 'frontdesk:unread') {
        unread.count = Math.max(0, Number(e.data.count) || 0);
        unread.preview = String(e.data.preview || '');
        unread.sender = String(e.data.sender || '');
        showUnread();
      }
    });

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
      showUnread();
      tellPanel();
      frame.focus();
    }

    function hide() {
      panel.style.display = 'none';
      button.setAttribute('aria-expanded', 'false');
      layout();
      tellPanel();
      showUnread();
      button.focus();
    }

    button.addEventListener('click', function () {
      if (isOpen()) hide(); else open();
    });
    close.addEventListener('click', hide);
    previewOpen.addEventListener('click', open);
    previewHide.addEventListener('click', function () {
      unread.dismissed = unread.count + ':' + unread.preview;
      showUnread();
    });
    document.addEventListener('keydown', function (e) {
      if (e.key === 'Escape' && isOpen()) hide();
    });
    window.addEventListener('resize', function () {
      if (isOpen()) layout();
    });

    function mount() {
      document.body.appendChild(panel);
      document.body.appendChild(preview);
      document.body.appendChild(button);
    }
    if (document.body) mount(); else document.addEventListener('DOMContentLoaded', mount);
  }
})();
