"""Customers page: search by name, e-mail, mobile or external id; a customer's record and their
conversations, newest activity first; creating and activating a customer through a real engine's
API as the signed-in supervisor."""

from __future__ import annotations

import pandas as pd
from dashkit import (  # noqa: F401  (fixtures)
    Seed,
    dashboard_env_fixture,
    engine_for_dashboard_fixture,
    seed_fixture,
    signed_in,
    texts,
    widget,
)
from streamlit.testing.v1 import AppTest

from frontdesk.dashboard import customers, engine_api
from tests.qr_reading import read_qr


def names(at: AppTest) -> list[str]:
    if not at.dataframe:
        return []
    table: pd.DataFrame = at.dataframe[0].value
    return sorted(table["Name"])


def test_search_finds_customers_by_each_identifier_and_shows_their_conversations(dashboard_env: Seed) -> None:
    dashboard_env.sql("UPDATE customers SET mobile = '+4915112345678', external_id = 'CRM-77' "
                      "WHERE email = 'sam@example.com'")
    at = signed_in(dashboard_env, "customers.py")
    assert names(at) == ["Quentin Queue", "Sam Shopper", "Vera Verified"]   # one per conversation's e-mail
    for query in ("sam", "SAM@EXAMPLE", "+49151", "crm-77", "example.com"):
        widget(at.text_input, "cust_text").input(query).run()
        assert "Sam Shopper" in names(at), query
    widget(at.text_input, "cust_text").input("nobody-here").run()
    assert names(at) == [] and "No customer matches." in texts(at)

    (sam,) = dashboard_env.sql("SELECT id FROM customers WHERE email = 'sam@example.com'")
    at = signed_in(dashboard_env, None, customer=str(sam[0]))
    at.switch_page("customers.py").run()
    assert not at.exception, [e.message for e in at.exception]
    shown_text = texts(at)
    assert "Sam Shopper" in shown_text and "+4915112345678" in shown_text and "CRM-77" in shown_text
    table: pd.DataFrame = at.dataframe[0].value
    assert list(table["Queue"]) == ["sales"] and list(table["Status"]) == ["open"]
    assert list(table["Agent"]) == ["Agent Three"]


def test_a_supervisor_creates_a_customer_and_activates_them_through_the_engine(
        dashboard_env: Seed, engine_for_dashboard: str) -> None:
    at = signed_in(dashboard_env, "customers.py")
    widget(at.text_input, "nc_name").input("Nina Neu")
    widget(at.text_input, "nc_email").input("nina@example.com")
    widget(at.text_input, "nc_mobile").input("+4915112345679")
    at.button[[b.label for b in at.button].index("Create")].click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert "Customer Nina Neu created." in texts(at)
    assert dashboard_env.sql("SELECT mobile FROM customers WHERE email = 'nina@example.com'") == [("+4915112345679",)]
    # the same mobile again is refused, naming the field
    at = signed_in(dashboard_env, "customers.py")
    widget(at.text_input, "nc_name").input("Nina Zwei")
    widget(at.text_input, "nc_email").input("nina2@example.com")
    widget(at.text_input, "nc_mobile").input("+4915112345679")
    at.button[[b.label for b in at.button].index("Create")].click().run()
    assert "Mobile: another customer has this already." in texts(at)

    (nina,) = dashboard_env.sql("SELECT id FROM customers WHERE email = 'nina@example.com'")
    at = signed_in(dashboard_env, None, customer=str(nina[0]))
    at.switch_page("customers.py").run()
    at.button(key="activate_open").click().run()           # the confirmation dialog
    assert "a one-time code by SMS to +4915112345679" in texts(at)
    assert [b.label for b in at.button if b.key in ("activate_send", "activate_cancel")] == ["Send", "Cancel"]
    # what its Send does (AppTest does not rerun a dialog's fragment, a browser does)
    supervisor = dashboard_env.staff["supervisor@demo.test"]
    answer = engine_api.call(supervisor, "POST", f"/api/customers/{nina[0]}/activate")
    assert answer.status == 202 and answer.body["code_sent_by"] == "sms"
    assert dashboard_env.sql("SELECT count(*) FROM sms_outbox WHERE recipient = '+4915112345679'") == [(1,)]
    # none of the calls' one-minute tokens is left behind; the sessions' own (an hour and more) stay
    assert dashboard_env.sql("SELECT count(*) FROM tokens WHERE kind = 'supervisor' "
                             "AND expires_at < now() + interval '10 minutes'") == [(0,)]


def test_after_an_activation_the_record_shows_the_setup_instructions_with_the_sign_in_link(
        dashboard_env: Seed) -> None:
    (sam,) = dashboard_env.sql("SELECT id FROM customers WHERE email = 'sam@example.com'")
    at = signed_in(dashboard_env, None, customer=str(sam[0]))
    at.switch_page("customers.py").run()
    assert "Setup instructions for the customer's phone" not in [e.label for e in at.expander]
    link = "https://help.example.com/account?lang=en#email=sam@example.com"
    at.session_state[customers.SETUP_KEY] = {"customer": str(sam[0]), "link": link}   # as the dialog's 202 leaves it
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert "Setup instructions for the customer's phone" in [e.label for e in at.expander]
    assert [c.value for c in at.code] == [link]
    assert "Scan this QR code" in texts(at) and "sam@example.com" in texts(at)
    assert read_qr(customers.qr_png(link)) == [link]


def test_the_setup_instructions_belong_to_the_customer_activated(dashboard_env: Seed) -> None:
    (sam,) = dashboard_env.sql("SELECT id FROM customers WHERE email = 'sam@example.com'")
    at = signed_in(dashboard_env, None, customer=str(sam[0]))
    at.session_state[customers.SETUP_KEY] = {"customer": "another", "link": "https://help.example.com/account"}
    at.switch_page("customers.py").run()
    assert len(at.code) == 0 and "Scan this QR code" not in texts(at)
