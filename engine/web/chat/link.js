// The link of a notification mail (PROTOCOL.md §7): /chat/c/{conversation_id}#t=<link token>.
//
// The token rides in the fragment, which browsers never send to a server. The page reads it once
// and takes it out of the address bar at once (history.replaceState): it is then neither in the
// history, nor in a bookmark, nor in an address copied from the bar. The page keeps it in
// sessionStorage like its own chats, so a reload of the tab still opens the conversation.

const LINK_PATH = /^\/chat\/c\/([^/]+)\/?$/;

/** The link this page was opened with: {conversationId, token} (token null when the fragment has
 *  none), or null on any other address. */
export function readLink() {
  const match = LINK_PATH.exec(location.pathname);
  if (!match) return null;
  let conversationId;
  try {
    conversationId = decodeURIComponent(match[1]);
  } catch {
    conversationId = match[1];          // a broken %-escape: the engine refuses the id, the page says so
  }
  const token = new URLSearchParams(location.hash.slice(1)).get('t');
  if (location.hash) history.replaceState(history.state, '', location.pathname + location.search);
  return { conversationId, token: token || null };
}

/** The pre-chat page of ``queue`` (the default queue when unknown), in the language of this page. */
export function newChatUrl(queue) {
  const params = new URLSearchParams();
  if (queue) params.set('queue', queue);
  const lang = new URLSearchParams(location.search).get('lang');
  if (lang) params.set('lang', lang);
  const query = params.toString();
  return `/chat${query ? `?${query}` : ''}`;
}
