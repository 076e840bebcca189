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


_MOBILE = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


def mobile(raw: str) -> Msisdn | None:
    """The msisdn a contact phone number names ('+43 676 1234567'), when it is a valid
    mobile number in international form; None for anything else."""
    try:
        number = parse_msisdn(raw.replace(" ", ""))
    except PhoneError:
        return None
    if not number.valid:
        return None
    kind = phonenumbers.number_type(phonenumbers.parse("+" + number.digits, None))
    return number if kind in _MOBILE else None
