"""The field rules accept what the seeds allow, right up to their edges (pure, no database)."""

from __future__ import annotations

import pytest

from smsaccounts.domain import validation as v
from smsaccounts.errors import InvalidField, MissingField


@pytest.mark.parametrize("value", ["Shop€", "a{b}", "ab~", "a\nb", "ab\x1b", "Ωmega漢", "ab`"])
def test_source_address_refuses_what_the_gsm_codec_has_no_basic_septet_for(value: str) -> None:
    """Extension characters (two septets), line breaks and characters outside GSM 03.38."""
    with pytest.raises(InvalidField):
        v.source_address("sourceAddress", value)


@pytest.mark.parametrize("value", ["123", "1" * 16, "ab", "1a", "Shop 24", "§Δ_Ω@£$¥",
                                   "ÄÖÑÜäöñüà¿", "A" * 11, "+48"])  # fmt: skip
def test_source_address_accepts_digits_and_gsm_names(value: str) -> None:
    assert v.source_address("sourceAddress", value) == value


@pytest.mark.parametrize("value", ["TRUE", "true", "False", "fAlSe"])
def test_flags_are_case_insensitive(value: str) -> None:
    assert v.flag("f", value) is (value.lower() == "true")


@pytest.mark.parametrize(("value", "expected"), [("0", 0), ("-5", -5), ("+7", 7),
                                                 (str(2**31 - 1), 2**31 - 1)])  # fmt: skip
def test_mo_charge_is_any_32_bit_integer(value: str, expected: int) -> None:
    assert v.integer("moCharge", value) == expected


def test_object_ids_are_stored_lower_case() -> None:
    assert v.object_id("customerId", "5A4E96A030046095C7EF280F") == "5a4e96a030046095c7ef280f"


def test_customer_names_may_hold_at_signs_but_reseller_names_may_not() -> None:
    assert v.name("customer", "1212412@testReseller") == "1212412@testReseller"
    with pytest.raises(InvalidField) as refused:
        v.reseller_name("resellerName", "1212412@testReseller")
    assert refused.value.field == "resellerName"


def test_a_required_empty_value_is_missing() -> None:
    with pytest.raises(MissingField) as missing:
        v.required("password", "")
    assert missing.value.field == "password"


@pytest.mark.parametrize(("config", "stored"), [
    ('{"type": "SMPP"}', '{"type":"SMPP"}'),
    ('{"type": "SMPP", "data": null}', '{"type":"SMPP"}'),
    ('{"type": "URL", "data": {"url": "https://h.example/p?q=1"}}',
     '{"type":"URL","data":{"url":"https://h.example/p?q=1"}}'),
    ('{"type": "EMAIL", "data": {"to": "a@example.com", "subject": "s", "body": "b"}}',
     '{"type":"EMAIL","data":{"to":"a@example.com","subject":"s","body":"b"}}'),
])  # fmt: skip
def test_push_configs_are_stored_as_canonical_json(config: str, stored: str) -> None:
    assert v.push("moPush", config) == stored
