"""The wire contract of PROTOCOL.md: client frames as typed commands (msgspec), events encoded.

May import: ``frontdesk.core``.
"""
