"""The demo data of PROTOCOL.md §2, loaded idempotently (``frontdesk demo``, ``serve --demo``).

Running it again changes nothing that exists (passwords are hashed only for new accounts),
so it can run at every start.
"""

from __future__ import annotations

import uuid

import trio

from frontdesk.core import auth
from frontdesk.engine.storage.db import Database

DEMO_PASSWORD = "demo-password"
DEMO_CAPACITY = 3

_ALWAYS = {"always": True}
_NEVER = {"never": True}

QUEUES = [
    # name, title, opening hours, faq suggestions, identity secret, closed message
    ("support", "Support", _ALWAYS, True, "demo-identity-secret",
     "Unser Support ist gerade nicht erreichbar. Hinterlassen Sie uns eine Nachricht. / "
     "Support is not available right now. Please leave us a message."),
    ("sales", "Sales", _ALWAYS, False, None,
     "Unser Vertrieb ist gerade nicht erreichbar. / Sales is not available right now."),
    ("after-hours", "After hours", _NEVER, False, None,
     "Außerhalb der Öffnungszeiten: Hinterlassen Sie uns eine Nachricht, wir melden uns. / "
     "We are closed: leave us a message and we will get back to you."),
    ("messages", "Messages", _ALWAYS, False, None,
     "Schreiben Sie uns, wir antworten hier und per E-Mail. / Write to us: we answer here and by e-mail."),
]
# Queues whose conversations outlive the page (PROTOCOL.md §7); the others are live.
MESSAGING = {"messages"}
CONSENT = {"messages": "We store your name, e-mail address and messages to answer you; see our privacy notice. "
                       "/ Wir speichern Name, E-Mail-Adresse und Nachrichten, um Ihnen zu antworten."}

AGENTS = [
    ("agent1@demo.test", "Agent One", ["support", "after-hours", "messages"]),
    ("agent2@demo.test", "Agent Two", ["support", "messages"]),
    ("agent3@demo.test", "Agent Three", ["support", "sales"]),
    ("agent4@demo.test", "Agent Four", ["sales"]),
]
SUPERVISORS = [("supervisor@demo.test", "Supervisor")]

FAQ = [
    ("support", "How do I reset my password?",
     "Open the sign-in page, choose 'Forgot password' and follow the link we e-mail you."),
    ("support", "Where is my order?",
     "Your order confirmation mail has a tracking link; orders ship within two working days."),
    ("support", "How can I change my delivery address?",
     "Until the order ships you can change the address under 'My orders' > 'Edit delivery'."),
    ("support", "Which payment methods do you accept?",
     "We accept invoice, credit card, PayPal and direct debit."),
]

CANNED = [
    (None, "Greeting", "Hello, thank you for contacting us! How can I help you?"),
    (None, "Goodbye", "Thank you for chatting with us. Have a nice day!"),
    ("support", "Password reset", "You can reset your password with 'Forgot password' on the sign-in page."),
    ("sales", "Offer follow-up", "I will send you a written offer by e-mail today."),
]


async def load_demo(db: Database) -> None:
    for name, title, opening_hours, faq_on, secret, closed_message in QUEUES:
        await db.execute(
            "INSERT INTO queues (name, title, opening_hours, faq_suggestions, identity_secret, closed_message, mode, "
            "consent_notice) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (name) DO NOTHING",
            name, title, opening_hours, faq_on, secret, closed_message,
            "messaging" if name in MESSAGING else "live", CONSENT.get(name))
    people = [(email, name, "agent", queues) for email, name, queues in AGENTS]
    people += [(email, name, "supervisor", []) for email, name in SUPERVISORS]
    for email, name, role, queues in people:
        staff_id = await db.fetchval("SELECT id FROM staff WHERE lower(email) = lower($1)", email)
        if staff_id is None:
            staff_id = uuid.uuid4()
            password_hash = await trio.to_thread.run_sync(auth.hash_password, DEMO_PASSWORD)
            await db.execute(
                "INSERT INTO staff (id, role, email, name, password_hash, capacity) VALUES ($1, $2, $3, $4, $5, $6) "
                "ON CONFLICT DO NOTHING",
                staff_id, role, email, name, password_hash, DEMO_CAPACITY)
            staff_id = await db.fetchval("SELECT id FROM staff WHERE lower(email) = lower($1)", email)
        for queue in queues:
            await db.execute("INSERT INTO queue_members (queue, staff_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                             queue, staff_id)
    for queue, question, answer in FAQ:
        await db.execute(
            "INSERT INTO faq_entries (id, queue, question, answer, language) "
            "SELECT $1, $2, $3, $4, q.language::regconfig FROM queues q WHERE q.name = $2 "
            "AND NOT EXISTS (SELECT 1 FROM faq_entries WHERE queue = $2 AND question = $3)",
            uuid.uuid4(), queue, question, answer)
    for canned_queue, title, text in CANNED:
        await db.execute(
            "INSERT INTO canned_messages (id, queue, title, text) SELECT $1, $2, $3, $4 "
            "WHERE NOT EXISTS (SELECT 1 FROM canned_messages WHERE queue IS NOT DISTINCT FROM $2 AND title = $3)",
            uuid.uuid4(), canned_queue, title, text)
