"""FAQ suggestions (``GET /api/faq``): PostgreSQL full-text search per queue with prefix matching,
best first, at most 5; queues switch suggestions on and off; bad parameters are refused.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import trio
from conftest import Engine, Postgres, queue_settings_change

PASSWORD_ENTRY = "How do I reset my password?"


async def psql(postgres: Postgres, database_url: str, sql: str, engine: Engine | None = None) -> None:
    """Run ``sql`` in this test's own database; with ``engine``, wait until it has reloaded the
    queues' settings (FAQ entries are read per request, queue settings are pushed by NOTIFY)."""
    name = urlsplit(database_url).path.lstrip("/")
    script = f"\\set QUIET on\n\\set ON_ERROR_STOP on\n\\c {name}\n{sql}\n"
    if engine is None:
        await trio.to_thread.run_sync(postgres.psql, script)
        return
    async with queue_settings_change(engine):
        await trio.to_thread.run_sync(postgres.psql, script)


async def faq(engine: Engine, **params: str) -> httpx.Response:
    async with engine.http() as http:
        return await http.get("/api/faq", params=params)


async def results(engine: Engine, queue: str, q: str) -> list[dict[str, Any]]:
    r = await faq(engine, queue=queue, q=q)
    assert r.status_code == 200, r.text
    found = list(r.json()["results"])
    for entry in found:
        assert set(entry) == {"id", "question", "answer", "score"}
        uuid.UUID(entry["id"])
        assert isinstance(entry["score"], float) and entry["score"] > 0
    scores = [e["score"] for e in found]
    assert scores == sorted(scores, reverse=True), "best first"
    return found


@pytest.mark.parametrize("q", ["reset my passw", "How do I reset my password?", "passw", "RESET PASSWORD",
                               "forgot my password, how to reset it"])
async def test_password_question_finds_the_password_entry_first(engine: Engine, q: str) -> None:
    found = await results(engine, "support", q)
    assert found and found[0]["question"] == PASSWORD_ENTRY
    assert "Forgot password" in found[0]["answer"]


async def test_half_typed_words_match_as_prefixes(engine: Engine) -> None:
    assert [e["question"] for e in await results(engine, "support", "deliv")] == [
        "How can I change my delivery address?"]
    assert [e["question"] for e in await results(engine, "support", "paym")] == [
        "Which payment methods do you accept?"]


async def test_any_word_may_match_and_the_entry_matching_more_ranks_higher(engine: Engine) -> None:
    found = await results(engine, "support", "reset my password")
    assert found[0]["question"] == PASSWORD_ENTRY
    assert all(e["score"] < found[0]["score"] for e in found[1:])
    both = [e["question"] for e in await results(engine, "support", "reset password or change delivery address")]
    assert set(both[:2]) == {PASSWORD_ENTRY, "How can I change my delivery address?"}


@pytest.mark.parametrize("q", ["weather forecast tomorrow", "zebra quantum xylophone"])
async def test_unrelated_text_finds_nothing(engine: Engine, q: str) -> None:
    assert await results(engine, "support", q) == []


async def test_unrelated_word_ranks_below_the_matching_one(engine: Engine) -> None:
    assert [e["question"] for e in await results(engine, "support", "zebra password")][:1] == [PASSWORD_ENTRY]


@pytest.mark.parametrize("q", ["", "   ", "?!.,", "the a of"])
async def test_empty_or_wordless_query_gives_no_results(engine: Engine, q: str) -> None:
    assert await results(engine, "support", q) == []


async def test_missing_q_gives_no_results(engine: Engine) -> None:
    r = await faq(engine, queue="support")
    assert r.status_code == 200 and r.json() == {"results": []}


@pytest.mark.parametrize("q", ["passw:* & !", "reset') OR 1=1 --", "pass<->word | (", "\\ passw"])
async def test_search_syntax_in_the_query_is_plain_text(engine: Engine, q: str) -> None:
    found = await results(engine, "support", q)
    assert any(e["question"] == PASSWORD_ENTRY for e in found) or found == []


async def test_queue_with_suggestions_off_returns_no_results(engine: Engine, postgres: Postgres,
                                                             database_url: str) -> None:
    async with engine.http() as http:
        assert (await http.get("/api/queues/sales")).json()["faq_suggestions"] is False
    await psql(postgres, database_url,
               "INSERT INTO faq_entries (id, queue, question, answer) VALUES "
               f"('{uuid.uuid4()}', 'sales', 'How do I reset my password?', 'Ask sales.');")
    assert await results(engine, "sales", "reset my passw") == []
    await psql(postgres, database_url, "UPDATE queues SET faq_suggestions = false WHERE name = 'support';", engine)
    assert await results(engine, "support", "reset my passw") == []
    await psql(postgres, database_url, "UPDATE queues SET faq_suggestions = true WHERE name = 'sales';", engine)
    assert [e["answer"] for e in await results(engine, "sales", "reset my passw")] == ["Ask sales."]


async def test_entries_of_other_queues_are_not_suggested(engine: Engine, postgres: Postgres,
                                                         database_url: str) -> None:
    await psql(postgres, database_url,
               "UPDATE queues SET faq_suggestions = true WHERE name = 'sales';"
               "INSERT INTO faq_entries (id, queue, question, answer) VALUES "
               f"('{uuid.uuid4()}', 'sales', 'Do you offer volume discounts?', 'Yes, from 10 seats.');", engine)
    assert [e["question"] for e in await results(engine, "sales", "password discount")] == [
        "Do you offer volume discounts?"]
    assert await results(engine, "support", "discount") == []


async def test_at_most_five_results(engine: Engine, postgres: Postgres, database_url: str) -> None:
    values = ", ".join(f"('{uuid.uuid4()}', 'support', 'Password question number {n}', 'Answer {n}')"
                       for n in range(7))
    await psql(postgres, database_url, f"INSERT INTO faq_entries (id, queue, question, answer) VALUES {values};")
    assert len(await results(engine, "support", "password")) == 5


async def test_queue_language_picks_the_stemmer(engine: Engine, postgres: Postgres, database_url: str) -> None:
    await psql(postgres, database_url,
               "UPDATE queues SET language = 'german', faq_suggestions = true WHERE name = 'sales';"
               "INSERT INTO faq_entries (id, queue, question, answer, language) VALUES "
               f"('{uuid.uuid4()}', 'sales', 'Wie ändere ich mein Passwort?', 'Unter Konto > Sicherheit.', "
               "'german');", engine)
    found = await results(engine, "sales", "Passwörter ändern")
    assert [e["question"] for e in found] == ["Wie ändere ich mein Passwort?"]


# ---- bad parameters --------------------------------------------------------------------------

@pytest.mark.parametrize("params", [{"q": "password"}, {"queue": "", "q": "password"}])
async def test_missing_queue_is_422_missing_field(engine: Engine, params: dict[str, str]) -> None:
    r = await faq(engine, **params)
    assert r.status_code == 422, r.text
    assert (r.json()["error"]["code"], r.json()["error"]["field"]) == ("missing_field", "queue")


async def test_unknown_queue_is_404(engine: Engine) -> None:
    r = await faq(engine, queue="no-such-queue", q="password")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


async def test_overlong_query_is_422(engine: Engine) -> None:
    r = await faq(engine, queue="support", q="password " * 100)
    assert r.status_code == 422, r.text
    assert (r.json()["error"]["code"], r.json()["error"]["field"]) == ("invalid_value", "q")
