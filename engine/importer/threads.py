"""Mails grouped into threads, each with its customer. Pure: no I/O.

Mails are joined when one names the other in In-Reply-To or References, or both name the same
mail (which need not be among them: two replies to a lost first mail are one thread). A mail
that names none (a first mail, or a reply whose program dropped those headers) is joined by its
normalised subject (``Re:``, ``AW:``, ``Fwd:``, ``WG:`` and their kin taken off) and its customer's
address; mails without a subject are not joined that way, since an empty subject says nothing.

The customer is the party who is not an agent (``agent_rule``): the sender of the thread's first mail not written
by an agent, or, when agents wrote every mail, the first recipient who is not one. A thread
without such a party has no customer, and its mails are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Sequence

from frontdesk.engine.importer.model import Mail, Party, Skipped, Thread

NO_CUSTOMER = "no customer: every address in its thread is an agent's"

# Reply and forward prefixes of the common mail programs and languages, with counters ("Re[2]:").
_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|antw|antwort|sv|vs|vl|ref|odp|ynt|rif|fw|fwd|wg|tr|enc|rv|doorst)"
    r"\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*)+", re.IGNORECASE)
_SPACES = re.compile(r"\s+")

IsAgent = Callable[[str], bool]     # lowercased address -> whether an agent wrote from it


def agent_rule(domains: Iterable[str], staff_addresses: Collection[str]) -> IsAgent:
    """Who is an agent: an address in one of ``domains`` (or a subdomain of one: mail often comes
    from ``mail.example.com`` for ``example.com``), or the address of a staff member."""
    wanted = tuple({d.strip().lstrip("@").rstrip(".").lower() for d in domains if d.strip()})

    def is_agent(address: str) -> bool:
        if address in staff_addresses:
            return True
        domain = address.rpartition("@")[2]
        return any(domain == d or domain.endswith("." + d) for d in wanted)

    return is_agent


def normalise_subject(subject: str) -> str:
    """The subject without reply and forward prefixes, spaces collapsed, case folded."""
    return _SPACES.sub(" ", _PREFIX.sub("", subject)).strip().casefold()


def customer_of_mail(mail: Mail, is_agent: IsAgent) -> Party | None:
    """The party of one mail who is not an agent: its sender, else its first such recipient."""
    if not is_agent(mail.sender.key):
        return mail.sender
    return next((p for p in mail.recipients if not is_agent(p.key)), None)


def thread_mails(mails: Sequence[Mail], is_agent: IsAgent) -> tuple[list[Thread], list[Skipped]]:
    """The threads of ``mails`` (each in date order; threads by their first date), and the mails
    skipped because their thread has no customer."""
    groups = _group(mails, is_agent)
    threads: list[Thread] = []
    skipped: list[Skipped] = []
    for members in groups:
        ordered = tuple(sorted(members, key=lambda m: (m.date, m.order)))
        customer = _customer(ordered, is_agent)
        if customer is None:
            skipped.extend(Skipped(m.origin, NO_CUSTOMER, m.message_id) for m in ordered)
        else:
            threads.append(Thread(customer, ordered))
    threads.sort(key=lambda t: (t.mails[0].date, t.mails[0].order))
    return threads, skipped


def _customer(mails: Iterable[Mail], is_agent: IsAgent) -> Party | None:
    ordered = list(mails)
    for m in ordered:
        if not is_agent(m.sender.key):
            return m.sender
    for m in ordered:
        found = customer_of_mail(m, is_agent)
        if found is not None:
            return found
    return None


def _group(mails: Sequence[Mail], is_agent: IsAgent) -> list[list[Mail]]:
    """Union-find over the mails: each key (a Message-ID, or a subject with its customer) joins
    every mail that carries it."""
    parent = list(range(len(mails)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    holder: dict[str, int] = {}
    for i, mail in enumerate(mails):
        keys = [f"id {k}" for k in (mail.message_id, *mail.parents) if k]
        if not mail.parents:
            subject = normalise_subject(mail.subject)
            customer = customer_of_mail(mail, is_agent)
            if subject and customer is not None:
                keys.append(f"subject {customer.key} {subject}")
        for key in keys:
            j = holder.setdefault(key, i)
            a, b = root(i), root(j)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[int, list[Mail]] = {}
    for i, mail in enumerate(mails):
        groups.setdefault(root(i), []).append(mail)
    return list(groups.values())
