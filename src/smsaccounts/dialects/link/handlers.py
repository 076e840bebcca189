"""The LINK v2 users endpoints: decode, call `services.subusers`, build the reply Struct.

Paging: `GET /v2/users.{fmt}` answers `PAGE_SIZE` users a page, in materialized-path order,
with `paging` = {current, pages, offset (the page size, as LINK's other listings), next}
and `stats` = {total}. `next` is an opaque cursor (page number and the last id shown);
`?after=<next>` continues by keyset from there, and `?page=N` alone is walked to a page at
a time by keyset from the start (or from a cursor given with it). No query uses OFFSET, so
a page costs the same however deep it is, and rows added meanwhile do not shift it.
"""

from __future__ import annotations

from smsaccounts.dialects.link import views
from smsaccounts.dialects.link.http import Call, Caller, authenticate
from smsaccounts.dialects.link.messages import (
    Paging,
    PingResponse,
    Stats,
    User,
    UserResponse,
    UsersResponse,
)
from smsaccounts.domain import bounds
from smsaccounts.errors import InvalidField, NotFound
from smsaccounts.services import subusers
from smsaccounts.services.subusers import UserRecord
from smsaccounts.storage.unit_of_work import UnitOfWork

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
    users = [_user(record, caller) for record in page.users]
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

    def unchanged(current: UserRecord) -> None:
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


def _user(record: UserRecord, caller: Caller) -> User:
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
