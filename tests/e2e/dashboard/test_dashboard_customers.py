"""Customers page: search by name, e-mail, mobile or external id; a customer's record and their
conversations, newest activity first; every customer string shown as text."""

from __future__ import annotations

import pandas as pd
from dashkit import Seed, dashboard_env_fixture, seed_fixture, signed_in, texts, widget  # noqa: F401  (fixtures)
from streamlit.testing.v1 import AppTest


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
