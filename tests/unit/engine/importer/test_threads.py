"""Threads of imported mail (``importer/threads.py``): joined by Message-ID, In-Reply-To and
References, else by normalised subject and customer; the customer is the party who is no agent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from frontdesk.engine.importer.model import Mail, Party
from frontdesk.engine.importer.threads import NO_CUSTOMER, agent_rule, normalise_subject, thread_mails

T0 = datetime(2023, 3, 1, 9, 0, tzinfo=UTC)
CORA = Party("Cora Customer", "cora@example.com")
DAN = Party("Dan", "dan@example.org")
AGENT = Party("Agent One", "agent1@shop.test")
is_agent = agent_rule(["shop.test"], set())


def mail(n: int, sender: Party = CORA, *, subject: str = "Order 17", parents: tuple[str, ...] = (),
         to: tuple[Party, ...] = (), hours: float = 0, message_id: str | None = "") -> Mail:
    mid = f"<m{n}@test>" if message_id == "" else message_id
    return Mail(source_id=mid or f"sha256:{n}", message_id=mid, parents=parents, subject=subject, sender=sender,
                recipients=to, date=T0 + timedelta(hours=hours), text=f"text {n}", attachments=(),
                origin=f"box:{n}", order=n)


def ids(thread_mails_: tuple[Mail, ...]) -> list[int]:
    return [m.order for m in thread_mails_]


def test_replies_join_their_thread_by_in_reply_to_and_references() -> None:
    mails = [mail(1), mail(2, AGENT, parents=("<m1@test>",), hours=1),
             mail(3, parents=("<m2@test>", "<m1@test>"), hours=2), mail(4, DAN, subject="Invoice", hours=3)]
    threads, skipped = thread_mails(mails, is_agent)
    assert [ids(t.mails) for t in threads] == [[1, 2, 3], [4]]
    assert [t.customer for t in threads] == [CORA, DAN]
    assert skipped == []


def test_two_replies_to_a_first_mail_that_is_missing_are_one_thread() -> None:
    mails = [mail(1, AGENT, parents=("<lost@test>",), to=(CORA,)), mail(2, parents=("<lost@test>",), hours=1)]
    threads, _ = thread_mails(mails, is_agent)
    assert [ids(t.mails) for t in threads] == [[1, 2]]


def test_a_reply_without_threading_headers_joins_by_normalised_subject_and_customer() -> None:
    mails = [mail(1, subject="Order 17"), mail(2, AGENT, subject="Re: Order 17", parents=("<m1@test>",),
                                              to=(CORA,), hours=1),
             mail(3, subject="AW: WG:  order 17", hours=2, message_id=None)]
    threads, _ = thread_mails(mails, is_agent)
    assert [ids(t.mails) for t in threads] == [[1, 2, 3]]


def test_the_same_subject_from_two_customers_is_two_threads() -> None:
    threads, _ = thread_mails([mail(1, subject="Help"), mail(2, DAN, subject="Re: Help", hours=1)], is_agent)
    assert [t.customer for t in threads] == [CORA, DAN]


def test_mails_without_subject_or_threading_headers_stay_apart() -> None:
    threads, _ = thread_mails([mail(1, subject=""), mail(2, subject="Re:", hours=1)], is_agent)
    assert [ids(t.mails) for t in threads] == [[1], [2]]


def test_a_thread_is_in_date_order_and_threads_in_order_of_their_first_mail() -> None:
    mails = [mail(1, DAN, subject="Later", hours=5), mail(2, subject="Earlier", parents=("<m3@test>",), hours=2),
             mail(3, AGENT, subject="Earlier", to=(CORA,), hours=1)]
    threads, _ = thread_mails(mails, is_agent)
    assert [ids(t.mails) for t in threads] == [[3, 2], [1]]


def test_when_the_business_wrote_first_the_customer_is_its_recipient() -> None:
    threads, _ = thread_mails([mail(1, AGENT, to=(Party("", "agent2@shop.test"), CORA))], is_agent)
    assert threads[0].customer == CORA


def test_the_customer_is_the_first_sender_who_is_no_agent_even_after_an_agent_wrote() -> None:
    mails = [mail(1, AGENT, to=(DAN,)), mail(2, CORA, parents=("<m1@test>",), hours=1)]
    threads, _ = thread_mails(mails, is_agent)
    assert threads[0].customer == CORA


def test_a_thread_among_agents_only_is_skipped_with_its_reason() -> None:
    colleague = Party("Agent Two", "agent2@shop.test")
    threads, skipped = thread_mails([mail(1, AGENT, to=(colleague,))], is_agent)
    assert threads == []
    assert [(s.origin, s.reason, s.message_id) for s in skipped] == [("box:1", NO_CUSTOMER, "<m1@test>")]


@pytest.mark.parametrize(("subject", "normal"), [
    ("Re: Order 17", "order 17"),
    ("RE: re: Order 17", "order 17"),
    ("AW: WG: Order 17", "order 17"),
    ("Fwd: Fw: Order 17", "order 17"),
    ("Re[2]: Order 17", "order 17"),
    ("SV: Antw: Order   17 ", "order 17"),
    ("Order 17: Re: delivery", "order 17: re: delivery"),
    ("Reply needed", "reply needed"),
    ("[Ticket #4] Re: Order", "[ticket #4] re: order"),
])
def test_normalised_subjects_lose_reply_and_forward_prefixes_only(subject: str, normal: str) -> None:
    assert normalise_subject(subject) == normal


def test_agents_are_addresses_of_the_agent_domain_its_subdomains_and_staff() -> None:
    rule = agent_rule(["@Shop.Test"], {"boss@elsewhere.test"})
    assert rule("anna@shop.test") and rule("anna@mail.shop.test") and rule("boss@elsewhere.test")
    assert not rule("cora@example.com") and not rule("eve@notshop.test")


def test_without_an_agent_domain_only_staff_are_agents() -> None:
    rule = agent_rule([], {"agent1@demo.test"})
    assert rule("agent1@demo.test") and not rule("agent9@demo.test")
