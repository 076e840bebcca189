"""Each method's own error codes from seed 000, asserted exactly, in JSON and in XML."""

from __future__ import annotations

from typing import Any

import pytest

from smsaccounts.domain.clock import FakeClock
from smsaccounts.services import outbox
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories, multiserver

from .conftest import Tenant
from .wire_client import Api, pin_from_outbox, register

MSISDN = "436761234567"
OTHER = "436761234568"
INVALID_AT = "43000000000"  # Austrian calling code, not a valid Austrian number
GERMAN = "4915112345678"


def wrong(pin: str) -> str:
    return f"{(int(pin) + 1) % 1_000_000:06d}"


def sms_count(uow: UnitOfWork, msisdn: str) -> int:
    return len(outbox.list_messages(uow, to_msisdn=msisdn))


# -- /user/create: 1, 102, 400, 404, 500, 501 (and 103) ----------------------------------


def test_create_without_the_create_right_is_1(api: Api, uow: UnitOfWork, tenant: Tenant) -> None:
    key = factories.client_key(uow, tenant.customer, rights=frozenset({"user.delete"}))
    api.call("msisdn/verify", apiKey=tenant.key, msisdn=MSISDN)
    pin = pin_from_outbox(uow, MSISDN)
    answer = api.call("create", apiKey=key, msisdn=MSISDN, password="pw-1234", pin=pin)
    assert answer == {"errorCode": 1}


@pytest.mark.parametrize("password", ["abc", "x" * 16])
def test_create_with_a_password_outside_4_to_15_chars_is_102_and_keeps_the_pin(
    api: Api, uow: UnitOfWork, tenant: Tenant, password: str
) -> None:
    api.call("msisdn/verify", apiKey=tenant.key, msisdn=MSISDN)
    pin = pin_from_outbox(uow, MSISDN)
    answer = api.call("create", apiKey=tenant.key, msisdn=MSISDN, password=password, pin=pin)
    assert answer == {"errorCode": 102}
    answer = api.call("create", apiKey=tenant.key, msisdn=MSISDN, password="abcd", pin=pin)
    assert answer["errorCode"] == 0


def test_create_with_a_wrong_or_never_sent_pin_is_400(
    api: Api, uow: UnitOfWork, tenant: Tenant
) -> None:
    answer = api.call("create", apiKey=tenant.key, msisdn=MSISDN, password="pw-1234", pin="123456")
    assert answer == {"errorCode": 400}
    api.call("msisdn/verify", apiKey=tenant.key, msisdn=MSISDN)
    pin = pin_from_outbox(uow, MSISDN)
    answer = api.call("create", apiKey=tenant.key, msisdn=MSISDN, password="pw-1234",
                      pin=wrong(pin))  # fmt: skip
    assert answer == {"errorCode": 400}


def test_create_after_three_wrong_checks_is_404_even_with_the_right_pin(
    api: Api, uow: UnitOfWork, tenant: Tenant
) -> None:
    api.call("msisdn/verify", apiKey=tenant.key, msisdn=MSISDN)
    pin = pin_from_outbox(uow, MSISDN)
    for _ in range(3):
        assert api.call("msisdn/verify", apiKey=tenant.key, msisdn=MSISDN, pin=wrong(pin)) == {
            "errorCode": 400}  # fmt: skip
    answer = api.call("create", apiKey=tenant.key, msisdn=MSISDN, password="pw-1234", pin=pin)
    assert answer == {"errorCode": 404}


@multiserver.moves_clock
def test_create_for_a_country_not_allowed_is_500(
    make_http: Any, uow: UnitOfWork, tenant: Tenant, clock: FakeClock
) -> None:
    for style in ("json", "xml"):
        clock.advance(uow.settings.pin_resend_seconds)  # each style's PIN SMS is a new one
        api = Api(make_http(allowed_countries=frozenset({"DE"})), style)
        answer = api.call("create", apiKey=tenant.key, msisdn=MSISDN, password="pw-1234",
                          pin="123456")  # fmt: skip
        assert answer == {"errorCode": 500}
        assert api.call("msisdn/verify", apiKey=tenant.key, msisdn=MSISDN) == {"errorCode": 500}
        assert api.call("msisdn/verify", apiKey=tenant.key, msisdn=GERMAN) == {"errorCode": 0}
    assert sms_count(uow, MSISDN) == 0


def test_create_with_an_msisdn_invalid_for_its_country_is_501(api: Api, tenant: Tenant) -> None:
    answer = api.call("create", apiKey=tenant.key, msisdn=INVALID_AT, password="pw-1234",
                      pin="123456")  # fmt: skip
    assert answer == {"errorCode": 501}


def test_create_for_a_registered_msisdn_is_103(api: Api, uow: UnitOfWork, tenant: Tenant) -> None:
    api.call("msisdn/verify", apiKey=tenant.key, msisdn=MSISDN)
    pin = pin_from_outbox(uow, MSISDN)
    factories.user(uow, parent=tenant.customer, msisdn=MSISDN)
    answer = api.call("create", apiKey=tenant.key, msisdn=MSISDN, password="pw-1234", pin=pin)
    assert answer == {"errorCode": 103}


def test_a_pin_is_single_use(api: Api, uow: UnitOfWork, tenant: Tenant) -> None:
    token = register(api, uow, tenant.key, MSISDN, "pw-1234")
    pin = pin_from_outbox(uow, MSISDN)
    assert api.call("delete", apiKey=tenant.key, authToken=token) == {"errorCode": 0}
    answer = api.call("create", apiKey=tenant.key, msisdn=MSISDN, password="pw-1234", pin=pin)
    assert answer == {"errorCode": 400}


@pytest.mark.parametrize("missing", ["msisdn", "password", "pin"])
def test_create_without_a_field_is_2(api: Api, tenant: Tenant, missing: str) -> None:
    fields = {"msisdn": MSISDN, "password": "pw-1234", "pin": "123456"}
    del fields[missing]
    assert api.call("create", apiKey=tenant.key, **fields) == {"errorCode": 2}


# -- /user/msisdn/verify: 103, 400, 404 --------------------------------------------------


def test_verify_for_a_registered_msisdn_is_103_and_sends_nothing(
    api: Api, uow: UnitOfWork, tenant: Tenant
) -> None:
    factories.user(uow, parent=tenant.customer, msisdn=MSISDN)
    assert api.call("msisdn/verify", apiKey=tenant.key, msisdn=MSISDN) == {"errorCode": 103}
    assert api.call("msisdn/verify", apiKey=tenant.key, msisdn=MSISDN, pin="123456") == {
        "errorCode": 103}  # fmt: skip
    assert sms_count(uow, MSISDN) == 0


def test_verify_sends_a_6_digit_pin_that_checks_and_a_wrong_one_is_400(
    api: Api, uow: UnitOfWork, tenant: Tenant
) -> None:
    assert api.call("msisdn/verify", apiKey=tenant.key, msisdn=f"+{MSISDN}") == {"errorCode": 0}
    pin = pin_from_outbox(uow, MSISDN)
    assert len(pin) == 6
    check = {"apiKey": tenant.key, "msisdn": MSISDN}
    assert api.call("msisdn/verify", **check, pin=wrong(pin)) == {"errorCode": 400}
    assert api.call("msisdn/verify", **check, pin=pin) == {"errorCode": 0}


@multiserver.moves_clock
def test_three_wrong_checks_block_checks_for_15_minutes_with_404(
    api: Api, uow: UnitOfWork, tenant: Tenant, clock: FakeClock
) -> None:
    check = {"apiKey": tenant.key, "msisdn": MSISDN}
    api.call("msisdn/verify", **check)
    pin = pin_from_outbox(uow, MSISDN)
    wrong = f"{(int(pin) + 1) % 1_000_000:06d}"
    for _ in range(3):
        assert api.call("msisdn/verify", **check, pin=wrong) == {"errorCode": 400}
    assert api.call("msisdn/verify", **check, pin=pin) == {"errorCode": 404}
    clock.advance(899)
    assert api.call("msisdn/verify", **check, pin=pin) == {"errorCode": 404}
    clock.advance(1)
    api.call("msisdn/verify", **check)  # the first PIN expired meanwhile; ask again
    assert api.call("msisdn/verify", **check, pin=pin_from_outbox(uow, MSISDN)) == {
        "errorCode": 0}  # fmt: skip


@multiserver.moves_clock
def test_a_pin_expires_after_10_minutes_with_400(
    api: Api, uow: UnitOfWork, tenant: Tenant, clock: FakeClock
) -> None:
    check = {"apiKey": tenant.key, "msisdn": MSISDN}
    api.call("msisdn/verify", **check)
    pin = pin_from_outbox(uow, MSISDN)
    clock.advance(599)
    assert api.call("msisdn/verify", **check, pin=pin) == {"errorCode": 0}
    clock.advance(1)
    assert api.call("msisdn/verify", **check, pin=pin) == {"errorCode": 400}


@multiserver.moves_clock
def test_a_new_pin_request_replaces_the_old_pin(
    api: Api, uow: UnitOfWork, tenant: Tenant, clock: FakeClock
) -> None:
    check = {"apiKey": tenant.key, "msisdn": MSISDN}
    api.call("msisdn/verify", **check)
    first = pin_from_outbox(uow, MSISDN)
    second = first
    while second == first:  # one time in a million the new PIN repeats the old one
        clock.advance(uow.settings.pin_resend_seconds)  # a PIN SMS a minute at most
        assert api.call("msisdn/verify", **check) == {"errorCode": 0}
        second = pin_from_outbox(uow, MSISDN)
    assert api.call("msisdn/verify", **check, pin=first) == {"errorCode": 400}
    assert api.call("msisdn/verify", **check, pin=second) == {"errorCode": 0}


# -- /user/login: 101, 107, 108, 109 -----------------------------------------------------


@pytest.fixture
def registered(api: Api, uow: UnitOfWork, tenant: Tenant) -> dict[str, Any]:
    """A user registered through the API; the login fields that work for it."""
    register(api, uow, tenant.key, MSISDN, "right-pw")
    return {"apiKey": tenant.key, "msisdn": MSISDN}


def test_login_with_a_wrong_password_is_101(api: Api, registered: dict[str, Any]) -> None:
    assert api.call("login", **registered, password="wrong-pw") == {"errorCode": 101}


def test_login_for_an_unknown_msisdn_or_another_tenants_user_is_107(
    api: Api, uow: UnitOfWork, registered: dict[str, Any]
) -> None:
    assert api.call("login", **{**registered, "msisdn": OTHER}, password="x") == {
        "errorCode": 107}  # fmt: skip
    other_key = factories.client_key(uow, factories.customer(uow))
    assert api.call("login", apiKey=other_key, msisdn=MSISDN, password="right-pw") == {
        "errorCode": 107}  # fmt: skip


def test_login_key_semantics_check_key_true_must_match_the_last_stored_key(
    api: Api, registered: dict[str, Any]
) -> None:
    login = {**registered, "password": "right-pw"}
    assert api.call("login", **login, key="dev-1", checkKey=True) == {"errorCode": 108}
    assert api.call("login", **login, key="dev-1")["errorCode"] == 0  # checkKey absent: stores
    assert api.call("login", **login, key="dev-1", checkKey=True)["errorCode"] == 0
    assert api.call("login", **login, key="dev-2", checkKey=True) == {"errorCode": 108}
    assert api.call("login", **login, checkKey=True) == {"errorCode": 108}
    assert api.call("login", **login, key="dev-2", checkKey=False)["errorCode"] == 0  # replaces
    assert api.call("login", **login, key="dev-1", checkKey=True) == {"errorCode": 108}
    assert api.call("login", **login, key="dev-2", checkKey=True)["errorCode"] == 0
    assert api.call("login", **login, key="k" * 65) == {"errorCode": 2}


@multiserver.moves_clock
def test_five_wrong_logins_block_login_for_15_minutes_with_109(
    api: Api, registered: dict[str, Any], clock: FakeClock
) -> None:
    for _ in range(4):
        assert api.call("login", **registered, password="wrong") == {"errorCode": 101}
    assert api.call("login", **registered, password="wrong") == {"errorCode": 101}
    # Blocked: the right password looks exactly like a wrong one.
    assert api.call("login", **registered, password="right-pw") == {"errorCode": 109}
    assert api.call("login", **registered, password="wrong") == {"errorCode": 109}
    clock.advance(899)
    assert api.call("login", **registered, password="right-pw") == {"errorCode": 109}
    clock.advance(1)
    assert api.call("login", **registered, password="right-pw")["errorCode"] == 0


@multiserver.moves_clock
def test_wrong_logins_spread_over_more_than_15_minutes_do_not_block(
    api: Api, registered: dict[str, Any], clock: FakeClock
) -> None:
    for _ in range(4):
        assert api.call("login", **registered, password="wrong") == {"errorCode": 101}
    clock.advance(900)
    assert api.call("login", **registered, password="wrong") == {"errorCode": 101}
    assert api.call("login", **registered, password="right-pw")["errorCode"] == 0


# -- /user/password/change: 102 ----------------------------------------------------------


@pytest.mark.parametrize("password", ["abc", "y" * 16])
def test_change_to_a_password_outside_4_to_15_chars_is_102_and_keeps_the_token(
    api: Api, uow: UnitOfWork, tenant: Tenant, password: str
) -> None:
    token = register(api, uow, tenant.key, MSISDN, "right-pw")
    auth = {"apiKey": tenant.key, "authToken": token}
    assert api.call("password/change", **auth, password=password) == {"errorCode": 102}
    assert api.call("balance/get", **auth)["errorCode"] == 0


# -- /user/password/reset: 104 -----------------------------------------------------------


@multiserver.moves_clock
def test_a_reset_within_15_minutes_is_refused_with_104_and_sends_no_sms(
    api: Api, uow: UnitOfWork, registered: dict[str, Any], clock: FakeClock
) -> None:
    reset = {"apiKey": registered["apiKey"], "msisdn": MSISDN}
    before = sms_count(uow, MSISDN)
    assert api.call("password/reset", **reset) == {"errorCode": 0}
    assert sms_count(uow, MSISDN) == before + 1
    clock.advance(899)
    assert api.call("password/reset", **reset) == {"errorCode": 104}
    assert sms_count(uow, MSISDN) == before + 1
    clock.advance(1)
    assert api.call("password/reset", **reset) == {"errorCode": 0}
    assert sms_count(uow, MSISDN) == before + 2


def test_a_reset_for_an_unknown_msisdn_answers_0_and_sends_nothing(
    api: Api, uow: UnitOfWork, tenant: Tenant
) -> None:
    assert api.call("password/reset", apiKey=tenant.key, msisdn=OTHER) == {"errorCode": 0}
    assert sms_count(uow, OTHER) == 0


# -- /user/setting/set and /user/smsrouting/set: 2 ---------------------------------------

SETTINGS = {"smsRouting": 2, "signature": "sig", "a2aSendEnabled": True, "a2aReceiveEnabled": False}


@pytest.fixture
def auth(api: Api, uow: UnitOfWork, tenant: Tenant) -> dict[str, str]:
    return {"apiKey": tenant.key, "authToken": register(api, uow, tenant.key, MSISDN, "pw-1234")}


@pytest.mark.parametrize("missing", list(SETTINGS))
def test_setting_set_without_any_one_of_the_four_is_2_and_changes_nothing(
    api: Api, auth: dict[str, str], missing: str
) -> None:
    before = api.call("setting/get", **auth)
    fields = {k: v for k, v in SETTINGS.items() if k != missing}
    assert api.call("setting/set", **auth, **fields) == {"errorCode": 2}
    assert api.call("setting/get", **auth) == before


@pytest.mark.parametrize("routing", [3, -1, "abc"])
def test_setting_set_with_an_unknown_sms_routing_is_2(
    api: Api, auth: dict[str, str], routing: object
) -> None:
    assert api.call("setting/set", **auth, **{**SETTINGS, "smsRouting": routing}) == {
        "errorCode": 2}  # fmt: skip


@pytest.mark.parametrize(
    "fields",
    [{"smsRouting": 1}, {"recipient": GERMAN}, {"recipient": GERMAN, "smsRouting": 2},
     {"recipient": "not-a-number", "smsRouting": 1}],
)  # fmt: skip
def test_smsrouting_set_without_a_recipient_or_with_a_bad_route_is_2(
    api: Api, auth: dict[str, str], fields: dict[str, Any]
) -> None:
    assert api.call("smsrouting/set", **auth, **fields) == {"errorCode": 2}


def test_smsrouting_get_resolves_2_by_the_recipients_country(
    api: Api, auth: dict[str, str]
) -> None:
    """National (same country as the user's msisdn) over the SIM, international over the
    platform; an explicit entry wins over both."""
    assert api.call("smsrouting/get", **auth, recipient=OTHER)["smsRouting"] == 0
    assert api.call("smsrouting/get", **auth, recipient=GERMAN)["smsRouting"] == 1
    api.call("smsrouting/set", **auth, recipient=OTHER, smsRouting=1)
    assert api.call("smsrouting/get", **auth, recipient=OTHER)["smsRouting"] == 1
    api.call("setting/set", **auth, **{**SETTINGS, "smsRouting": 0})
    assert api.call("smsrouting/get", **auth, recipient=GERMAN)["smsRouting"] == 0


# -- /user/delete: 1 ---------------------------------------------------------------------


def test_delete_without_the_delete_right_is_1_and_keeps_the_user(
    api: Api, uow: UnitOfWork, tenant: Tenant, auth: dict[str, str]
) -> None:
    key = factories.client_key(uow, tenant.customer, rights=frozenset({"user.create"}))
    assert api.call("delete", apiKey=key, authToken=auth["authToken"]) == {"errorCode": 1}
    assert api.call("balance/get", apiKey=key, authToken=auth["authToken"])["errorCode"] == 0
