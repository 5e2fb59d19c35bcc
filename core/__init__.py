"""Pure parts shared by the engine and the dashboard: opening hours, passwords and tokens, the error
tree, the wire form of times, safe file names.

Imports nothing of Frontdesk; no I/O, no event loop.
"""
