"""How long ``frontdesk import-mail`` takes for an mbox of a given size, first run and second run.

    python -m benchmarks.mail_import                        # 1,000 messages, throw-away PostgreSQL
    python -m benchmarks.mail_import --messages 10000
    python -m benchmarks.mail_import --database-url URL     # a database with the demo data

The mbox is written with the standard library: threads of four mails (customer, agent, customer,
agent) from 200 customers over two years, every tenth agent reply with a 20 KB PDF, every fifth
customer mail HTML-only. The command runs as users run it (a fresh process, the schema applied,
the progress bar off); the figures are its wall time and its CPU time (the command's own, without
PostgreSQL's). The first run imports everything, the second finds everything imported before and
adds nothing.
"""

from __future__ import annotations

import argparse
import mailbox
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

THREAD_MAILS = 4
CUSTOMERS = 200
PDF = b"%PDF-1.4\n" + b"0" * 20_000 + b"\n%%EOF\n"
START = datetime(2022, 1, 3, 8, 0, tzinfo=UTC)


def write_mbox(path: Path, messages: int) -> None:
    box = mailbox.mbox(path)
    for n in range(messages):
        thread, place = divmod(n, THREAD_MAILS)
        customer = f"Customer {thread % CUSTOMERS} <customer{thread % CUSTOMERS}@example.com>"
        agent = f"Agent {thread % 7} <agent{thread % 7}@shop.test>"
        by_agent = place % 2 == 1
        m = EmailMessage()
        m["From"], m["To"] = (agent, customer) if by_agent else (customer, "support@shop.test")
        m["Subject"] = ("Re: " if place else "") + f"Question {thread}"
        m["Date"] = format_datetime(START + timedelta(hours=thread * 17 + place * 3))
        m["Message-ID"] = f"<t{thread}.m{place}@bench.test>"
        if place:
            m["In-Reply-To"] = f"<t{thread}.m{place - 1}@bench.test>"
            m["References"] = " ".join(f"<t{thread}.m{p}@bench.test>" for p in range(place))
        body = f"Message {place} of thread {thread}.\n\nKind regards\n\n> earlier text\n> quoted below\n"
        if not by_agent and thread % 5 == 0:
            m.set_content(f"<p>{body}</p>", subtype="html")
        else:
            m.set_content(body)
        if by_agent and thread % 10 == 0:
            m.add_attachment(PDF, maintype="application", subtype="pdf", filename=f"invoice-{thread}.pdf")
        box.add(m)
    box.close()


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_import(url: str, data_dir: Path, mbox: Path) -> tuple[float, float, str]:
    """The command's wall time, its CPU time (user + system: what a busy host does not inflate) and
    its summary."""
    cmd = [sys.executable, "-m", "frontdesk.engine", "import-mail", "--queue", "messages",
           "--agent-domain", "shop.test", "--database-url", url, "--data-dir", str(data_dir), str(mbox)]
    cpu, started = _children_cpu_s(), time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds, cpu = time.perf_counter() - started, _children_cpu_s() - cpu
    if done.returncode != 0:
        sys.exit(f"import-mail failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return seconds, cpu, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--database-url", help="a database with the demo data [a throw-away pgserver]")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fd-mail-import-") as tmp:
        root = Path(tmp)
        mbox = root / "archive.mbox"
        write_mbox(mbox, args.messages)
        server: Any = None
        url = args.database_url
        if url is None:
            import pgserver

            server = pgserver.get_server(root / "pg", cleanup_mode="delete")
            url = str(server.get_uri())
            subprocess.run([sys.executable, "-m", "frontdesk.engine", "demo", "--database-url", url],
                           check=True, capture_output=True)
        try:
            print(f"mbox: {args.messages} messages, {mbox.stat().st_size / 1e6:.1f} MB", flush=True)
            for label in ("first run", "second run"):
                seconds, cpu, summary = run_import(url, root / "data", mbox)
                print(f"{label}: {seconds:.2f} s wall ({args.messages / seconds:,.0f} messages/s), "
                      f"{cpu:.2f} s of CPU in the command")
                print("  " + summary.strip().replace("\n", "\n  "), flush=True)
        finally:
            if server is not None:
                server.cleanup()


if __name__ == "__main__":
    main()
