"""Old mail for the import tests, written with the standard library as mail programs write it
(``email.message.EmailMessage``, ``mailbox``), and ``frontdesk import-mail`` run as a subprocess.

The archive (``write_archive``) holds three threads spread over an mbox, a Maildir (with the
agents' replies in its ``.Sent`` folder) and ``.eml`` files, and three messages to skip:

- "Order 17 missing" (mbox + .eml): Cora writes; an agent without an account (anna@shop.test)
  answers with a PDF; Cora thanks in HTML only; Cora's last mail (an .eml) has lost its
  threading headers and joins by subject.
- "Invoice" (Maildir): the staff member agent1@demo.test writes first to Erik, who answers.
- "Hello" (.eml): Fay, alone.
- skipped: a mail without Date and a mail with a From header the email package fails on (mbox),
  and an agent's mail to a colleague (Maildir .Sent), which has no customer.

This folder has no conftest.py (its module name would shadow tests/e2e/conftest.py).
"""

from __future__ import annotations

import mailbox
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import trio

T0 = datetime(2023, 3, 1, 9, 0, tzinfo=UTC)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
QUEUE = "messages"
AGENT_DOMAIN = "shop.test"
# A From header the email package raises on when it is read (no recorded defect, an exception).
BROKEN_FROM = "Test <test@[127.0.0.1>"


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def mail(sender: str, to: str, subject: str, body: str, when: datetime | None, message_id: str | None,
         reply_to: str | None = None, references: str | None = None, html: bool = False) -> EmailMessage:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = to
    m["Subject"] = subject
    if when is not None:
        m["Date"] = format_datetime(when)
    if message_id is not None:
        m["Message-ID"] = message_id
    if reply_to is not None:
        m["In-Reply-To"] = reply_to
    if references is not None:
        m["References"] = references
    m.set_content(body, subtype="html" if html else "plain")
    return m


@dataclass(frozen=True)
class Archive:
    mbox: Path
    maildir: Path
    eml: Path           # a folder of .eml files

    @property
    def paths(self) -> list[str]:
        return [str(self.mbox), str(self.maildir), str(self.eml)]


def write_archive(root: Path) -> Archive:
    root.mkdir(parents=True, exist_ok=True)
    box = mailbox.mbox(root / "support.mbox")
    box.add(mail("Cora Customer <cora@example.com>", "support@shop.test", "Order 17 missing",
                 "Where is my order 17?", at(0), "<c1@example.com>"))
    reply = mail("Anna Agent <anna@shop.test>", "Cora Customer <cora@example.com>", "Re: Order 17 missing",
                 "It ships today, the label is attached.\n\n> Where is my order 17?", at(2), "<a1@shop.test>",
                 reply_to="<c1@example.com>", references="<c1@example.com>")
    reply.add_attachment(PDF, maintype="application", subtype="pdf", filename="label.pdf")
    box.add(reply)
    box.add(mail("Dan <dan@example.org>", "support@shop.test", "Undated", "When was this?", None, "<d1@example.org>"))
    box.add(f"From: {BROKEN_FROM}\nTo: support@shop.test\nSubject: Broken\nDate: {format_datetime(at(1))}\n"
            "Message-ID: <broken@example.org>\n\nA broken sender\n".encode())
    box.add(mail("Cora Customer <cora@example.com>", "support@shop.test", "AW: Order 17 missing",
                 "<html><body><p>Thank you, <b>Anna</b>!</p><p>Cora</p></body></html>", at(3), "<c2@example.com>",
                 reply_to="<a1@shop.test>", references="<c1@example.com> <a1@shop.test>", html=True))
    box.close()

    maildir = mailbox.Maildir(root / "Maildir")
    maildir.add(mail("Erik <erik@example.net>", "agent1@demo.test", "Re: Your invoice", "Paid it, thanks.",
                     at(30), "<e1@example.net>", reply_to="<i1@demo.test>", references="<i1@demo.test>"))
    sent = maildir.add_folder("Sent")
    sent.add(mail("Agent One <agent1@demo.test>", "Erik <erik@example.net>", "Your invoice", "Invoice 5 is due.",
                  at(24), "<i1@demo.test>"))
    sent.add(mail("Agent One <agent1@demo.test>", "Anna Agent <anna@shop.test>", "Lunch?", "Noon?", at(25),
                  "<internal@demo.test>"))
    maildir.close()

    eml = root / "eml"
    eml.mkdir()
    (eml / "late-reply.eml").write_bytes(mail("Cora Customer <cora@example.com>", "support@shop.test",
                                              "Re: Order 17 missing", "It arrived.", at(48), None).as_bytes())
    (eml / "hello.eml").write_bytes(mail("Fay <fay@example.com>", "support@shop.test", "Hello",
                                         "Do you ship to Austria?", at(50), "<f1@example.com>").as_bytes())
    return Archive(root / "support.mbox", root / "Maildir", eml)


@dataclass(frozen=True)
class Run:
    status: int
    stdout: str
    stderr: str


async def import_mail(database_url: str, data_dir: Path, *paths: str, queue: str = QUEUE,
                      agent_domain: str | None = AGENT_DOMAIN) -> Run:
    """``frontdesk import-mail`` in a subprocess (the same interpreter and import path as the tests)."""
    cmd = [sys.executable, "-m", "frontdesk.engine", "import-mail", "--queue", queue,
           "--database-url", database_url, "--data-dir", str(data_dir)]
    if agent_domain is not None:
        cmd += ["--agent-domain", agent_domain]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    done = await trio.run_process([*cmd, *paths], capture_stdout=True, capture_stderr=True, check=False, env=env)
    return Run(done.returncode, done.stdout.decode(), done.stderr.decode())


def summary_line(run: Run, name: str) -> str:
    """The value of one line of the summary (``threads:``, ``messages:``, ...)."""
    for line in run.stdout.splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {name!r} in the summary:\n{run.stdout}\n{run.stderr}")
