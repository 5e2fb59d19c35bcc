"""Mail and SMS to customers: composing transcripts, confirmations and account mails, the outbox,
the Mailer actor that sends the outbox over SMTP, and the SMS sender that posts the SMS outbox to
an HTTP gateway.

May import: ``storage``, ``runtime``, ``frontdesk.core``.
"""
