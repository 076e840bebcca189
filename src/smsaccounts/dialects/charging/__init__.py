"""The charging API a sending gateway calls (reference: docs/charging.md).

`POST /charging/v1/charge` authorizes and debits a message before the gateway sends it;
`POST /charging/v1/refund` gives back the parts it could not deliver. JSON in and out,
authenticated by a gateway key (`smsaccounts apikey create NAME --gateway`) in
`Authorization: Bearer …`. Every rule is `services.charging`'s; this module only
translates.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

import msgspec

from smsaccounts.dialects import pipeline, wire
from smsaccounts.dialects.charging import errors
from smsaccounts.dialects.charging.messages import (
    MEDIA_TYPE,
    ChargeRequest,
    ChargeResponse,
    ErrorResponse,
    Paid,
    RefundRequest,
    Remaining,
)
from smsaccounts.dialects.pipeline import Call, Operation, Reply
from smsaccounts.domain import credentials, money
from smsaccounts.domain.charging import MessageClass
from smsaccounts.errors import BadRequest, DomainError, ErrorCode, InvalidField, MissingField
from smsaccounts.services import charging
from smsaccounts.storage.unit_of_work import UnitOfWork

T = TypeVar("T", bound=msgspec.Struct)
_ENCODER = msgspec.json.Encoder()


@dataclasses.dataclass(frozen=True, slots=True)
class Command:
    key: str
    body: Any


def _decoder(type_: type[T]) -> Any:
    def decode(call: Call) -> Command:
        media = (call.header(b"content-type") or "").split(";")[0].strip().lower()
        if media not in ("application/json", ""):
            raise BadRequest("send JSON", code=ErrorCode.MEDIA_TYPE_UNSUPPORTED)
        body = wire.refuse_nul(wire.convert(wire.parse_json_object(call.body), type_))
        return Command(_bearer(call), body)

    return decode


def _bearer(call: Call) -> str:
    scheme, _, key = (call.header(b"authorization") or "").partition(" ")
    return key.strip() if scheme.lower() == "bearer" else ""


def _credential(command: Command) -> str | None:
    return credentials.secret_hash(command.key) if command.key else None


def _charge(uow: UnitOfWork, command: Command, call: Call) -> charging.Result:
    body: ChargeRequest = command.body
    caller = charging.authenticate_gateway(uow, key=command.key, client_ip=call.client_ip)
    reference = _required("reference", body.reference)  # the body before any lookup
    message = charging.Message(
        recipients=_required("recipients", body.recipients),
        text=body.text,
        parts=body.parts,
        message_class=_class(body.message_class),
        price=_price(body.price),
    )
    sender_ref = charging.SenderRef(body.apikey, body.username, body.account_id)
    sender = charging.find_sender(uow, caller=caller, sender=sender_ref)
    return charging.charge(uow, caller=caller, account=sender, reference=reference,
                           message=message)  # fmt: skip


def _refund(uow: UnitOfWork, command: Command, call: Call) -> charging.Result:
    body: RefundRequest = command.body
    caller = charging.authenticate_gateway(uow, key=command.key, client_ip=call.client_ip)
    reference, parts = _required("reference", body.reference), _required("parts", body.parts)
    return charging.refund(uow, caller=caller, reference=reference, parts=parts)


def _required(field: str, value: T | Any) -> Any:
    if value is None:
        raise MissingField(f"{field} is required", field=field)
    return value


def _class(value: str) -> MessageClass:
    try:
        return MessageClass(value)
    except ValueError:
        raise InvalidField("class is standard, premium or charity", field="class") from None


def _price(value: str | None) -> int:
    if value is None:
        return 0
    try:
        units = money.to_units(money.parse_amount(value))
    except (money.MoneyError, ArithmeticError):
        raise InvalidField("price must be a decimal amount", field="price") from None
    if units < 0:
        raise InvalidField("price must not be negative", field="price")
    return units


def _encode(_call: Call, result: charging.Result) -> Reply:
    found, left = result.charge, result.spendable
    answer = ChargeResponse(
        reference=found.reference,
        account_id=found.account_id,
        payer_id=found.payer_id,
        recipients=found.recipients,
        charged_parts=found.parts,
        paid=Paid(own_free_sms=found.own_free_sms, free_sms=found.free_sms,
                  credits=found.credits, money=money.format_amount(found.money)),
        remaining=Remaining(free_sms=left.free_sms, credits=left.credits,
                            balance=money.format_amount(left.balance)),
        replayed=result.replayed,
        refunded_parts=found.refunded_parts,
    )  # fmt: skip
    return Reply(200, MEDIA_TYPE, _ENCODER.encode(answer))


def fail(call: Call, error: DomainError, _operation: str | None) -> Reply:
    """Any error as `{"error": code, "message", "field"}` with the table's HTTP status."""
    status = errors.STATUS[error.code]
    if status == 401:
        message = f"authentication failed [{call.request_id}]"  # the log line says why
    elif status >= 500:
        message = f"{error.code.value} [{call.request_id}]"
    else:
        message = error.message
    field = error.field if status not in (401, 500, 503) else None
    body = ErrorResponse(error=error.code.value, message=message, field=field)
    headers = pipeline.allow_header(call, error) + pipeline.retry_after_header(error)
    return Reply(status, MEDIA_TYPE, _ENCODER.encode(body), headers, error.code.value)


def _operation(name: str, type_: type[Any], run: Any) -> Operation[Any, Any]:
    return Operation(name=name, decode=_decoder(type_), run=run, encode=_encode,
                     credential=_credential, run_on_loop=pipeline.writes_on_loop(run))  # fmt: skip


DIALECT = pipeline.Dialect(
    name="charging",
    mounts=("/charging",),
    routes={
        "/v1/charge": {"POST": _operation("charge", ChargeRequest, _charge)},
        "/v1/refund": {"POST": _operation("refund", RefundRequest, _refund)},
    },
    fail=fail,
)
