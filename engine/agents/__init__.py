"""One actor per signed-in agent: its sockets, its welcome, its reconnect grace.

May import: ``conversations``, ``routing``, ``protocol``, ``runtime``, ``frontdesk.core``.
"""
