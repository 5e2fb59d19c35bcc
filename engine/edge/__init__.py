"""Where clients come in: the listening port, websocket framing, Sessions, the HTTP routes,
the chat door, validation of bodies and uploads, the browser clients' files.

May import every package of the engine but ``supervisor``.
"""
