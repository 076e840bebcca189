"""Submitting a message a user sends (LINK's `POST /v2/message`, mysms's
`/remote/sms/send`): charged, then queued in the outbox, one SMS per recipient, from the
sender the client named, in one transaction.

The outbox worker delivers each SMS through the configured transport from that sender
(`http`: the template's `{sender}`, Kannel's and Jasmin's `from`).
"""

from __future__ import annotations

from smsaccounts.domain import sms
from smsaccounts.domain.charging import Charge
from smsaccounts.domain.models import Account
from smsaccounts.errors import InvalidField
from smsaccounts.services import charging, outbox
from smsaccounts.services.ports import Tx, UnitOfWork

PURPOSE = "message"


def check_coding(text: str, wanted: sms.Coding | None, *, field: str) -> None:
    """A coding the client asks for must be the one the text goes in: it is chosen from
    the characters (GSM 03.38 when every one has septets, else UCS-2) and charged so."""
    if wanted is None:
        return
    coding = sms.count(text).coding
    if coding is not wanted:
        raise InvalidField(f"the text goes as {coding.value}, not {wanted.value}", field=field)


def submit(
    uow: UnitOfWork,
    *,
    account: Account,
    reference: str,
    message: charging.Message,
    sender: str | None,
) -> charging.Result:
    """Charge `message` to `account` under `reference` and queue it to every recipient
    from `sender` (None: SMSACCOUNTS_SMS_SENDER); a replayed reference queues nothing."""
    text = message.text
    if text is None:
        raise InvalidField("a text is required", field="text")

    def queue(tx: Tx, _charge: Charge, numbers: list[str]) -> None:
        for number in numbers:
            outbox.queue(tx, to_msisdn=number, text=text, purpose=PURPOSE,
                         account_id=account.id, sender=sender)  # fmt: skip

    return charging.charge(uow, caller=account, account=account, reference=reference,
                           message=message, then=queue)  # fmt: skip
