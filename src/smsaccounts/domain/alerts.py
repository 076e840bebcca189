"""Low-balance alerts: when one fires, and where it goes.

An account may set a threshold on its credits or its money (`low_balance_asset`,
`low_balance_threshold`, in credits or in units of 10^-7) and a contact. A change that
takes the value from at or above the threshold to below it crosses it downwards and fires
one alert; nothing fires again until a change has taken the value back to at least the
threshold and another one crosses it again. Each wallet change knows its value before and
after (one conditional UPDATE), so concurrent changes never both cross.
"""

from __future__ import annotations

import json
import re
import urllib.parse

import email_validator

from smsaccounts.domain import phone

ASSETS = ("credits", "balance")


def crossed_down(before: int, after: int, threshold: int) -> bool:
    return before >= threshold > after


SMS, WEBHOOK, EMAIL = "sms", "webhook", "email"
CHANNELS = (SMS, WEBHOOK, EMAIL)
_MAX_CONTACT = 255  # accounts.low_balance_contact


def contact(raw: str, *, email_allowed: bool = True) -> str:
    """The contact an alert goes to, canonical ('' clears it): an msisdn's digits, an
    http(s) webhook URL, or an e-mail address (normalised by email-validator).

    ValueError, naming what is wrong, for anything else; an e-mail address when
    `email_allowed` is false (no SMTP server is configured to send it).
    """
    text = raw.strip()
    if not text:
        return ""
    if len(text) > _MAX_CONTACT:
        raise ValueError(f"low_balance_contact is longer than {_MAX_CONTACT} characters")
    if re.match(r"(?i)https?://", text):
        return _webhook(text)
    if "@" in text:
        if not email_allowed:
            raise ValueError(
                "low_balance_contact cannot be an e-mail address: SMSACCOUNTS_SMTP_URL is not set"
            )
        return _email(text)
    try:
        number = phone.parse_msisdn(text)
    except phone.PhoneError:
        raise ValueError(
            "low_balance_contact is an msisdn in international form, an http(s) URL or an "
            "e-mail address"
        ) from None
    if not number.valid:
        raise ValueError("low_balance_contact is not a valid phone number")
    return number.digits


def channel(contact: str) -> str:
    """How an alert reaches a canonical `contact`: sms, webhook or email."""
    if re.match(r"(?i)https?://", contact):
        return WEBHOOK
    return EMAIL if "@" in contact else SMS


def _webhook(text: str) -> str:
    parts = urllib.parse.urlsplit(text)
    if (
        parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or any(c.isspace() or ord(c) < 32 for c in text)
    ):
        raise ValueError("low_balance_contact is not a valid http(s) URL")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        raise ValueError("low_balance_contact has an invalid port") from None
    return urllib.parse.urlunsplit(parts._replace(scheme=parts.scheme.lower()))


def _email(text: str) -> str:
    try:
        found = email_validator.validate_email(text, check_deliverability=False)
    except email_validator.EmailNotValidError as error:
        raise ValueError(f"low_balance_contact is not a valid e-mail address: {error}") from None
    return str(found.normalized)


def document(*, account_id: int, name: str, asset: str, value: str, threshold: str) -> str:
    """The JSON a webhook receives: no secret, only what the alert says."""
    found = {"account_id": account_id, "name": name, "asset": asset, "value": value,
             "threshold": threshold}  # fmt: skip
    return json.dumps(found, separators=(",", ":"))


def text(name: str, asset: str, value: str, threshold: str) -> str:
    return f"Low balance: {name} has {value} {asset} left, below the {threshold} you set."
