"""Who gets what: pure routing and invitation decisions, the wait estimate, and the Router actor
that carries them out.

May import: ``protocol``, ``storage``, ``runtime``, ``frontdesk.core``.
"""
