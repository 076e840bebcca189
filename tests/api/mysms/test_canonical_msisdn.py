"""One phone number is one msisdn, however a client spells it.

libphonenumber reads fullwidth (U+FF10..) and Arabic-Indic (U+0660..) digits as digits, so
those spellings used to be valid numbers that were stored as sent: the same phone number
registered twice, PIN SMS went to a non-ASCII `to`, and lockout counters split per
spelling. Now every door stores, compares, counts and sends to the canonical E.164 digits,
and input is ASCII: other scripts are refused with errorCode 2 and change nothing.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from smsaccounts.services import outbox
from smsaccounts.storage import tables
from smsaccounts.storage.unit_of_work import UnitOfWork

from .conftest import Tenant
from .wire_client import Api, pin_from_outbox, register

MSISDN = "436761234567"
FULLWIDTH = "".join(chr(0xFF10 + int(d)) for d in MSISDN)  # U+FF14 U+FF13 U+FF16 ...
ARABIC_INDIC = "+" + "".join(chr(0x0660 + int(d)) for d in MSISDN)  # + U+0664 U+0663 U+0666 ...
NON_ASCII = [FULLWIDTH, ARABIC_INDIC]
NATIONAL_PREFIX = "+4306761234567"  # the same number with Austria's trunk 0 written out


def users_with_number(uow: UnitOfWork) -> int:
    """Accounts holding any msisdn at all (this test registers only the one number)."""
    with uow.read() as tx:
        query = select(func.count()).select_from(tables.accounts)
        return int(tx.conn.execute(query.where(tables.accounts.c.msisdn.is_not(None))).scalar_one())


def every_sms_to(uow: UnitOfWork) -> list[str]:
    return [message.to_msisdn for message in outbox.list_messages(uow)]


@pytest.mark.parametrize("spelling", NON_ASCII, ids=["fullwidth", "arabic-indic"])
def test_a_registered_number_in_other_digits_is_refused_and_registers_no_second_user(
    api: Api, uow: UnitOfWork, tenant: Tenant, spelling: str
) -> None:
    register(api, uow, tenant.key, MSISDN, "pw-4711")
    sent = every_sms_to(uow)
    assert api.call("msisdn/verify", apiKey=tenant.key, msisdn=spelling) == {"errorCode": 2}
    pin = pin_from_outbox(uow, MSISDN)
    answer = api.call("create", apiKey=tenant.key, msisdn=spelling, password="pw-0815", pin=pin)
    assert answer == {"errorCode": 2}
    assert api.call("password/reset", apiKey=tenant.key, msisdn=spelling) == {"errorCode": 2}
    assert every_sms_to(uow) == sent  # no PIN and no password went anywhere
    assert users_with_number(uow) == 1


def test_an_unregistered_number_in_other_digits_gets_no_pin(
    api: Api, uow: UnitOfWork, tenant: Tenant
) -> None:
    for spelling in NON_ASCII:
        assert api.call("msisdn/verify", apiKey=tenant.key, msisdn=spelling) == {"errorCode": 2}
    assert every_sms_to(uow) == []


def test_another_ascii_spelling_of_a_registered_number_is_103_and_its_sms_go_to_the_canonical_to(
    api: Api, uow: UnitOfWork, tenant: Tenant
) -> None:
    register(api, uow, tenant.key, NATIONAL_PREFIX, "pw-4711")
    assert every_sms_to(uow) == [MSISDN]
    for spelling in (MSISDN, "+" + MSISDN, int(MSISDN), NATIONAL_PREFIX):
        answer = api.call("msisdn/verify", apiKey=tenant.key, msisdn=spelling)
        assert answer == {"errorCode": 103}, spelling
    login = api.call("login", apiKey=tenant.key, msisdn=MSISDN, password="pw-4711")
    assert login["errorCode"] == 0
    assert api.call("password/reset", apiKey=tenant.key, msisdn=NATIONAL_PREFIX) == {
        "errorCode": 0}  # fmt: skip
    assert every_sms_to(uow) == [MSISDN, MSISDN]
    assert users_with_number(uow) == 1


def test_wrong_logins_under_every_spelling_count_against_the_one_number(
    api: Api, uow: UnitOfWork, tenant: Tenant
) -> None:
    """Five failures, spread over three spellings, block the number (109) for all of them."""
    register(api, uow, tenant.key, MSISDN, "pw-4711")
    spellings = [MSISDN, NATIONAL_PREFIX, "+" + MSISDN, NATIONAL_PREFIX, MSISDN]
    for spelling in spellings:
        answer = api.call("login", apiKey=tenant.key, msisdn=spelling, password="wrong")
        assert answer == {"errorCode": 101}
    for spelling in (MSISDN, NATIONAL_PREFIX):
        answer = api.call("login", apiKey=tenant.key, msisdn=spelling, password="pw-4711")
        assert answer == {"errorCode": 109}
    # A spelling in other digits is not a login at all: refused before it is counted.
    assert api.call("login", apiKey=tenant.key, msisdn=FULLWIDTH, password="pw-4711") == {
        "errorCode": 2}  # fmt: skip
