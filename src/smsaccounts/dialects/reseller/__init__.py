"""The reseller provisioning API (reference: docs/reseller.md).

Each endpoint, through the pipeline: read the parameters and check every one of them
(status 1/2, nothing done), then (rate limited per IP and per reseller name) authenticate
the reseller (3/4/400, before anything about a customer is read), call the provisioning
service, and answer JSON with HTTP 200 and the status of `statuses.TABLE`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool

from smsaccounts.dialects import pipeline, wire
from smsaccounts.dialects.pipeline import Call, Operation, Reply
from smsaccounts.dialects.reseller import decode, statuses
from smsaccounts.dialects.reseller import messages as m
from smsaccounts.dialects.reseller.decode import Login
from smsaccounts.errors import DomainError
from smsaccounts.services import provisioning
from smsaccounts.services.provisioning import CustomerRef
from smsaccounts.storage.unit_of_work import UnitOfWork

PREFIX = "/services/rest"
MEDIA_TYPE = b"application/json"
Command = tuple[Login, Any]


def customer_create(uow: UnitOfWork, reseller: Any, new: Any) -> msgspec.Struct:
    customer = provisioning.create_customer(uow, reseller=reseller, new=new)
    return m.Created(id=customer.object_id)


def user_create(uow: UnitOfWork, reseller: Any, new: Any) -> msgspec.Struct:
    user = provisioning.create_user(uow, reseller=reseller, new=new)
    return m.Created(id=user.object_id)


def customer_user_create(uow: UnitOfWork, reseller: Any, new: Any) -> msgspec.Struct:
    user, customer = provisioning.create_customer_user(uow, reseller=reseller, new=new)
    return m.CustomerUserCreated(id=user.object_id, customer_id=customer.object_id)


def add_credits(uow: UnitOfWork, reseller: Any, args: tuple[CustomerRef, int]) -> msgspec.Struct:
    customer, credits = args
    after = provisioning.add_credits(uow, reseller=reseller, customer=customer, credits=credits)
    return m.Credits(credits=after)


def balance(uow: UnitOfWork, reseller: Any, args: tuple[CustomerRef, str | None]) -> msgspec.Struct:
    customer, user_id = args
    credits = provisioning.balance(uow, reseller=reseller, customer=customer, user_id=user_id)
    return m.Credits(credits=credits)


def remembered_balance(uow: UnitOfWork, command: Command, call: Call) -> msgspec.Struct | None:
    login, (customer, user_id) = command
    credits = provisioning.remembered_balance(
        uow, name=login.name, password=login.password, client_ip=call.client_ip,
        customer=customer, user_id=user_id,
    )  # fmt: skip
    return None if credits is None else m.Credits(credits=credits)


# Endpoints that can answer a remembered password from one read (`provisioning`'s).
REMEMBERED: dict[str, Callable[[UnitOfWork, Command, Call], msgspec.Struct | None]] = {
    "admin/balance": remembered_balance,
}


# path -> (its parameter Struct, its decoder, its use case)
ENDPOINTS: dict[str, tuple[type[Any], Callable[[Any], Command], Callable[..., Any]]] = {
    "customer/create": (m.CustomerCreate, decode.customer_create, customer_create),
    "user/create": (m.UserCreate, decode.user_create, user_create),
    "customer-user/create": (m.CustomerUserCreate, decode.customer_user_create,
                             customer_user_create),
    "admin/addCredits": (m.AddCredits, decode.add_credits, add_credits),
    "admin/balance": (m.Balance, decode.balance, balance),
}  # fmt: skip
# The methods each endpoint answers: balance was documented as GET first, POST later.
METHODS: dict[str, tuple[str, ...]] = {"admin/balance": ("GET", "POST")}


def _operation(
    path: str,
    kind: type[Any],
    decoder: Callable[[Any], Command],
    use_case: Callable[..., msgspec.Struct],
) -> Operation[Command, msgspec.Struct]:
    async def read(call: Call) -> Command:
        raw = await wire.read_params(call.query, call.body, call.raw_headers)
        return decoder(decode.params(raw, kind))

    def authenticated(uow: UnitOfWork, command: Command, call: Call) -> msgspec.Struct:
        login, args = command
        reseller = provisioning.authenticate(
            uow, name=login.name, password=login.password, client_ip=call.client_ip
        )
        return use_case(uow, reseller, args)

    remembered = REMEMBERED.get(path)
    if remembered is None:
        return Operation(name=path, decode=read, run=authenticated, encode=_encode,
                         credential=_credential)  # fmt: skip

    def run(uow: UnitOfWork, command: Command, call: Call) -> msgspec.Struct:
        answer = remembered(uow, command, call)
        return answer if answer is not None else authenticated(uow, command, call)

    async def on_loop(uow: UnitOfWork, command: Command, call: Call) -> msgspec.Struct:
        """A remembered password needs no argon2 and no write: its reads are served from the
        event loop as the storage allows (`uow.reads_on_loop`: a worker thread's GIL
        handoffs cost more than they do); anything else (a verify, the lockout's write) on
        a thread."""
        answer = await uow.reads_on_loop(remembered, uow, command, call)
        if answer is not None:
            return answer
        return await run_in_threadpool(authenticated, uow, command, call)

    return Operation(name=path, decode=read, run=run, encode=_encode,
                     credential=_credential, run_on_loop=on_loop)  # fmt: skip


def _credential(command: Command) -> str:
    return f"reseller:{command[0].name}"


def _encode(_call: Call, answer: msgspec.Struct) -> Reply:
    return Reply(200, MEDIA_TYPE, msgspec.json.encode(answer))


def _fail(call: Call, error: DomainError, _operation: str | None) -> Reply:
    answer, status = statuses.error_for(error)
    headers = pipeline.allow_header(call, error) + pipeline.retry_after_header(error)
    return Reply(status, MEDIA_TYPE, msgspec.json.encode(answer), headers, str(answer.status))


DIALECT = pipeline.Dialect(
    name="reseller",
    mounts=(PREFIX,),
    routes={
        f"/{path}": dict.fromkeys(METHODS.get(path, ("POST",)), _operation(path, *parts))
        for path, parts in ENDPOINTS.items()
    },
    fail=_fail,
)
