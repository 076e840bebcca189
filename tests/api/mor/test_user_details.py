"""user_details_get over HTTP: the seed's document, hash and password checks, and the
subtree rule, on both databases."""

from __future__ import annotations

from typing import Any

from lxml import etree

from smsaccounts.domain import money
from smsaccounts.domain.models import Asset, BillingType
from smsaccounts.domain.tree import ADMIN_ID
from smsaccounts.services import accounts, auth, wallet
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories
from tests.api.mor.conftest import MorClient, error_of, sha1_hash

SEED_ORDER = [
    "page", "pagename", "language", "userid", "details",
    "main_detail", "account", "balance", "balance_number", "balance_currency", "credit",
    "other_details", "username", "first_name", "surname", "personalid", "agreement_number",
    "agreement_date", "taxation_country", "vat_reg_number", "vat_percent",
    "registration", "reg_address", "reg_postcode", "reg_city", "reg_country", "reg_state",
    "reg_direction", "reg_phone", "reg_mobile", "reg_fax", "reg_email",
]  # fmt: skip


def _texts(response: Any) -> dict[str, str]:
    root = etree.fromstring(response.content)
    return {el.tag: el.text or "" for el in root.iter() if len(el) == 0}


def test_the_admin_gets_the_seed_document_with_every_element_in_order(
    uow: UnitOfWork, mor: MorClient
) -> None:
    """Values come from the account and its wallet; empty fields stay as empty elements."""
    user = factories.user(uow, first_name="Ada", surname="Lovelace", reg_city="London",
                          vat_percent="20", billing_type=BillingType.PRE_PAID)  # fmt: skip
    wallet.credit(uow, account_id=user.id, asset=Asset.BALANCE,
                  amount=money.to_units(money.parse_amount("12.5")), reason="test")  # fmt: skip

    response = mor.call("user_details_get", u="admin", hashed={"user_id": str(user.id)})

    assert error_of(response) is None
    root = etree.fromstring(response.content)
    assert [el.tag for el in root.iter()] == SEED_ORDER
    texts = _texts(response)
    assert texts["pagename"] == "Personal_details"
    assert texts["language"] == "en"
    assert texts["userid"] == str(user.id)
    assert texts["account"] == "Prepaid"
    assert texts["balance"] == "12.5000 EUR"
    assert texts["balance_number"] == "12.5000"
    assert texts["balance_currency"] == "EUR"
    assert texts["credit"] == "0.0000"
    assert texts["username"] == user.name
    assert (texts["first_name"], texts["surname"]) == ("Ada", "Lovelace")
    assert (texts["reg_city"], texts["vat_percent"]) == ("London", "20")
    assert texts["personalid"] == texts["reg_email"] == ""


def test_a_post_paid_account_shows_its_credit_limit_or_unlimited(
    uow: UnitOfWork, mor: MorClient
) -> None:
    user = factories.user(uow, billing_type=BillingType.POST_PAID)
    first = _texts(mor.call("user_details_get", u="admin", hashed={"user_id": str(user.id)}))
    with uow.write() as tx:
        tx.wallets.set_terms(user.id, credit_limit=money.to_units(money.parse_amount("50")))
    second = _texts(mor.call("user_details_get", u="admin", hashed={"user_id": str(user.id)}))
    assert (first["account"], first["credit"]) == ("Postpaid", "Unlimited")
    assert second["credit"] == "50.0000"


def test_a_username_with_xml_characters_round_trips(uow: UnitOfWork, mor: MorClient) -> None:
    user = factories.user(uow, name="a<&>b", first_name='"q" & <x>')
    response = mor.call("user_details_get", u="admin", hashed={"username": "a<&>b"})
    texts = _texts(response)
    assert texts["username"] == "a<&>b"
    assert texts["first_name"] == '"q" & <x>'
    assert texts["userid"] == str(user.id)


def test_user_id_and_username_together_must_name_the_same_account(
    uow: UnitOfWork, mor: MorClient
) -> None:
    user = factories.user(uow)
    other = factories.user(uow)
    same = mor.call("user_details_get", u="admin",
                    hashed={"user_id": str(user.id), "username": user.name})  # fmt: skip
    mixed = mor.call("user_details_get", u="admin",
                     hashed={"user_id": str(user.id), "username": other.name})  # fmt: skip
    assert _texts(same)["userid"] == str(user.id)
    assert error_of(mixed) == "User was not found"


def test_the_old_name_user_details_and_a_form_body_work_too(
    uow: UnitOfWork, mor: MorClient
) -> None:
    user = factories.user(uow)
    response = mor.call("user_details", u="admin", hashed={"user_id": str(user.id)}, form=True)
    assert _texts(response)["username"] == user.name


def test_an_unknown_user_and_one_outside_the_subtree_answer_the_same_bytes(
    uow: UnitOfWork, mor: MorClient
) -> None:
    """A reseller cannot tell another reseller's user from a user that does not exist."""
    mine = factories.reseller(uow)
    auth.set_mor_secret(uow, account_id=mine.id, secret="mine")
    foreign = factories.user(uow)  # under a different reseller
    outside = mor.call("user_details_get", u=mine.name, secret="mine",
                       hashed={"user_id": str(foreign.id)})  # fmt: skip
    missing = mor.call("user_details_get", u=mine.name, secret="mine",
                       hashed={"user_id": "999999"})  # fmt: skip
    by_name = mor.call("user_details_get", u=mine.name, secret="mine",
                       hashed={"username": foreign.name})  # fmt: skip
    assert error_of(missing) == "User was not found"
    assert outside.content == missing.content == by_name.content


def test_a_reseller_sees_itself_and_below_and_a_user_only_itself(
    uow: UnitOfWork, mor: MorClient
) -> None:
    reseller = factories.reseller(uow)
    customer = factories.customer(uow, parent=reseller)
    user = factories.user(uow, parent=customer)
    seen_by_reseller = [
        mor.call("user_details_get", u=reseller.name, hashed={"user_id": str(a.id)})
        for a in (reseller, customer, user)
    ]
    user_self = mor.call("user_details_get", u=user.name, hashed={"user_id": str(user.id)})
    user_up = mor.call("user_details_get", u=user.name, hashed={"user_id": str(customer.id)})
    user_admin = mor.call("user_details_get", u=user.name, hashed={"user_id": str(ADMIN_ID)})
    assert [_texts(r)["userid"] for r in seen_by_reseller] == [
        str(reseller.id), str(customer.id), str(user.id)
    ]  # fmt: skip
    assert _texts(user_self)["userid"] == str(user.id)
    assert error_of(user_up) == error_of(user_admin) == "User was not found"


def test_a_deleted_user_is_not_found(uow: UnitOfWork, mor: MorClient) -> None:
    user = factories.user(uow)
    accounts.delete(uow, actor=_admin(uow), account_id=user.id)
    response = mor.call("user_details_get", u="admin", hashed={"user_id": str(user.id)})
    assert error_of(response) == "User was not found"


def _admin(uow: UnitOfWork) -> Any:
    with uow.read() as tx:
        return tx.accounts.get(ADMIN_ID)


def test_a_hash_off_by_one_character_is_an_incorrect_hash(uow: UnitOfWork, mor: MorClient) -> None:
    user = factories.user(uow)
    good = sha1_hash(str(user.id), "456789")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    response = mor.call("user_details_get", u="admin", hashed={"user_id": str(user.id)},
                        hash=bad)  # fmt: skip
    assert error_of(response) == "Incorrect hash"


def test_a_hash_built_in_the_wrong_order_is_an_incorrect_hash(
    uow: UnitOfWork, mor: MorClient
) -> None:
    user = factories.user(uow)
    wrong = sha1_hash(user.name, str(user.id), "456789")
    right = sha1_hash(str(user.id), user.name, "456789")
    params = {"user_id": str(user.id), "username": user.name}
    refused = mor.call("user_details_get", u="admin", hashed=params, hash=wrong)
    accepted = mor.call("user_details_get", u="admin", hashed=params, hash=right)
    assert error_of(refused) == "Incorrect hash"
    assert error_of(accepted) is None


def test_an_unknown_caller_or_a_missing_hash_is_an_incorrect_hash(mor: MorClient) -> None:
    unknown = mor.call("user_details_get", u="nobody", hashed={"user_id": str(ADMIN_ID)})
    no_hash = mor.http.post("/billing/api/user_details_get",
                            params={"u": "admin", "user_id": str(ADMIN_ID)})  # fmt: skip
    assert error_of(unknown) == error_of(no_hash) == "Incorrect hash"


def test_an_installation_without_any_secret_answers_incorrect_hash(client: Any) -> None:
    """Without a secret, even the hash of the bare values (an empty secret) is refused."""
    response = MorClient(client).call("user_details_get", u="admin", secret="",
                                      hashed={"user_id": str(ADMIN_ID)})  # fmt: skip
    assert error_of(response) == "Incorrect hash"


def test_the_secret_is_inherited_from_the_nearest_ancestor_that_has_one(
    uow: UnitOfWork, mor: MorClient
) -> None:
    reseller = factories.reseller(uow)
    user = factories.user(uow, parent=factories.customer(uow, parent=reseller))
    hashed = {"user_id": str(user.id)}
    with_admin_secret = mor.call("user_details_get", u=user.name, hashed=hashed)
    auth.set_mor_secret(uow, account_id=reseller.id, secret="R")
    admin_secret_now = mor.call("user_details_get", u=user.name, hashed=hashed)
    reseller_secret = mor.call("user_details_get", u=user.name, secret="R", hashed=hashed)
    assert error_of(with_admin_secret) is None
    assert error_of(admin_secret_now) == "Incorrect hash"
    assert error_of(reseller_secret) is None


def test_a_right_password_passes_and_a_wrong_one_is_a_bad_login(
    uow: UnitOfWork, mor: MorClient
) -> None:
    user = factories.user(uow)
    hashed = {"user_id": str(user.id)}
    right = mor.call("user_details_get", u=user.name, hashed=hashed, p=factories.PASSWORD)
    wrong = mor.call("user_details_get", u=user.name, hashed=hashed, p="not-it")
    assert error_of(right) is None
    assert error_of(wrong) == "Bad login"


def test_after_the_lockout_even_the_right_password_is_a_bad_login(
    uow: UnitOfWork, mor: MorClient
) -> None:
    user = factories.user(uow)
    hashed = {"user_id": str(user.id)}
    for _ in range(uow.settings.login_max_failures):
        mor.call("user_details_get", u=user.name, hashed=hashed, p="not-it")
    blocked = mor.call("user_details_get", u=user.name, hashed=hashed, p=factories.PASSWORD)
    assert error_of(blocked) == "Bad login"


def test_the_hash_is_checked_before_the_password(uow: UnitOfWork, mor: MorClient) -> None:
    user = factories.user(uow)
    response = mor.call("user_details_get", u=user.name, hashed={"user_id": str(user.id)},
                        p="not-it", hash="0" * 40)  # fmt: skip
    assert error_of(response) == "Incorrect hash"


def test_a_disabled_caller_is_access_denied(uow: UnitOfWork, mor: MorClient) -> None:
    user = factories.user(uow)
    accounts.disable(uow, actor=_admin(uow), account_id=user.id)
    response = mor.call("user_details_get", u=user.name, hashed={"user_id": str(user.id)})
    assert error_of(response) == "Access Denied"


def test_a_caller_outside_its_own_ip_ranges_is_access_denied(
    uow: UnitOfWork, mor: MorClient
) -> None:
    user = factories.user(uow, iprange="192.0.2.1")
    response = mor.call("user_details_get", u=user.name, hashed={"user_id": str(user.id)})
    assert error_of(response) == "Access Denied"
