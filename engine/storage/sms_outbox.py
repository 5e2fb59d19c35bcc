"""SQL of the SMS outbox (``sms_outbox``): what the SMS sender claims, marks and logs, through the
outbox statements it shares with the mail outbox (``outbox_rows.py``). Rows are written by
``customers.sms_to_customer``, in the transaction of what caused them."""

from __future__ import annotations

from frontdesk.engine.storage.outbox_rows import OutboxRows

_SMS = OutboxRows("sms_outbox")
claim_due = _SMS.claim_due
seconds_until_next = _SMS.seconds_until_next
mark = _SMS.mark
unannounced_queued = _SMS.unannounced_queued
