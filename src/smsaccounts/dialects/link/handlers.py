"""The LINK v2 users endpoints: decode, call `services.subusers`, build the reply Struct.

Paging: `GET /v2/users.{fmt}` answers `PAGE_SIZE` users a page, in materialized-path order,
with `paging` = {current, pages, offset (the page size, as LINK's other listings), next}
and `stats` = {total}. `next` is an opaque cursor (page number and the last id shown);
`?after=<next>` continues by keyset from there, and `?page=N` alone is walked to a page at
a time by keyset from the start (or from a cursor given with it). No query uses OFFSET, so
a page costs the same however deep it is, and rows added meanwhile do not shift it.
"""

from __future__ import annotations

import secrets
from typing import TypeVar

from smsaccounts.dialects import wire
from smsaccounts.dialects.link import views
from smsaccounts.dialects.link.http import Call, Caller, authenticate
from smsaccounts.dialects.link.messages import (
    BatchDetails,
    BatchStat,
    MessageInput,
    MessageResponse,
    Paging,
    PingResponse,
    Stats,
    User,
    UserResponse,
    UsersResponse,
)
from smsaccounts.domain import bounds, sms, validation
from smsaccounts.domain.charging import MessageClass
from smsaccounts.domain.models import Account
from smsaccounts.errors import ForbiddenField, InvalidField, MissingField, NotFound
from smsaccounts.services import charging, messages, subusers
from smsaccounts.services.subusers import AnyRecord, UserRecord
from smsaccounts.storage.unit_of_work import UnitOfWork

T = TypeVar("T")
PAGE_SIZE = 100
MAX_PAGE = 1_000_000


def ping(uow: UnitOfWork, call: Call) -> PingResponse:
    caller = authenticate(uow, call)
    account = caller.account
    return PingResponse(status=200, userid=str(account.id), username=account.name,
                        iprange=account.iprange, apikey=caller.apikey or views.MASKED)  # fmt: skip


def list_users(uow: UnitOfWork, call: Call) -> UsersResponse:
    caller = authenticate(uow, call)
    cursor = views.decode_cursor(call.params["after"]) if "after" in call.params else None
    default = str(cursor[0]) if cursor else "1"
    number = _page_number(call.params.get("page", default))
    page = subusers.list_page(uow, actor=caller.account, number=number, size=PAGE_SIZE,
                                cursor=cursor)  # fmt: skip
    after = page.next_after
    paging = Paging(current=number, pages=page.pages, offset=PAGE_SIZE,
                    next=views.encode_cursor(number + 1, after) if after else None)  # fmt: skip
    users = views.page_users(page.users, caller_id=caller.account.id, apikey=caller.apikey)
    return UsersResponse(users=users, paging=paging, stats=Stats(total=page.total))


def create_user(uow: UnitOfWork, call: Call) -> UserResponse:
    caller = authenticate(uow, call)
    subusers.require_admin(caller.account)  # a 403 before any complaint about the body
    changes = views.user_changes(views.body_fields(call.body))
    record, apikey = subusers.create(uow, actor=caller.account, changes=changes)
    return UserResponse(user=views.user(record, apikey=apikey))


def get_user(uow: UnitOfWork, call: Call) -> UserResponse:
    caller = authenticate(uow, call)
    subusers.require_admin(caller.account)
    record = subusers.get(uow, actor=caller.account, account_id=_target(call))
    return UserResponse(user=_user(record, caller))


def update_user(uow: UnitOfWork, call: Call) -> UserResponse:
    """Fields left out stay as they are; read-only ones may be sent back unchanged."""
    caller = authenticate(uow, call)
    subusers.require_admin(caller.account)
    target = _target(call)
    shown, rest = views.split_read_only(views.body_fields(call.body))
    changes = views.user_changes(rest)

    def unchanged(current: UserRecord[Account]) -> None:
        views.check_unchanged(shown, _user(current, caller))

    record = subusers.update(uow, actor=caller.account, account_id=target, changes=changes,
                             check=unchanged)  # fmt: skip
    return UserResponse(user=_user(record, caller))


def delete_user(uow: UnitOfWork, call: Call) -> UserResponse:
    caller = authenticate(uow, call)
    subusers.require_admin(caller.account)
    record = subusers.deactivate(uow, actor=caller.account, account_id=_target(call))
    return UserResponse(user=_user(record, caller))


def rotate_key(uow: UnitOfWork, call: Call) -> UserResponse:
    """A new apikey for the caller itself, or (aclAdmin) for a user below it: the answer
    shows it once, and every earlier key of that user stops working at once."""
    caller = authenticate(uow, call)
    record, apikey = subusers.rotate_key(uow, actor=caller.account, account_id=_target(call))
    return UserResponse(user=views.user(record, apikey=apikey))


def _user(record: AnyRecord, caller: Caller) -> User:
    """The caller sees its own key (the one it sent); every other key is masked."""
    own = record.account.id == caller.account.id and caller.apikey is not None
    return views.user(record, apikey=caller.apikey if own and caller.apikey else views.MASKED)


def _target(call: Call) -> int:
    """The `{id}` of the path; anything no id column holds is as missing as an unknown id."""
    found = bounds.parse_id(str(call.path_params.get("id", "")))
    if found is None:
        raise NotFound("no such user")
    return found


def _page_number(raw: str) -> int:
    try:
        return bounds.parse_int(raw, low=1, high=MAX_PAGE, signed=False)
    except ValueError as error:
        raise InvalidField(str(error), field="page") from None


# Documented fields of LINK's message resource this server cannot honour: refused by name.
_NOT_ACTED_ON = {
    "status": "status", "statusurl": "statusurl", "returndata": "returndata",
    "sms_class": "class", "sendtime": "sendtime", "invoicetext": "invoicetext",
    "validity": "validity", "contenttype": "contenttype", "udh": "udh",
    "attachment": "attachment", "pushurl": "pushurl", "pushexpire": "pushexpire",
    "filter": "filter", "segmentation": "segmentation", "pid": "pid", "advanced": "advanced",
    "protocol": "protocol", "revenuetext": "revenuetext",
}  # fmt: skip
# LINK's `format` values this server sends: each names the coding its text must take.
_FORMATS = {"GSM": sms.Coding.GSM7, "UNICODE": sms.Coding.UCS2}
_ORE = 100_000  # money units (10^-7) in one øre, LINK's price unit
TIME_FORMAT = "%d-%m-%Y %H:%M:%S"


def send_message(uow: UnitOfWork, call: Call) -> MessageResponse:
    """Charge the caller for the message (reference: its batch id) and queue one SMS per
    recipient from its `sender` in the outbox, in one transaction; the outbox worker
    delivers them."""
    caller = authenticate(uow, call)
    data = wire.convert(views.message_fields(call.body), MessageInput)
    for name, wire_name in _NOT_ACTED_ON.items():
        if getattr(data, name) is not None:
            raise ForbiddenField(f"{wire_name} is not supported by this server", field=wire_name)
    if data.format is not None and data.format not in _FORMATS:
        raise ForbiddenField("format: only GSM and UNICODE are supported", field="format")
    text = _required("message", data.message)
    sender = _required("sender", data.sender)
    validation.source_address("sender", sender)
    messages.check_coding(text, _FORMATS.get(data.format or ""), field="format")
    recipients = _recipients(data.recipients)
    batch = secrets.randbelow(2**53) + 1
    message = charging.Message(recipients=recipients, text=text, price=(data.price or 0) * _ORE,
                               message_class=_class(data))  # fmt: skip
    result = messages.submit(uow, account=caller.account, reference=f"link-message:{batch}",
                             message=message, sender=sender)  # fmt: skip
    sent = uow.clock.now().strftime(TIME_FORMAT)
    return MessageResponse(
        stat=BatchStat(sendtime=sent, buffered=0, received=result.charge.recipients, rejected=0),
        details=BatchDetails(sendtime=sent, batchid=batch, state="QUEUED"),
    )


def _required(field: str, value: T | None) -> T:
    if value is None or value == "":
        raise MissingField(f"{field} is required", field=field)
    return value


def _recipients(value: str | list[str] | None) -> list[str]:
    found = value.split(",") if isinstance(value, str) else value or []
    numbers = [number.strip() for number in found if number.strip()]
    if not numbers:
        raise MissingField("recipients is required", field="recipients")
    return numbers


def _class(data: MessageInput) -> MessageClass:
    if data.charity:
        return MessageClass.CHARITY
    if data.price is not None:
        if data.price < 100:
            raise InvalidField("price is in øre, at least 100", field="price")
        return MessageClass.PREMIUM
    return MessageClass.STANDARD
