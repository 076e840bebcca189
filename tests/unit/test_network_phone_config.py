"""IP ranges, client addresses, msisdn parsing and names, settings from the environment."""

from typing import Any

import pytest

from smsaccounts.config import Settings
from smsaccounts.domain.network import client_address, ip_allowed, normalize_ranges, parse_ranges
from smsaccounts.domain.phone import (
    PhoneError,
    canonical_digits,
    msisdn_name,
    name_allowed,
    parse_msisdn,
)

PROXIES = parse_ranges("10.0.0.0/24, 2001:db8::1")


def test_an_empty_range_allows_any_address() -> None:
    assert ip_allowed("", "203.0.113.9")
    assert ip_allowed("  ", None)


def test_addresses_and_cidrs_match_and_others_do_not() -> None:
    ranges = "10.0.0.0/8, 192.168.1.7,2001:db8::/32"
    assert ip_allowed(ranges, "10.20.30.40")
    assert ip_allowed(ranges, "192.168.1.7")
    assert ip_allowed(ranges, "2001:db8::1")
    assert not ip_allowed(ranges, "192.168.1.8")
    assert not ip_allowed(ranges, None)
    assert not ip_allowed(ranges, "testclient")


def test_bad_ranges_are_refused_naming_the_entry() -> None:
    with pytest.raises(ValueError, match=r"10\.0\.0\.300"):
        parse_ranges("10.0.0.1,10.0.0.300")
    assert normalize_ranges(" 10.0.0.1 ,, 10.1.0.0/16 ") == "10.0.0.1,10.1.0.0/16"


@pytest.mark.parametrize("raw", [436761234567, "436761234567", "+436761234567", " +436761234567"])
def test_msisdns_are_accepted_as_numbers_or_strings_with_or_without_plus(raw: object) -> None:
    number = parse_msisdn(raw)
    assert (number.digits, number.country, number.valid) == ("436761234567", "AT", True)


def test_a_number_with_a_known_calling_code_but_invalid_for_its_country_is_flagged() -> None:
    number = parse_msisdn("4300000000")
    assert (number.country, number.valid) == ("AT", False)


FULLWIDTH = "\uff14\uff13\uff16\uff17\uff16\uff11\uff12\uff13\uff14\uff15\uff16\uff17"
ARABIC_INDIC = "\u0664\u0663\u0666\u0667\u0666\u0661\u0662\u0663\u0664\u0665\u0666\u0667"


@pytest.mark.parametrize(
    "raw",
    ["", "abc", "+", "12", None, True, 4.5, "43 676 1234567", "43-676-1234567", "++436761234567",
     FULLWIDTH, "+" + ARABIC_INDIC, "43676123456\u0667", "\u3000436761234567"],
)  # fmt: skip
def test_non_msisdns_are_refused(raw: object) -> None:
    """Only ASCII digits (after an optional '+'): libphonenumber would read the others."""
    with pytest.raises(PhoneError):
        parse_msisdn(raw)


@pytest.mark.parametrize("raw", ["+4306761234567", "4306761234567"])
def test_an_msisdn_is_read_as_its_canonical_e164_digits(raw: str) -> None:
    """The national prefix written after the calling code is the same phone number."""
    assert parse_msisdn(raw).digits == "436761234567"


def test_stored_msisdns_of_any_script_have_canonical_digits() -> None:
    """What the migration uses on numbers stored before they were canonical."""
    assert canonical_digits(FULLWIDTH) == "436761234567"
    assert canonical_digits("+" + ARABIC_INDIC) == "436761234567"
    assert canonical_digits("not a number") is None


def test_settings_come_from_the_environment_with_typed_values() -> None:
    settings = Settings.from_env(
        {
            "SMSACCOUNTS_PORT": "9000",
            "SMSACCOUNTS_MOR_ALLOW_GET": "true",
            "SMSACCOUNTS_ALLOWED_COUNTRIES": "at, de",
            "SMSACCOUNTS_OUTBOX_POLL_SECONDS": "0.5",
        }
    )
    assert settings.port == 9000
    assert settings.mor_allow_get is True
    assert settings.allowed_countries == frozenset({"AT", "DE"})
    assert settings.outbox_poll_seconds == 0.5
    assert Settings.from_env({}).database_url == "sqlite:///./smsaccounts.db"


def test_a_malformed_setting_names_its_variable() -> None:
    with pytest.raises(ValueError, match="SMSACCOUNTS_PORT"):
        Settings.from_env({"SMSACCOUNTS_PORT": "eighty"})


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "client"),
    [
        ("127.0.0.1", ["203.0.113.9"], (), "127.0.0.1"),  # nobody trusted: the peer
        ("198.51.100.4", ["203.0.113.9"], PROXIES, "198.51.100.4"),  # peer is no proxy
        ("10.0.0.2", ["203.0.113.9"], PROXIES, "203.0.113.9"),
        ("10.0.0.2", ["203.0.113.9, 10.0.0.3"], PROXIES, "203.0.113.9"),  # two proxies
        ("10.0.0.2", ["1.2.3.4, 203.0.113.9"], PROXIES, "203.0.113.9"),  # the client's own
        ("10.0.0.2", ["1.2.3.4", "203.0.113.9"], PROXIES, "203.0.113.9"),  # two headers
        ("10.0.0.2", [], PROXIES, "10.0.0.2"),  # no header: the proxy
        ("10.0.0.2", ["10.0.0.3, 10.0.0.4"], PROXIES, "10.0.0.3"),  # all proxies: leftmost
        ("10.0.0.2", ["203.0.113.9, bogus"], PROXIES, "10.0.0.2"),  # a hop that is no address
        ("2001:db8::1", ["2001:db8::77"], PROXIES, "2001:db8::77"),
        (None, ["203.0.113.9"], PROXIES, None),
    ],
)
def test_the_client_address_believes_forwarded_for_only_from_trusted_proxies(
    peer: str | None, forwarded: list[str], trusted: tuple[Any, ...], client: str | None
) -> None:
    assert client_address(peer, forwarded, trusted) == client


def test_names_starting_with_plus_belong_to_msisdn_registrations() -> None:
    assert msisdn_name("436761234567") == "+436761234567"
    assert name_allowed("+436761234567", "436761234567")
    assert not name_allowed("+436761234567", None)
    assert not name_allowed("+436761234567", "436761234568")
    assert name_allowed("436761234567", None)
    assert name_allowed("alice", "436761234567")


def test_pin_and_proxy_settings_have_the_issues_defaults() -> None:
    settings = Settings()
    assert (settings.pin_resend_seconds, settings.pin_daily_max) == (60, 5)
    assert (settings.pin_failures_per_ip, settings.pin_failures_per_key) == (20, 1000)
    assert settings.trusted_proxies == ""
    env = Settings.from_env({"SMSACCOUNTS_TRUSTED_PROXIES": "10.0.0.0/8, ::1"})
    assert parse_ranges(env.trusted_proxies) == parse_ranges("10.0.0.0/8,::1")
