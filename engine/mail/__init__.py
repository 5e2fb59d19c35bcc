"""Mail to customers: composing transcripts and confirmations, the outbox, and the Mailer actor
that sends the outbox over SMTP.

May import: ``storage``, ``runtime``, ``frontdesk.core``.
"""
