"""The console's changes to one account; each is a form POST, CSRF-checked by `web.page`.

Every change goes through the service the APIs and the CLI use (the ledger and the audit
log record it there); a refusal shows the service's message on the account page, and an
account outside the actor's subtree is "not found" whatever the form says.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from smsaccounts.console import pages
from smsaccounts.console.messages import sentence
from smsaccounts.console.web import Console, Handler, Signed, not_found, redirect
from smsaccounts.domain import account_fields
from smsaccounts.domain.models import Account, Asset, BillingType
from smsaccounts.domain.tree import Kind
from smsaccounts.errors import DomainError, InvalidField, MissingField, NotFound
from smsaccounts.services import accounts, apikeys, auth, console, provisioning, subusers, wallet
from smsaccounts.services.ports import UnitOfWork

TOP_UP_REASON = "console_top_up"

# An action: (uow, actor, target, form) -> what the account page shows once (or None).
Action = Callable[[UnitOfWork, Account, Account, FormData], dict[str, Any] | None]


def _text(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _whole(form: FormData, name: str) -> int:
    raw = _text(form, name)
    if not raw.lstrip("-").isdigit() or len(raw) > 19:
        raise InvalidField("must be a whole number", field=name)
    return int(raw)


def _billing(form: FormData, name: str) -> BillingType | None:
    raw = _text(form, name)
    if not raw:
        return None
    if raw not in BillingType.__members__:
        raise InvalidField("must be PRE_PAID or POST_PAID", field=name)
    return BillingType(raw)


def create(uow: UnitOfWork, me: Account, target: Account, form: FormData) -> dict[str, Any]:
    """A reseller by the admin, a customer by a reseller, a user under a customer (by it, its
    reseller or the admin), a sub-user by an aclAdmin user: the APIs' own create services."""
    kind = pages.child_kind(me, target)
    if kind is None:
        raise NotFound("account not found")
    name, password = _text(form, "name"), str(form.get("password", ""))
    if not name:  # what every API's create refuses before its service runs
        raise MissingField("name is required", field="name")
    if kind is Kind.RESELLER:
        made = provisioning.create_reseller(
            uow, name=name, password=password,
            billing_type=_billing(form, "billing_type") or BillingType.PRE_PAID,
        )  # fmt: skip
    elif kind is Kind.CUSTOMER:
        made = provisioning.create_customer(uow, reseller=me, new=provisioning.NewCustomer(
            name=name, integration_id=_text(form, "integration_id"),
            billing_type=_billing(form, "billing_type"),
        ))  # fmt: skip
        if password:
            auth.change_password(uow, account_id=made.id, password=password)
    elif target.kind is Kind.CUSTOMER:
        made = provisioning.create_user(uow, reseller=me, new=provisioning.NewUser(
            username=name, password=password, customer_id=target.object_id,
            email=_text(form, "email"), phone_number=_text(form, "phone_number"),
        ))  # fmt: skip
    else:
        changes = {"name": name, "password": password, "email": _text(form, "email")}
        record, _secret = subusers.create(uow, actor=me, changes=changes)
        made = record.account
    return {"redirect": made.id}


def transfer(uow: UnitOfWork, me: Account, target: Account, form: FormData) -> None:
    """The reseller API's credit transfer (`credits move`): to a customer, or back."""
    source_id = pages.transfer_source(me, target)
    if source_id is None:
        raise NotFound("account not found")
    amount = _whole(form, "credits")
    reseller = accounts.get(uow, actor=me, account_id=source_id)
    if _text(form, "direction") == "back":
        provisioning.move_credits(uow, source=target, target=reseller, credits=amount)
    else:
        provisioning.move_credits(uow, source=reseller, target=target, credits=amount)


def top_up(uow: UnitOfWork, me: Account, target: Account, form: FormData) -> None:
    """The admin credits a reseller's pool (a ledger entry on the reseller, by the admin)."""
    if me.kind is not Kind.ADMIN or target.kind is not Kind.RESELLER:
        raise NotFound("account not found")
    wallet.credit(
        uow,
        account_id=target.id,
        asset=Asset.CREDITS,
        amount=_whole(form, "credits"),
        reason=TOP_UP_REASON,
        actor_id=me.id,
    )


def create_key(uow: UnitOfWork, _me: Account, target: Account, form: FormData) -> dict[str, Any]:
    purpose = _text(form, "purpose") or "client"
    if purpose not in ("client", apikeys.USER_KEY) or (
        purpose == apikeys.USER_KEY and target.kind is not Kind.USER
    ):
        raise InvalidField(
            "a user's own key belongs to a user; others take client keys", field="purpose"
        )
    rights = frozenset(_text(form, "rights").replace(",", " ").split())
    key, secret = auth.create_api_key(
        uow,
        owner_id=target.id,
        name=_text(form, "key_name") or target.name,
        purpose=purpose,
        rights=rights,
        allowed_ips=_text(form, "allowed_ips"),
    )
    return {"secret": secret, "secret_key_id": key.id}


def _own_key(uow: UnitOfWork, target: Account, form: FormData) -> int:
    key_id = _whole(form, "key_id")
    if key_id not in {k.id for k in apikeys.list_keys(uow, account_id=target.id)}:
        raise NotFound("no such api key")
    return key_id


def revoke_key(uow: UnitOfWork, _me: Account, target: Account, form: FormData) -> None:
    apikeys.revoke_key(uow, key_id=_own_key(uow, target, form))


def rotate_key(uow: UnitOfWork, _me: Account, target: Account, form: FormData) -> dict[str, Any]:
    key, secret = apikeys.rotate_key(uow, key_id=_own_key(uow, target, form))
    return {"secret": secret, "secret_key_id": key.id}


def state(uow: UnitOfWork, me: Account, target: Account, form: FormData) -> None:
    """Enable, disable or delete an account below the actor (never itself)."""
    if target.id == me.id:
        raise InvalidField("you cannot change your own account's state here", field="state")
    change = {"enable": accounts.enable, "disable": accounts.disable, "delete": accounts.delete}
    chosen = change.get(_text(form, "state"))
    if chosen is None:
        raise InvalidField("must be enable, disable or delete", field="state")
    chosen(uow, actor=me, account_id=target.id)


def reset_password(uow: UnitOfWork, me: Account, target: Account, form: FormData) -> None:
    console.reset_password(
        uow, actor=me, account_id=target.id, password=str(form.get("password", ""))
    )


def settings(uow: UnitOfWork, me: Account, target: Account, form: FormData) -> None:
    """The account's IP range (through `accounts.update`) and its MOR API secret."""
    accounts.update(
        uow, actor=me, account_id=target.id, changes={"iprange": _text(form, "iprange")}
    )
    if form.get("mor_secret_change") == "yes":
        auth.set_mor_secret(uow, account_id=target.id, secret=_text(form, "mor_secret"))


def low_balance(uow: UnitOfWork, me: Account, target: Account, form: FormData) -> None:
    """The low-balance alert's asset, threshold (empty: none) and contact, parsed and set as
    `smsaccounts account set` does (`domain.account_fields`, `accounts.update`)."""
    changes: dict[str, Any] = {}
    for field in ("low_balance_asset", "low_balance_threshold", "low_balance_contact"):
        changes.update(account_fields.parse(field, _text(form, field)))
    accounts.update(uow, actor=me, account_id=target.id, changes=changes)


def set_funding(uow: UnitOfWork, me: Account, target: Account, form: FormData) -> None:
    """Who pays for the account: by an account above it only (`accounts.update` refuses the
    account itself, as every door does)."""
    changes = account_fields.parse("funding", _text(form, "funding"))
    accounts.update(uow, actor=me, account_id=target.id, changes=changes)


def _handler(action: Action) -> Handler:
    async def handle(c: Console, request: Request, signed: Signed) -> Response:
        me, form = signed.account, request.state.form
        account_id = int(request.path_params["account_id"])

        def run() -> dict[str, Any] | None:
            target = accounts.get(c.uow, actor=me, account_id=account_id)
            return action(c.uow, me, target, form)

        try:
            shown = await run_in_threadpool(run)
        except NotFound:
            return not_found(c, request, signed)
        except DomainError as error:
            return await _again(
                c, request, signed, 400, error=sentence(error), failed=action.__name__
            )
        if shown and "redirect" in shown:
            return redirect(request, f"/console/accounts/{shown['redirect']}")
        if shown:
            return await _again(c, request, signed, 200, **shown)
        return redirect(request, f"/console/accounts/{account_id}")

    return handle


async def _again(
    c: Console, request: Request, signed: Signed, status: int, **extra: Any
) -> Response:
    found = await run_in_threadpool(pages.account_context, c, signed, request, **extra)
    if found is None:
        return not_found(c, request, signed)
    return c.render(request, "account.html", status=status, me=signed, **found)


ACTIONS: dict[str, Handler] = {
    "create": _handler(create),
    "transfer": _handler(transfer),
    "top-up": _handler(top_up),
    "keys": _handler(create_key),
    "keys/revoke": _handler(revoke_key),
    "keys/rotate": _handler(rotate_key),
    "state": _handler(state),
    "password": _handler(reset_password),
    "settings": _handler(settings),
    "low-balance": _handler(low_balance),
    "funding": _handler(set_funding),
}
