"""Customer records for staff on a real engine (PROTOCOL.md §6): create (supervisors), unique e-mail,
mobile and external id, values that could reach a mail refused, the external id that never changes,
and finding customers page by page."""

from __future__ import annotations

from typing import Any

import httpx
from accountkit import bearer, create_customer, supervisor_token
from conftest import Engine, agent


async def post(engine: Engine, token: str, body: dict[str, Any]) -> httpx.Response:
    async with engine.http() as http:
        return await http.post("/api/customers", headers=bearer(token), json=body)


async def test_a_supervisor_creates_a_customer(engine: Engine) -> None:
    token = await supervisor_token(engine)
    r = await post(engine, token, {"name": "Cora Customer", "email": "Cora@Example.COM", "mobile": "+4915112345678",
                                   "external_id": "K-1001", "language": "de"})
    assert r.status_code == 201, r.text
    cora = r.json()
    assert {k: cora[k] for k in ("name", "email", "mobile", "external_id", "language", "activated_at")} == \
        {"name": "Cora Customer", "email": "Cora@example.com", "mobile": "+4915112345678", "external_id": "K-1001",
         "language": "de", "activated_at": None}
    assert cora["created_at"].endswith("Z")
    async with engine.http() as http:
        r = await http.get(f"/api/customers/{cora['id']}", headers=bearer(token))
    assert r.status_code == 200 and r.json() == cora


async def test_agents_may_find_customers_but_not_create_them(engine: Engine) -> None:
    agent = (await engine.login("agent1@demo.test"))["token"]
    r = await post(engine, agent, {"name": "Cora", "email": "cora@example.com"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    async with engine.http() as http:
        assert (await http.post("/api/customers", json={"name": "Cora", "email": "cora@example.com"})).status_code \
            == 401
        assert (await http.get("/api/customers", headers=bearer(agent))).status_code == 200


async def test_email_mobile_and_external_id_are_each_unique(engine: Engine) -> None:
    token = await supervisor_token(engine)
    await create_customer(engine, token, name="Cora", email="cora@example.com", mobile="+4915112345678",
                          external_id="K-1001")
    for body, field in (({"email": "CORA@example.com"}, "email"),
                        ({"email": "other@example.com", "mobile": "+4915112345678"}, "mobile"),
                        ({"email": "other@example.com", "external_id": "K-1001"}, "external_id")):
        r = await post(engine, token, {"name": "Other", **body})
        assert r.status_code == 409, r.text
        assert (r.json()["error"]["code"], r.json()["error"]["field"]) == ("duplicate", field)


async def test_a_customer_who_chatted_has_a_record_that_staff_find_and_complete(engine: Engine) -> None:
    token = await supervisor_token(engine)
    async with agent(engine, 1):
        await engine.start_chat(name="Cora Customer", email="cora@example.com")
    r = await post(engine, token, {"name": "Cora", "email": "Cora@example.com"})
    assert r.status_code == 409 and r.json()["error"]["field"] == "email"
    async with engine.http() as http:
        r = await http.get("/api/customers", headers=bearer(token), params={"q": "cora@"})
        (cora,) = r.json()["customers"]
        assert cora["name"] == "Cora Customer" and cora["mobile"] is None
        r = await http.patch(f"/api/customers/{cora['id']}", headers=bearer(token), json={"mobile": "+4915112345678"})
        assert r.status_code == 200 and r.json()["mobile"] == "+4915112345678"


async def test_malformed_mobiles_and_control_characters_are_422_naming_the_field(engine: Engine) -> None:
    token = await supervisor_token(engine)
    for body, field in (({"mobile": "0151 1234 5678"}, "mobile"), ({"mobile": "+49"}, "mobile"),
                        ({"name": "Cora\r\nBcc: x@evil.test"}, "name"), ({"name": "Cora\x00"}, "name"),
                        ({"external_id": "K-1\n"}, "external_id"), ({"email": "c@example.com\r\n"}, "email"),
                        ({"language": "de\n"}, "language")):
        r = await post(engine, token, {"name": "Cora", "email": "cora@example.com", **body})
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["field"] == field


async def test_an_external_id_once_set_never_changes(engine: Engine) -> None:
    token = await supervisor_token(engine)
    cora = await create_customer(engine, token, name="Cora", email="cora@example.com")
    await create_customer(engine, token, name="Otto", email="otto@example.com", external_id="K-2",
                          mobile="+4917012345678")
    async with engine.http() as http:
        path, auth = f"/api/customers/{cora['id']}", bearer(token)
        r = await http.patch(path, headers=auth, json={"external_id": "K-2"})
        assert r.status_code == 409 and r.json()["error"] == {
            "code": "duplicate", "message": "another customer has this external id", "field": "external_id"}
        r = await http.patch(path, headers=auth, json={"external_id": "K-1", "mobile": "+4915112345678"})
        assert r.status_code == 200 and (r.json()["external_id"], r.json()["mobile"]) == ("K-1", "+4915112345678")
        for changed in ("K-9", None):
            r = await http.patch(path, headers=auth, json={"external_id": changed})
            assert r.status_code == 409
            assert (r.json()["error"]["code"], r.json()["error"]["field"]) == ("immutable", "external_id")
        r = await http.patch(path, headers=auth, json={"external_id": "K-1", "name": "Cora C.", "mobile": None})
        assert r.status_code == 200 and (r.json()["name"], r.json()["mobile"]) == ("Cora C.", None)
        r = await http.patch(path, headers=auth, json={"mobile": "+4917012345678"})
        assert r.status_code == 409 and r.json()["error"]["field"] == "mobile"
        r = await http.patch(path, headers=auth, json={"email": "new@example.com"})
        assert r.status_code == 422 and r.json()["error"]["field"] == "email"
        r = await http.patch("/api/customers/00000000-0000-0000-0000-000000000000", headers=auth, json={"name": "X"})
        assert r.status_code == 404
        agent = (await engine.login("agent1@demo.test"))["token"]
        assert (await http.patch(path, headers=bearer(agent), json={"name": "X"})).status_code == 403


async def test_customers_are_found_by_name_email_mobile_or_external_id_page_by_page(engine: Engine) -> None:
    token = await supervisor_token(engine)
    for n, name in enumerate(["Anna Meyer", "Bernd Meyer", "Carla Meier", "Dieter Schulz"]):
        await create_customer(engine, token, name=name, email=f"c{n}@example.com", mobile=f"+49151000000{n}",
                              external_id=f"EXT-{n}")

    async def found(**params: str) -> tuple[list[str], str | None]:
        async with engine.http() as http:
            r = await http.get("/api/customers", headers=bearer(token), params=params)
        assert r.status_code == 200, r.text
        return [c["name"] for c in r.json()["customers"]], r.json()["next_cursor"]

    assert (await found(q="meyer"))[0] == ["Anna Meyer", "Bernd Meyer"]
    assert (await found(q="C2@EXAMPLE"))[0] == ["Carla Meier"]
    assert (await found(q="+49 151 0000003"))[0] == ["Dieter Schulz"]
    assert (await found(q="ext-1"))[0] == ["Bernd Meyer"]
    assert (await found(q="%"))[0] == [] and (await found(q="_"))[0] == []     # wildcards are text
    page, cursor = await found(limit="3")
    assert page == ["Anna Meyer", "Bernd Meyer", "Carla Meier"] and cursor is not None
    page, cursor = await found(limit="3", cursor=cursor)
    assert page == ["Dieter Schulz"] and cursor is None
    async with engine.http() as http:
        for params, field in (({"limit": "0"}, "limit"), ({"cursor": "nonsense"}, "cursor"), ({"q": "a\x00"}, "q")):
            r = await http.get("/api/customers", headers=bearer(token), params=params)
            assert r.status_code == 422 and r.json()["error"]["field"] == field
        assert (await http.get("/api/customers")).status_code == 401
