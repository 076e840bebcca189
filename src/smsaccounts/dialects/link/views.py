"""Between the wire and the services: users out as `User` Structs, request bodies in as
column changes, paging cursors both ways."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import msgspec

from smsaccounts.dialects import wire
from smsaccounts.dialects.link.messages import READ_ONLY, User, UserInput
from smsaccounts.domain import bounds, money
from smsaccounts.domain.funding import spendable
from smsaccounts.domain.subusers import ListedAccount, link_parent, link_path
from smsaccounts.errors import ForbiddenField
from smsaccounts.services.subusers import AnyRecord

TIME_FORMAT = "%d-%m-%Y %H:%M:%S"
MASKED = "---"

# Wire name -> column (or service key) where they differ; acl flags come from the Struct.
_COLUMN = {"username": "name", "max_forbrug": "max_messages"}
_WIRE_NAME: dict[str, str] = {
    **{f.name: f.encode_name for f in msgspec.structs.fields(UserInput)},
    **{column: name for name, column in _COLUMN.items()},
}


def wire_name(column: str) -> str:
    """The name a LINK client knows a column by (`acl_admin` -> `aclAdmin`)."""
    return _WIRE_NAME.get(column, column)


def user(record: AnyRecord, *, apikey: str = MASKED) -> User:
    account, wallet, spends = record.account, record.wallet, record.spends
    return User(
        integration_id=account.integration_id or None,
        company=account.company or None,
        integration=account.integration or None,
        defaultsender=account.defaultsender or None,
        balance=money.format_amount(spends.balance),
        use_currency=int(wallet.use_currency),
        max_forbrug=str(wallet.max_messages or 0),
        forbrug=str(wallet.messages_sent),
        deactivated=None if account.deactivated is None else link_time(account.deactivated),
        created=link_time(account.created_at),
        parent=link_parent(account),
        id=account.id,
        username=account.name,
        apikey=apikey,
        materialized_path=link_path(account.path),
        prefixes=account.prefixes,
        iprange=account.iprange,
        acl_billing=account.acl_billing,
        acl_billing_high=account.acl_billing_high,
        acl_charity=account.acl_charity,
        acl_incoming=account.acl_incoming,
        acl_smsinbox=account.acl_smsinbox,
        acl_hlr=account.acl_hlr,
        acl_admin=account.acl_admin,
        enabled=account.enabled,
        credits=spends.credits,
        funding=account.funding,
    )


def page_users(records: list[AnyRecord], *, caller_id: int, apikey: str | None) -> list[User]:
    """`user` of each of a page's records, the caller's own with the key it sent (`apikey`),
    every other masked: the same Structs (tests/unit/test_link_views.py), built by position
    from a `ListedAccount` unpacked at once, where `user`'s 27 keywords and attribute reads
    cost a third of a page's CPU (`python -m bench.cpu --scenarios link_users`)."""
    own_key = apikey or MASKED
    found: list[User] = []
    for record in records:
        account = record.account
        if not isinstance(account, ListedAccount):  # a whole `Account`: the general view
            found.append(user(record, apikey=own_key if account.id == caller_id else MASKED))
            continue
        (id_, name, _parent_id, path, enabled, deactivated, created_at, company,
         integration_id, integration, defaultsender, prefixes, iprange, acl_billing,
         acl_billing_high, acl_charity, acl_incoming, acl_smsinbox, acl_hlr, acl_admin,
         funding) = account  # fmt: skip
        wallet = record.wallet
        spends = spendable(wallet, record.paying or wallet)
        found.append(User(
            integration_id or None, company or None, integration or None, defaultsender or None,
            money.format_amount(spends.balance), int(wallet.use_currency),
            str(wallet.max_messages or 0), str(wallet.messages_sent),
            None if deactivated is None else link_time(deactivated), link_time(created_at),
            link_parent(account), id_, name, own_key if id_ == caller_id else MASKED,
            link_path(path), prefixes, iprange, acl_billing, acl_billing_high, acl_charity,
            acl_incoming, acl_smsinbox, acl_hlr, acl_admin, enabled, spends.credits, funding,
        ))  # fmt: skip
    return found


def link_time(value: dt.datetime) -> str:
    """`value.strftime(TIME_FORMAT)` (tests/unit/test_link_views.py), at a third of the cost:
    `strftime` builds a time tuple and scans its format for each call (~12% of a page's
    CPU for its 100 users, py-spy), where `%d` formats ints in place."""
    return "%02d-%02d-%d %02d:%02d:%02d" % (  # noqa: UP031 - the fast path, see above
        value.day, value.month, value.year, value.hour, value.minute, value.second
    )  # fmt: skip


def body_fields(body: bytes) -> dict[str, Any]:
    """The `user` object of a JSON `{"user": {...}}` or an XML `<user>`, `<request><user>`
    or `<response><user>` (an answer sent back as it was read)."""
    if not body.strip():
        raise wire.WireError('a body is required: {"user": {...}} or <user>...</user>')
    if wire.looks_like_xml(body):
        root, data = wire.parse_xml(body)
        inner = data if root == "user" else data.get("user") if root in _WRAPPERS else None
        if inner == "":  # <request><user/></request>
            inner = {}
        if not isinstance(inner, dict):
            raise wire.WireError("the XML body must be <user>...</user> or <request><user>")
        return inner
    inner = wire.parse_json_object(body).get("user")
    if not isinstance(inner, dict):
        raise wire.WireError('the JSON body must be {"user": {...}}')
    return inner


_WRAPPERS = ("request", "response")


def message_fields(body: bytes) -> dict[str, Any]:
    """The `message` object of a JSON `{"message": {...}}`, or an XML `<message>` or
    `<request><message>`."""
    if not body.strip():
        raise wire.WireError('a body is required: {"message": {...}} or <message>...</message>')
    if wire.looks_like_xml(body):
        root, data = wire.parse_xml(body)
        inner = data if root == "message" else data.get("message") if root == "request" else None
        if not isinstance(inner, dict):
            raise wire.WireError("the XML body must be <message>...</message>")
        return inner
    inner = wire.parse_json_object(body).get("message")
    if not isinstance(inner, dict):
        raise wire.WireError('the JSON body must be {"message": {...}}')
    return inner


def split_read_only(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the read-only fields of a `user` object, the rest)."""
    shown = {name: value for name, value in raw.items() if name in READ_ONLY}
    return shown, {name: value for name, value in raw.items() if name not in READ_ONLY}


def check_unchanged(sent: dict[str, Any], shown: User) -> None:
    """Read-only fields sent back exactly as the caller is shown them now pass; any other
    value is refused by name (a client that reads a user, changes a field and PUTs the
    whole object back repeats them all).

    Values compare as their XML text (null and an empty element alike, `true`, digits),
    so that an object read as XML can be sent back as XML.
    """
    current = msgspec.to_builtins(shown)
    for name, value in sent.items():
        if _as_text(value) != _as_text(current[name]):
            raise ForbiddenField(f"{name} cannot be set", field=name)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def user_changes(raw: dict[str, Any]) -> dict[str, Any]:
    """Column changes from a `user` object; read-only fields are refused by name."""
    for name in raw:
        if name in READ_ONLY:
            raise ForbiddenField(f"{name} cannot be set", field=name)
    data = wire.convert(raw, UserInput)
    changes: dict[str, Any] = {}
    for spec in msgspec.structs.fields(UserInput):
        value = getattr(data, spec.name)
        if value is msgspec.UNSET:
            continue
        if value is None and spec.name != "max_forbrug":
            value = ""  # null clears a text field (stored as '')
        changes[_COLUMN.get(spec.name, spec.name)] = value
    return changes


def encode_cursor(page: int, after_id: int) -> str:
    """Opaque to clients: page `page` starts after account `after_id`."""
    return base64.urlsafe_b64encode(f"{page}:{after_id}".encode()).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[int, int]:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        page, after_id = (bounds.parse_int(part) for part in raw.split(":"))
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise wire.WireError("after: not a paging cursor this API gave out") from None
    if page < 1:
        raise wire.WireError("after: not a paging cursor this API gave out")
    return page, after_id
