"""What supervisors did inside live chats, on the dashboard: each action in the conversation's
transcript with who did it, the live overview's link to the console's supervisor mode, and a
queue with waiting customers and nobody available highlighted."""

from __future__ import annotations

from dashkit import Seed, dashboard_env_fixture, seed_fixture, signed_in, texts  # noqa: F401  (fixtures)


def test_the_transcript_shows_every_supervisor_action_with_who_did_it(dashboard_env: Seed) -> None:
    seed = dashboard_env
    sup, a2 = seed.staff["supervisor@demo.test"], seed.staff["agent2@demo.test"]
    for minutes, action, agent in ((50, "monitor", None), (49, "join", None), (48, "take_over", None),
                                   (47, "reassign", a2)):
        seed.sql("INSERT INTO supervisor_actions (supervisor_id, action, conversation_id, agent_id, at) "
                 "VALUES (%s, %s, %s, %s, now() - make_interval(mins => %s))", sup, action, seed.c_active, agent,
                 minutes)
    at = signed_in(seed, "conversations.py", conversation=seed.c_active)
    page = texts(at)
    lines = ["Supervisor Supervisor started watching (nobody was told)", "Supervisor Supervisor joined the chat",
             "Supervisor Supervisor took the chat over", "Supervisor Supervisor reassigned the chat to Agent Two"]
    for line in lines:
        assert line in page, line
    order = [page.index(line) for line in ["Do you sell gift cards?", *lines]]
    assert order == sorted(order)


def test_the_overview_links_the_console_and_highlights_a_queue_nobody_serves(dashboard_env: Seed) -> None:
    seed = dashboard_env
    at = signed_in(seed)
    [link] = at.get("link_button")
    assert link.proto.url.endswith("/agent?role=supervisor")
    assert not at.warning
    # support: Quentin waits, and its available members (agent1, agent3) go away; sales has nobody waiting
    seed.sql("UPDATE agent_status SET presence = 'away' WHERE agent_id = ANY(%s::uuid[])",
             [seed.staff["agent1@demo.test"], seed.staff["agent3@demo.test"]])
    at = signed_in(seed)
    assert [w.value for w in at.warning] == [
        "Queue support: 1 customer waiting and nobody available. Set an agent available or reassign the chats "
        "in the supervisor console."]
    queues = at.dataframe[0].value.set_index("Queue")
    assert queues.loc["support", "Attention"] == "⚠ waiting, nobody available"
    assert queues.loc["sales", "Attention"] == ""
