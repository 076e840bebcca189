"""mysms's `/remote/sms/send` (reference: docs/mysms.md): a logged-in user sends an SMS.

The request is mysms's `remoteSmsSendRequest` as its wrappers and samples send it:
`recipients` (international numbers), `message`, `encoding`, `smsConnectorId`, `store` and
`dateSendOn`. The message is charged to the wallet the user spends from and queued in the
outbox, one SMS per recipient, from the user's own number (a user without one: from
SMSACCOUNTS_SMS_SENDER). A documented field this server cannot honour is refused (2), never
silently dropped: a `dateSendOn` (no scheduling), an `smsConnectorId` other than 0 (no
connectors), `store` false (the outbox keeps every message it sends), and an `encoding` the
text does not take (8-bit, or 7-bit for a text with characters GSM 03.38 lacks).
"""

from __future__ import annotations

import secrets

from smsaccounts.dialects.mysms.messages import Number, authRequest, response
from smsaccounts.domain import sms
from smsaccounts.errors import InvalidField, MissingField
from smsaccounts.services import charging, messages, sessions
from smsaccounts.services.sessions import Caller
from smsaccounts.storage.unit_of_work import UnitOfWork

PATH = "remote/sms/send"  # below /rest, /json and /xml: the operation's name
REFERENCE = "mysms-remote:{}"  # the charge's reference: the request id
# mysms's encodings: 0 7-bit (GSM 03.38), 1 8-bit (binary: not sent here), 2 UCS-2.
ENCODINGS = {0: sms.Coding.GSM7, 2: sms.Coding.UCS2}


class remoteSmsSendRequest(authRequest, kw_only=True):
    recipients: list[Number] | Number | None = None  # XML: one element per recipient
    message: str | None = None
    dateSendOn: str | None = None  # refused: no scheduled sending
    encoding: int | None = None  # absent: chosen from the text
    smsConnectorId: int | None = None  # absent: 0, the operator's SMS
    store: bool | None = None  # absent: true


class remoteSmsSendResponse(response, kw_only=True, omit_defaults=True):
    requestId: int | None = None  # the remote send request's id


REQUIRED = ("apiKey", "authToken", "recipients", "message")


def send(uow: UnitOfWork, caller: Caller, req: remoteSmsSendRequest) -> response:
    """Charge the user for the message and queue it to every recipient, in one transaction."""
    user = sessions.session(uow, caller, auth_token=req.authToken)
    recipients = _recipients(req.recipients)
    if not req.message:
        raise MissingField("message is required", field="message")
    _refuse_what_is_not_honoured(req)
    messages.check_coding(req.message, _coding(req.encoding), field="encoding")
    request_id = secrets.randbelow(2**53) + 1
    message = charging.Message(recipients=recipients, text=req.message)
    messages.submit(uow, account=user, reference=REFERENCE.format(request_id), message=message,
                    sender=user.msisdn or None)  # fmt: skip
    return remoteSmsSendResponse(errorCode=0, requestId=request_id)


def _recipients(value: list[Number] | Number | None) -> list[Number]:
    found = value if isinstance(value, list) else [] if value is None else [value]
    if not found:
        raise MissingField("recipients is required", field="recipients")
    return found


def _refuse_what_is_not_honoured(req: remoteSmsSendRequest) -> None:
    if req.dateSendOn is not None:
        raise InvalidField("scheduled sending is not supported", field="dateSendOn")
    if req.smsConnectorId not in (None, 0):
        raise InvalidField("only 0, the operator's SMS, is supported", field="smsConnectorId")
    if req.store is False:
        raise InvalidField("every message sent is kept in the outbox", field="store")


def _coding(encoding: int | None) -> sms.Coding | None:
    if encoding is None:
        return None
    if encoding not in ENCODINGS:
        raise InvalidField("encoding is 0 (7-bit) or 2 (UCS-2)", field="encoding")
    return ENCODINGS[encoding]
