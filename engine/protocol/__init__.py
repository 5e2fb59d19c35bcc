"""The wire contract of PROTOCOL.md: client frames as typed commands (msgspec), events encoded
(``frames.py``), and the forgiving JSON reader that names what a refused frame or body holds
(``loose_json.py``).

May import: ``frontdesk.core``.
"""
