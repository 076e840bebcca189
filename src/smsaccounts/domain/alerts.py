"""Low-balance alerts: when one fires, and where it goes.

An account may set a threshold on its credits or its money (`low_balance_asset`,
`low_balance_threshold`, in credits or in units of 10^-7) and a contact. A change that
takes the value from at or above the threshold to below it crosses it downwards and fires
one alert; nothing fires again until a change has taken the value back to at least the
threshold and another one crosses it again. Each wallet change knows its value before and
after (one conditional UPDATE), so concurrent changes never both cross.
"""

from __future__ import annotations

from smsaccounts.domain import phone

ASSETS = ("credits", "balance")


def crossed_down(before: int, after: int, threshold: int) -> bool:
    return before >= threshold > after


def contact(raw: str) -> str:
    """The contact an alert goes to: an msisdn's canonical digits ('' clears it).

    ValueError for anything else: a webhook URL or an e-mail address needs a delivery this
    server does not have yet (the outbox sends SMS).
    """
    text = raw.strip()
    if not text:
        return ""
    try:
        number = phone.parse_msisdn(text)
    except phone.PhoneError:
        raise ValueError("low_balance_contact is an msisdn in international form") from None
    if not number.valid:
        raise ValueError("low_balance_contact is not a valid phone number")
    return number.digits


def text(name: str, asset: str, value: str, threshold: str) -> str:
    return f"Low balance: {name} has {value} {asset} left, below the {threshold} you set."
