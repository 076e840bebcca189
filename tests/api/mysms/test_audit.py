"""Every change through the mysms door appends one audit row naming the door, the client IP
and the acting account: the registering client's customer for `create`, the user itself for
what it does with its token (or asks a reset for); never a password, PIN or token."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from smsaccounts.domain.models import Account
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests.conftest import CLIENT_IP

from .conftest import Tenant
from .wire_client import Api, password_from_outbox, register

MSISDN = "436761234567"
GERMAN = "4915112345678"


def _rows(uow: UnitOfWork, account_id: int) -> list[Any]:
    """The account's audit rows, oldest first."""
    with uow.read() as tx:
        return list(reversed(tx.audit.entries(target_id=account_id)))


def _user(uow: UnitOfWork) -> Account:
    with uow.read() as tx:
        found = tx.accounts.get_by_msisdn(MSISDN)
    assert found is not None
    return found


def _journey(http: TestClient, uow: UnitOfWork, tenant: Tenant) -> tuple[Account, list[Any]]:
    """create, setting/set, smsrouting/set (new, then changed), password/change,
    password/reset, delete: the user's audit rows after each of them."""
    api, key = Api(http, "json"), tenant.key
    token = register(api, uow, key, MSISDN, "first-pw")
    user = _user(uow)
    settings = {"smsRouting": 1, "signature": "-- me", "a2aSendEnabled": False,
                "a2aReceiveEnabled": True}  # fmt: skip
    assert api.call("setting/set", apiKey=key, authToken=token, **settings)["errorCode"] == 0
    for route in (0, 1):
        assert api.call("smsrouting/set", apiKey=key, authToken=token, recipient=GERMAN,
                        smsRouting=route)["errorCode"] == 0  # fmt: skip
    assert api.call("password/change", apiKey=key, authToken=token,
                    password="second-pw")["errorCode"] == 0  # fmt: skip
    api.call("login", apiKey=key, msisdn=MSISDN, password="second-pw")
    assert api.call("password/reset", apiKey=key, msisdn=MSISDN)["errorCode"] == 0
    token = api.call("login", apiKey=key, msisdn=MSISDN,
                     password=password_from_outbox(uow, MSISDN))["authToken"]  # fmt: skip
    assert api.call("delete", apiKey=key, authToken=token)["errorCode"] == 0
    return user, _rows(uow, user.id)


def test_each_mysms_change_is_one_row_of_the_mysms_door_with_ip_and_actor(
    http: TestClient, uow: UnitOfWork, tenant: Tenant
) -> None:
    user, rows = _journey(http, uow, tenant)
    assert [row.action for row in rows] == [
        "account.create", "settings.set", "route.set", "route.set", "password.set",
        "password.set", "account.delete",
    ]  # fmt: skip
    assert {(row.door, row.client_ip) for row in rows} == {("mysms", CLIENT_IP)}
    assert rows[0].actor_id == tenant.customer.id  # the client registering the user
    assert {row.actor_id for row in rows[1:]} == {user.id}  # the user, by its token or msisdn


def test_settings_are_audited_with_before_and_after(
    http: TestClient, uow: UnitOfWork, tenant: Tenant
) -> None:
    rows = _journey(http, uow, tenant)[1]
    settings, new_route, changed_route = rows[1], rows[2], rows[3]
    assert settings.changes == {"sms_routing": (2, 1), "signature": ("", "-- me"),
                                "a2a_send_enabled": (True, False)}  # fmt: skip
    assert new_route.changes == {f"sms_route:{GERMAN}": (None, 0)}
    assert changed_route.changes == {f"sms_route:{GERMAN}": (0, 1)}


def test_password_changes_and_resets_record_the_tokens_they_revoke_and_no_secret(
    http: TestClient, uow: UnitOfWork, tenant: Tenant
) -> None:
    rows = _journey(http, uow, tenant)[1]
    change, reset, delete = rows[4], rows[5], rows[6]
    # Each revokes the one live token: the registration's, the login after the change, the
    # login after the reset.
    assert change.changes["password"] == ("[secret]", "[secret]")
    assert change.changes["tokens_revoked"] == (None, 1)
    assert reset.changes["tokens_revoked"] == (None, 1)
    assert delete.changes["tokens_revoked"] == (None, 1)
    generated = password_from_outbox(uow, MSISDN)
    everything = repr(rows)
    for secret in ("first-pw", "second-pw", generated, "sat_"):
        assert secret not in everything
