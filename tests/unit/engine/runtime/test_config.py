"""The settings of customers' accounts in engine/runtime/config.py: the public address of links, the
SMS gateway, the codes' lifetimes and the throttles' limits, read from the environment."""

from __future__ import annotations

import pytest

from frontdesk.engine.runtime.config import Config, Limit


def test_links_use_the_public_url_or_else_the_address_the_engine_binds() -> None:
    assert Config.from_env({"FRONTDESK_PUBLIC_URL": "https://help.example.com/"}).link_base == \
        "https://help.example.com"
    assert Config.from_env({"FRONTDESK_HOST": "10.0.0.5", "FRONTDESK_PORT": "9000"}).link_base == \
        "http://10.0.0.5:9000"
    assert Config(host="::1", port=8080).link_base == "http://[::1]:8080"


@pytest.mark.parametrize("name", ["FRONTDESK_PUBLIC_URL", "FRONTDESK_SMS_URL"])
@pytest.mark.parametrize("value", ["help.example.com", "ftp://help.example.com", "https://", "https://h/?a=1",
                                   "https://h/#x", "https://h:port/"])
def test_a_url_that_is_no_http_address_stops_the_engine_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        Config.from_env({name: value})


def test_the_sms_gateway_and_the_codes_lifetimes_come_from_the_environment() -> None:
    config = Config.from_env({"FRONTDESK_SMS_URL": "http://127.0.0.1:9999/sms", "FRONTDESK_CODE_TTL_S": "60",
                              "FRONTDESK_ACTIVATION_CODE_TTL_S": "3600"})
    assert (config.sms_url, config.code_ttl_s, config.activation_code_ttl_s) == \
        ("http://127.0.0.1:9999/sms", 60, 3600)
    defaults = Config.from_env({})
    assert (defaults.sms_url, defaults.code_ttl_s, defaults.activation_code_ttl_s) == (None, 600, 72 * 3600)
    with pytest.raises(ValueError, match="FRONTDESK_CODE_TTL_S"):
        Config.from_env({"FRONTDESK_CODE_TTL_S": "0"})


def test_the_accounts_limits_are_set_like_every_limit() -> None:
    config = Config.from_env({"FRONTDESK_LIMIT_CODE_REQUESTS_PER_EMAIL": "3/600",
                              "FRONTDESK_LIMIT_CUSTOMER_SIGNIN_FAILURES": "4/60",
                              "FRONTDESK_LIMIT_CUSTOMER_SIGNIN_FAILURES_PER_ADDRESS": "20/60"})
    assert config.limit_code_requests_per_email == Limit(3, 600)
    assert config.limit_customer_signin_failures == Limit(4, 60)
    assert config.limit_customer_signin_failures_per_address == Limit(20, 60)
