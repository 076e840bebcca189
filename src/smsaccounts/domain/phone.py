"""msisdns with libphonenumber: international digits, the country from the calling code."""

from __future__ import annotations

import dataclasses

import phonenumbers


class PhoneError(ValueError):
    """Not an msisdn at all (not digits, or no calling code)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Msisdn:
    digits: str  # international digits, no '+': '436761234567'
    country: str | None  # ISO 3166 code from the calling code, None if it names none
    valid: bool  # a valid number for that country


def parse_msisdn(raw: object) -> Msisdn:
    """Accept 436761234567, '436761234567' or '+436761234567' (as real clients send)."""
    text = str(raw).strip() if raw is not None else ""
    if isinstance(raw, bool) or not text:
        raise PhoneError("msisdn missing")
    digits = text.removeprefix("+")
    if not digits.isdigit() or not 6 <= len(digits) <= 15:
        raise PhoneError("msisdn must be 6-15 international digits")
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        raise PhoneError("msisdn has no known calling code") from None
    country = phonenumbers.region_code_for_number(number)
    if country in (None, "ZZ", "001"):
        country = None
    return Msisdn(digits=digits, country=country, valid=phonenumbers.is_valid_number(number))


# A user registered by its msisdn is named `+<digits>`; no other account may take a name
# that starts with `+`, so the names chosen through LINK, the reseller API or the CLI and
# the msisdn registrations never meet (a LINK username cannot block a number).
MSISDN_NAME_PREFIX = "+"


def msisdn_name(digits: str) -> str:
    """The name of the user registered by (and identified by) this msisdn."""
    return MSISDN_NAME_PREFIX + digits


def name_allowed(name: str, msisdn: str | None) -> bool:
    """Whether an account with this msisdn (if any) may carry `name`."""
    return not name.startswith(MSISDN_NAME_PREFIX) or (
        msisdn is not None and name == msisdn_name(msisdn)
    )
