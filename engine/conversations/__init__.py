"""One actor per open conversation: sequence numbers, participants, visibility, fan-out.

May import: ``routing``, ``mail``, ``protocol``, ``storage``, ``runtime``, ``frontdesk.core``.
"""
