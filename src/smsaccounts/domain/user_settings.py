"""Pure rules of what an end user sets and is granted: its password's format, its device
key and signature, its features, and the SMS route a message takes.
"""

from __future__ import annotations

from smsaccounts.domain.models import ACL_FIELDS, Account

PASSWORD_MIN, PASSWORD_MAX = 4, 15
KEY_MAX = 64
SIGNATURE_MAX = 255  # the column's width

# sms_routing values: 0 everything over the SIM, 1 everything over the platform, 2 national
# over the SIM and international over the platform (resolved per recipient).
SIM, PLATFORM, BY_COUNTRY = 0, 1, 2
ROUTINGS = (SIM, PLATFORM, BY_COUNTRY)
RECIPIENT_ROUTINGS = (SIM, PLATFORM)

# The feature each ACL flag grants, named the way the wire's camelCase fields are.
ACL_FEATURES = {
    "acl_billing": "billing",
    "acl_billing_high": "billingHigh",
    "acl_charity": "charity",
    "acl_incoming": "incoming",
    "acl_smsinbox": "smsInbox",
    "acl_hlr": "hlr",
    "acl_admin": "admin",
}


def password_format_ok(password: str) -> bool:
    return PASSWORD_MIN <= len(password) <= PASSWORD_MAX


def features(account: Account) -> list[str]:
    """The plan as `plan.<name>`, then one feature per ACL flag that is set, in ACL order."""
    plan = account.plan.strip() or "standard"
    granted = [ACL_FEATURES[name] for name in ACL_FIELDS if getattr(account, name)]
    return [f"plan.{plan}", *granted]


def effective_route(
    *,
    explicit: int | None,
    user_routing: int,
    user_country: str | None,
    recipient_country: str | None,
) -> int:
    """An explicit per-recipient route wins; else the user's setting, with 2 resolved by country.

    Under 2 a recipient in the user's own country goes over the SIM (national) and any other,
    or one whose country is unknown, over the platform (international).
    """
    if explicit is not None:
        return explicit
    if user_routing != BY_COUNTRY:
        return user_routing
    national = user_country is not None and recipient_country == user_country
    return SIM if national else PLATFORM
