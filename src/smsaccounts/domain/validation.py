"""Field rules of the reseller API seeds, each stated once: pure functions over wire text.

Every function takes the field's wire name (so the error can name it) and the raw value,
returns the clean value, and raises MissingField (absent) or InvalidField (breaks a rule).
Optional fields treat an empty string as absent, the way HTML forms send untouched inputs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import msgspec
from email_validator import EmailNotValidError, validate_email

from smsaccounts.domain import sms
from smsaccounts.errors import ErrorCode, InvalidField, MissingField

# A sender name is shown on a handset: characters of the GSM 03.38 basic table (the codec
# of `domain.sms`), without line breaks, which are codes, not characters one can show. The
# extension table's characters take an escape and are refused too.
_SENDER_CONTROLS = frozenset("\n\r")

ROTATION_ALGORITHMS = ("CONVERSATION", "MAX_ROTATION")
BILLING_TYPES = ("PRE_PAID", "POST_PAID")
PUSH_TYPES = ("URL", "EMAIL", "SMPP")

_INT32 = (-(2**31), 2**31 - 1)
# Far beyond any real top-up, far below the 64-bit wallet column, so a sum cannot overflow.
MAX_CREDITS = 10**15
_PHONE = re.compile(r"[+ 0-9]+")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_OBJECT_ID = re.compile(r"[0-9a-fA-F]{24}")
_DIGITS = re.compile(r"[0-9]+")
_JSON = msgspec.json.Decoder()


def required(field: str, value: str | None) -> str:
    if value is None or value == "":
        raise MissingField(f"{field} is required", field=field)
    return value


def optional(value: str | None) -> str | None:
    """An optional field's value, or None when it was not given (or given empty)."""
    return None if value is None or value == "" else value


def text(field: str, value: str | None, *, max_length: int = 255) -> str:
    value = required(field, value)
    if len(value) > max_length:
        raise _invalid(field, f"at most {max_length} characters")
    return value


def name(field: str, value: str | None, *, allow_at: bool = True) -> str:
    """No whitespace anywhere (the seeds' "can't contain spaces"); reseller names no `@`."""
    value = text(field, value)
    if any(character.isspace() for character in value):
        raise _invalid(field, "must not contain spaces")
    if not allow_at and "@" in value:
        raise _invalid(field, "must not contain '@'")
    return value


def reseller_name(field: str, value: str | None) -> str:
    return name(field, value, allow_at=False)


def email(field: str, value: str | None) -> str:
    value = text(field, value)
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise _invalid(field, str(error)) from None


def phone(field: str, value: str | None) -> str:
    """Only `+`, spaces and digits; the seeds ask for nothing more."""
    value = text(field, value, max_length=64)
    if not _PHONE.fullmatch(value):
        raise _invalid(field, "may contain only '+', spaces and digits")
    return value


def flag(field: str, value: str | None) -> bool:
    value = required(field, value).lower()
    if value not in ("true", "false"):
        raise _invalid(field, "must be true or false")
    return value == "true"


def object_id(field: str, value: str | None) -> str:
    """A Mongo ObjectId: 24 hexadecimal digits (stored lower case)."""
    value = required(field, value)
    if not _OBJECT_ID.fullmatch(value):
        raise _invalid(field, "must be 24 hexadecimal digits")
    return value.lower()


def choice(field: str, value: str | None, options: Iterable[str]) -> str:
    value = required(field, value)
    allowed = tuple(options)
    if value not in allowed:
        raise _invalid(field, "must be one of " + ", ".join(allowed))
    return value


def integer(field: str, value: str | None, *, low: int = _INT32[0], high: int = _INT32[1]) -> int:
    value = required(field, value)
    if not _INTEGER.fullmatch(value):
        raise _invalid(field, f"must be an integer from {low} to {high}")
    if not low <= int(value) <= high:  # a number, beyond what its column holds
        raise InvalidField(
            f"{field}: must be an integer from {low} to {high}",
            field=field,
            code=ErrorCode.VALUE_OUT_OF_RANGE,
        )
    return int(value)


def credits(field: str, value: str | None) -> int:
    return integer(field, value, low=-MAX_CREDITS, high=MAX_CREDITS)


def source_address(field: str, value: str | None) -> str:
    """3-16 digits, or 2-11 GSM 03.38 basic-table characters with at least one non-digit."""
    value = required(field, value)
    if _DIGITS.fullmatch(value):
        if not 3 <= len(value) <= 16:
            raise _invalid(field, "a numeric source address has 3 to 16 digits")
        return value
    if not 2 <= len(value) <= 11:
        raise _invalid(field, "an alphanumeric source address has 2 to 11 characters")
    if any(char in _SENDER_CONTROLS or not sms.is_basic(char) for char in value):
        raise _invalid(field, "only characters of the GSM 03.38 default alphabet")
    return value


def push(field: str, value: str | None) -> str:
    """A push configuration: JSON `{"type": URL|EMAIL|SMPP, "data": ...}`; canonical JSON back."""
    value = required(field, value)
    try:
        config = _JSON.decode(value)
    except msgspec.DecodeError:
        raise _invalid(field, "must be a JSON object") from None
    if not isinstance(config, dict) or set(config) - {"type", "data"}:
        raise _invalid(field, "must be a JSON object with type and data")
    kind = config.get("type")
    if kind not in PUSH_TYPES:
        raise _invalid(field, "type must be one of " + ", ".join(PUSH_TYPES))
    data = _push_data(field, kind, config.get("data"))
    clean: dict[str, Any] = {"type": kind} if data is None else {"type": kind, "data": data}
    return msgspec.json.encode(clean).decode()


def _push_data(field: str, kind: str, data: Any) -> dict[str, str] | None:
    if kind == "SMPP":
        if data not in (None, {}):
            raise _invalid(field, "an SMPP push takes no data")
        return None
    if not isinstance(data, dict):
        raise _invalid(field, f"a {kind} push needs a data object")
    if kind == "URL":
        _only_keys(field, data, required={"url"})
        return {"url": _http_url(field, data["url"])}
    _only_keys(field, data, required={"to"}, optional={"subject", "body"})
    if not all(isinstance(item, str) for item in data.values()):
        raise _invalid(field, "to, subject and body are strings")
    return {**data, "to": email(field, data["to"])}


def _only_keys(
    field: str, data: dict[str, Any], *, required: set[str], optional: Iterable[str] = ()
) -> None:
    if not required <= set(data) or set(data) - required - set(optional):
        raise _invalid(field, "data must have " + ", ".join(sorted(required)))


def _http_url(field: str, url: Any) -> str:
    parts = urlsplit(url) if isinstance(url, str) else None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(character.isspace() for character in url)
    ):
        raise _invalid(field, "data.url must be an http(s) URL")
    return str(url)


def _invalid(field: str, reason: str) -> InvalidField:
    return InvalidField(f"{field}: {reason}", field=field)
