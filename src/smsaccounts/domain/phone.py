"""msisdns with libphonenumber: one canonical spelling (E.164 digits), the country from the
calling code.

Every door turns a number into its canonical digits before it is stored, compared, counted
or sent to, so one phone number is one msisdn however a client spells it. Input is ASCII
only: `str.isdigit` and libphonenumber both read fullwidth (U+FF10..) and Arabic-Indic
(U+0660..) digits as digits, and a number that is valid in two spellings would register
twice.
"""

from __future__ import annotations

import dataclasses
import re

import phonenumbers

# International digits as real clients send them: a JSON number, or a string with or
# without a leading '+'. [0-9] matches ASCII digits only (\d would match any script's).
_WIRE = re.compile(r"\+?([0-9]{6,15})")
_BLANKS = " \t\r\n"  # around a value (pretty-printed XML); nothing else is stripped


class PhoneError(ValueError):
    """Not an msisdn at all (not ASCII digits, or no calling code)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Msisdn:
    digits: str  # canonical: E.164 without '+', ASCII: '436761234567'
    country: str | None  # ISO 3166 code from the calling code, None if it names none
    valid: bool  # a valid number for that country


def parse_msisdn(raw: object) -> Msisdn:
    """Accept 436761234567, '436761234567' or '+436761234567'; answer the canonical digits.

    Any other character (a space inside, a dash, a digit of another script) is refused.
    """
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise PhoneError("msisdn missing")
    found = _WIRE.fullmatch(str(raw).strip(_BLANKS))
    if found is None:
        raise PhoneError("msisdn must be 6-15 ASCII digits, optionally after '+'")
    return _canonical(found.group(1))


def canonical_digits(stored: str) -> str | None:
    """The canonical digits of an msisdn stored before numbers were canonical (it may hold
    digits of any script and a '+'), or None when libphonenumber cannot read it."""
    try:
        return _canonical(stored.strip().removeprefix("+")).digits
    except PhoneError:
        return None


def _canonical(digits: str) -> Msisdn:
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        raise PhoneError("msisdn has no known calling code") from None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    canonical = e164.removeprefix("+")
    if not (canonical.isascii() and canonical.isdigit() and 6 <= len(canonical) <= 15):
        raise PhoneError("msisdn must be 6-15 international digits")
    country = phonenumbers.region_code_for_number(number)
    if country in (None, "ZZ", "001"):
        country = None
    return Msisdn(digits=canonical, country=country, valid=phonenumbers.is_valid_number(number))


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
