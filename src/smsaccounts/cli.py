"""The operator CLI: every command prints one JSON object; lists print JSON lines."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from smsaccounts import logs
from smsaccounts.config import Settings
from smsaccounts.domain import money
from smsaccounts.domain.models import ACL_FIELDS, Account, ApiKey, Asset, BillingType
from smsaccounts.domain.phone import PhoneError, parse_msisdn
from smsaccounts.domain.tree import ADMIN_ID, Kind
from smsaccounts.errors import DomainError, InvalidField, NotFound
from smsaccounts.services import accounts, apikeys, auth, outbox, wallet
from smsaccounts.storage.migrate import upgrade
from smsaccounts.storage.unit_of_work import UnitOfWork, build

Handler = Callable[[UnitOfWork, argparse.Namespace], Any]


def main(argv: Sequence[str] | None = None) -> int:
    settings = Settings.from_env()
    args = _parser(settings).parse_args(argv)
    if args.handler is serve:
        serve(settings, args)
        return 0
    handler: Handler = args.handler
    uow = build(settings)
    try:
        upgrade(uow.db.engine)
        result = handler(uow, args)
    except DomainError as error:
        _emit(
            {
                "error": error.kind,
                "code": error.code.value,
                "message": error.message,
                **_jsonable(error.fields),
            }
        )
        return 1
    finally:
        uow.db.dispose()
    if isinstance(result, list):
        for item in result:
            _emit(item)
    else:
        _emit(result)
    return 0


def serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from smsaccounts.storage.database import make_engine

    engine = make_engine(settings)
    upgrade(engine)
    engine.dispose()
    logs.configure(settings)  # uvicorn's own lines too, in SMSACCOUNTS_LOG_FORMAT
    uvicorn.run(
        "smsaccounts.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=settings.log_level,
        log_config=None,  # logging is ours (logs.configure), not uvicorn's default
        # The peer's address is the client's: uvicorn would otherwise believe any
        # X-Forwarded-For from loopback. SMSACCOUNTS_TRUSTED_PROXIES names who may set it.
        proxy_headers=False,
        access_log=False,  # the pipeline writes one access line per request
    )
    return 0


def _parser(defaults: Settings) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="smsaccounts", description=__doc__)
    sub = p.add_subparsers(required=True, metavar="COMMAND")
    s = sub.add_parser("serve", help="apply migrations, then serve the API")
    s.add_argument("--host", default=defaults.host)
    s.add_argument("--port", type=int, default=defaults.port)
    s.add_argument("--workers", type=int, default=1)
    s.set_defaults(handler=serve)

    db = sub.add_parser("db", help="database maintenance").add_subparsers(required=True)
    db.add_parser("upgrade", help="apply migrations").set_defaults(handler=db_upgrade)

    billing = [t.value for t in BillingType]
    r = _group(sub, "reseller").add_parser("create", help="create a reseller")
    r.add_argument("name")
    r.add_argument("--password", required=True)
    r.add_argument("--billing-type", choices=billing, default="PRE_PAID")
    r.add_argument("--default-customer-billing-type", choices=billing, default="POST_PAID")
    r.add_argument("--free-credits", type=int, default=0)
    r.add_argument("--credits", type=int, default=0)
    r.set_defaults(handler=reseller_create)

    c = _group(sub, "customer").add_parser("create", help="create a customer")
    c.add_argument("name")
    c.add_argument("--reseller", required=True)
    c.add_argument("--billing-type", choices=billing, default="POST_PAID")
    c.set_defaults(handler=customer_create)

    u = _group(sub, "user").add_parser("create", help="create a user and its own API key")
    u.add_argument("username")
    u.add_argument("--password", required=True)
    owner = u.add_mutually_exclusive_group(required=True)
    owner.add_argument("--customer")
    owner.add_argument("--parent", help="username of the parent user")
    u.add_argument("--msisdn")
    u.add_argument("--acl", default="", help="comma-separated: " + ",".join(_ACL_NAMES))
    u.set_defaults(handler=user_create)

    keys = _group(sub, "apikey")
    k = keys.add_parser("create", help="create a client application key")
    k.add_argument("name")
    k.add_argument("--customer", required=True)
    k.add_argument("--right", action="append", default=[])
    k.add_argument("--allow-ip", action="append", default=[])
    k.set_defaults(handler=apikey_create)
    kl = keys.add_parser("list", help="every key (client and users' own), revoked ones too")
    kl.add_argument("--account", help="only this account's keys (KIND:NAME or an id)")
    kl.set_defaults(handler=apikey_list)
    kr = keys.add_parser("revoke", help="revoke a key: it answers as invalid at once")
    kr.add_argument("key_id", type=int, metavar="KEY_ID")
    kr.set_defaults(handler=apikey_revoke)
    kn = keys.add_parser("rotate", help="revoke a key and print its successor's secret once")
    kn.add_argument("key_id", type=int, metavar="KEY_ID")
    kn.set_defaults(handler=apikey_rotate)

    cr = _group(sub, "credits").add_parser("add", help="add (or with -N remove) credits")
    cr.add_argument("account")
    cr.add_argument("amount", type=int)
    cr.set_defaults(handler=credits_add)

    b = _group(sub, "balance").add_parser("add", help="add money (a signed decimal)")
    b.add_argument("account")
    b.add_argument("amount")
    b.set_defaults(handler=balance_add)

    sec = _group(sub, "secret").add_parser("set", help="set an account's MOR API secret")
    sec.add_argument("account")
    sec.add_argument("secret")
    sec.set_defaults(handler=secret_set)

    acc = _group(sub, "account")
    show = acc.add_parser("show", help="an account and its wallet")
    show.add_argument("account")
    show.set_defaults(handler=account_show)
    aset = acc.add_parser("set", help="set attributes: FIELD=VALUE ...")
    aset.add_argument("account")
    aset.add_argument("assignments", nargs="+", metavar="FIELD=VALUE")
    aset.set_defaults(handler=account_set)

    o = _group(sub, "outbox").add_parser("list", help="queued and sent SMS, with their text")
    o.add_argument("--to")
    o.set_defaults(handler=outbox_list)
    return p


def _group(sub: Any, name: str) -> Any:
    return sub.add_parser(name, help=f"{name} commands").add_subparsers(required=True)


_ACL_NAMES = [name.removeprefix("acl_") for name in ACL_FIELDS]


def db_upgrade(uow: UnitOfWork, _args: argparse.Namespace) -> dict[str, Any]:
    return {"status": "ok", "database": uow.db.engine.url.render_as_string(hide_password=True)}


def reseller_create(uow: UnitOfWork, args: argparse.Namespace) -> dict[str, Any]:
    account = accounts.create(
        uow,
        kind=Kind.RESELLER,
        name=args.name,
        parent_id=ADMIN_ID,
        password=args.password,
        billing_type=BillingType(args.billing_type),
        default_customer_billing_type=args.default_customer_billing_type,
        free_credits=args.free_credits,
    )
    if args.credits:
        wallet.credit(
            uow, account_id=account.id, asset=Asset.CREDITS, amount=args.credits, reason="operator"
        )
    return _describe(uow, account)


def customer_create(uow: UnitOfWork, args: argparse.Namespace) -> dict[str, Any]:
    reseller = _resolve(uow, f"reseller:{args.reseller}")
    account = accounts.create(
        uow,
        kind=Kind.CUSTOMER,
        name=args.name,
        parent_id=reseller.id,
        billing_type=BillingType(args.billing_type),
    )
    return _describe(uow, account)


def user_create(uow: UnitOfWork, args: argparse.Namespace) -> dict[str, Any]:
    parent = _resolve(uow, f"customer:{args.customer}" if args.customer else f"user:{args.parent}")
    attributes: dict[str, Any] = {}
    for acl in filter(None, (a.strip() for a in args.acl.split(","))):
        if acl not in _ACL_NAMES:
            raise InvalidField(f"unknown ACL {acl!r}", field="acl")
        attributes[f"acl_{acl}"] = True
    if args.msisdn:
        try:
            number = parse_msisdn(args.msisdn)
        except PhoneError as error:
            raise InvalidField(str(error), field="msisdn") from None
        attributes.update(msisdn=number.digits, country=number.country)
    account = accounts.create(
        uow,
        kind=Kind.USER,
        name=args.username,
        parent_id=parent.id,
        password=args.password,
        **attributes,
    )
    _key, plaintext = auth.create_api_key(
        uow, owner_id=account.id, name=args.username, purpose="user"
    )
    return {**_describe(uow, account), "apikey": plaintext}


def apikey_create(uow: UnitOfWork, args: argparse.Namespace) -> dict[str, Any]:
    customer = _resolve(uow, f"customer:{args.customer}")
    key, plaintext = auth.create_api_key(
        uow,
        owner_id=customer.id,
        name=args.name,
        rights=frozenset(args.right),
        allowed_ips=",".join(args.allow_ip),
    )
    return {
        "id": key.id,
        "name": key.name,
        "customer_id": customer.id,
        "rights": sorted(key.rights),
        "allowed_ips": key.allowed_ips,
        "apikey": plaintext,
    }


def apikey_list(uow: UnitOfWork, args: argparse.Namespace) -> list[dict[str, Any]]:
    account_id = _resolve(uow, args.account).id if args.account else None
    return [_describe_key(key) for key in apikeys.list_keys(uow, account_id=account_id)]


def apikey_revoke(uow: UnitOfWork, args: argparse.Namespace) -> dict[str, Any]:
    return _describe_key(apikeys.revoke_key(uow, key_id=args.key_id))


def apikey_rotate(uow: UnitOfWork, args: argparse.Namespace) -> dict[str, Any]:
    key, plaintext = apikeys.rotate_key(uow, key_id=args.key_id)
    return {**_describe_key(key), "replaces": args.key_id, "apikey": plaintext}


def _describe_key(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "account_id": key.account_id,
        "name": key.name,
        "purpose": key.purpose,
        "rights": sorted(key.rights),
        "allowed_ips": key.allowed_ips,
        "enabled": key.enabled,
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


def credits_add(uow: UnitOfWork, args: argparse.Namespace) -> dict[str, Any]:
    account = _resolve(uow, args.account)
    entry = wallet.change(
        uow, account_id=account.id, asset=Asset.CREDITS, amount=args.amount, reason="operator"
    )
    return {"id": account.id, "credits": entry.resulting, "ledger_id": entry.id}


def balance_add(uow: UnitOfWork, args: argparse.Namespace) -> dict[str, Any]:
    account = _resolve(uow, args.account)
    try:
        units = money.to_units(money.parse_amount(args.amount))
    except money.MoneyError as error:
        raise InvalidField(str(error), field="amount") from None
    entry = wallet.change(
        uow, account_id=account.id, asset=Asset.BALANCE, amount=units, reason="operator"
    )
    return {
        "id": account.id,
        "balance": money.format_amount(entry.resulting),
        "ledger_id": entry.id,
    }


def secret_set(uow: UnitOfWork, args: argparse.Namespace) -> dict[str, Any]:
    account = _resolve(uow, args.account)
    auth.set_mor_secret(uow, account_id=account.id, secret=args.secret)
    return {"id": account.id, "kind": account.kind.value, "name": account.name, "secret": "set"}


def account_show(uow: UnitOfWork, args: argparse.Namespace) -> dict[str, Any]:
    return _describe(uow, _resolve(uow, args.account))


def account_set(uow: UnitOfWork, args: argparse.Namespace) -> dict[str, Any]:
    account = _resolve(uow, args.account)
    changes: dict[str, Any] = {}
    for assignment in args.assignments:
        field, sep, value = assignment.partition("=")
        if not sep:
            raise InvalidField(f"expected FIELD=VALUE, got {assignment!r}", field=assignment)
        changes[field] = _typed(field, value)
    admin = _resolve(uow, str(ADMIN_ID))
    return _describe(uow, accounts.update(uow, actor=admin, account_id=account.id, changes=changes))


def outbox_list(uow: UnitOfWork, args: argparse.Namespace) -> list[dict[str, Any]]:
    to = args.to.removeprefix("+") if args.to else None
    return [
        {
            "id": m.id,
            "to": m.to_msisdn,
            "text": m.text,
            "purpose": m.purpose,
            "status": m.status,
            "attempts": m.attempts,
            "created_at": m.created_at.isoformat(),
            "sent_at": m.sent_at.isoformat() if m.sent_at else None,
        }
        for m in outbox.list_messages(uow, to_msisdn=to)
    ]


def _resolve(uow: UnitOfWork, ref: str) -> Account:
    """ACCOUNT is KIND:NAME (customer:shop), a numeric id, or `admin`."""
    with uow.read() as tx:
        if ref == "admin":
            found = tx.accounts.get(ADMIN_ID)
        elif ref.isdigit():
            found = tx.accounts.get(int(ref))
        else:
            kind, sep, name = ref.partition(":")
            if not sep or kind not in Kind.__members__.values():
                raise InvalidField(
                    f"ACCOUNT must be KIND:NAME or an id, got {ref!r}", field="account"
                )
            found = tx.accounts.get_by_name(Kind(kind), name)
    if found is None:
        raise NotFound(f"no account {ref}")
    return found


def _typed(field: str, value: str) -> Any:
    booleans = {
        *ACL_FIELDS,
        "enabled",
        "swapping_source_address_allowed",
        "a2a_send_enabled",
        "a2a_receive_enabled",
    }
    if field in booleans:
        return value.lower() in {"1", "true", "yes", "on"}
    if field in {"mo_charge", "free_credits", "sms_routing"}:
        try:
            return int(value)
        except ValueError:
            raise InvalidField(f"{field} must be an integer", field=field) from None
    return value


def _describe(uow: UnitOfWork, account: Account) -> dict[str, Any]:
    w = wallet.get(uow, account_id=account.id)
    return {
        "id": account.id,
        "object_id": account.object_id,
        "kind": account.kind.value,
        "name": account.name,
        "parent_id": account.parent_id,
        "path": account.path,
        "enabled": account.enabled,
        "msisdn": account.msisdn,
        "billing_type": w.billing_type.value,
        "credits": w.credits,
        "free_sms": w.free_sms,
        "balance": money.format_amount(w.balance),
        "currency": w.currency,
    }


def _jsonable(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: _json_value(v) for k, v in fields.items()}


def _json_value(value: Any) -> Any:
    if isinstance(value, str | int | float | bool | None):
        return value
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def _emit(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, default=_default) + "\n")


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


if __name__ == "__main__":
    raise SystemExit(main())
