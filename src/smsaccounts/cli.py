# PYTHON_ARGCOMPLETE_OK (argcomplete completes the `smsaccounts` entry point: cli_completion)
"""The operator CLI: every command prints one JSON object; lists print JSON lines."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import structlog

from smsaccounts import (
    __version__,
    cli_accounts,
    cli_completion,
    cli_wallets,
    clikit,
    logs,
    metrics,
)
from smsaccounts.cli_accounts import ACCOUNT_HELP, describe, resolve
from smsaccounts.config import PREFIX, Settings
from smsaccounts.domain import account_fields, bounds, money, validation
from smsaccounts.domain.models import ACL_FIELDS, ApiKey, Asset, BillingType
from smsaccounts.domain.tree import Kind
from smsaccounts.errors import ErrorCode, InvalidField
from smsaccounts.services import accounts, apikeys, audit, auth, outbox, provisioning, wallet
from smsaccounts.storage.migrate import upgrade
from smsaccounts.storage.unit_of_work import UnitOfWork, build

Handler = Callable[[UnitOfWork, argparse.Namespace], Any]


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every outcome is JSON on stdout, a failure with a non-zero exit."""
    url = os.environ.get(PREFIX + "DATABASE_URL", Settings().database_url)
    try:
        return _run(argv)
    except Exception as error:
        failure = clikit.explain(error, url)
        if failure is None and os.environ.get(PREFIX + "LOG_LEVEL", "").lower() == "debug":
            raise
        failure = failure or clikit.Failure(
            {"error": "internal", "code": "internal", "message": _one_line(error)}
        )
        clikit.emit(failure.body)
        return failure.status


def _run(argv: Sequence[str] | None) -> int:
    settings = Settings.from_env()
    parser = _parser(settings)
    cli_completion.autocomplete(parser, settings)  # a shell's TAB: answered, then exit
    args = parser.parse_args(argv)
    if args.handler is serve:
        serve(settings, args)
        return 0
    if args.handler is cli_completion.shellcode:  # shell code to eval: not JSON
        sys.stdout.write(cli_completion.shellcode(args))
        return 0
    handler: Handler = args.handler
    audit.begin("cli")  # the operator: no account, no client IP
    uow = build(settings)
    try:
        args.migration_reports = upgrade(uow.db.engine)
        for report in args.migration_reports:  # on stderr: stdout is the command's JSON
            sys.stderr.write(json.dumps({"warning": "migration", **report}) + "\n")
        result = handler(uow, args)
    finally:
        uow.db.dispose()
    if isinstance(result, list):
        for item in result:
            clikit.emit(item)
    else:
        clikit.emit(result)
    return 0


def _one_line(error: BaseException) -> str:
    first = str(error).strip().splitlines()
    return f"{type(error).__name__}: {first[0]}" if first else type(error).__name__


def serve(settings: Settings, args: argparse.Namespace) -> int:
    from smsaccounts.storage.database import make_engine

    engine = make_engine(settings)
    reports = upgrade(engine)
    engine.dispose()
    logs.configure(settings)  # uvicorn's own lines too, in SMSACCOUNTS_LOG_FORMAT
    for report in reports:
        structlog.get_logger(__name__).warning("migration report", **report)
    created = None
    if settings.metrics.lower() != "off":
        # Before uvicorn starts its workers: they inherit where to write their values.
        created = metrics.prepare_multiprocess(args.workers)
        port = metrics.port_of(settings.metrics)
        if port is not None:
            metrics.listen(port, args.host)
    try:
        _uvicorn(settings, args)
    finally:
        metrics.remove_directory(created)
    return 0


def _uvicorn(settings: Settings, args: argparse.Namespace) -> None:
    import uvicorn

    uvicorn.run(
        "smsaccounts.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        # uvloop, accepting every waiting connection in one turn (smsaccounts/eventloop.py).
        loop="smsaccounts.eventloop:new_event_loop",
        log_level=settings.log_level,
        log_config=None,  # logging is ours (logs.configure), not uvicorn's default
        # The peer's address is the client's: uvicorn would otherwise believe any
        # X-Forwarded-For from loopback. SMSACCOUNTS_TRUSTED_PROXIES names who may set it.
        proxy_headers=False,
        access_log=False,  # the pipeline writes one access line per request
        # SIGTERM: stop accepting, give in-flight requests this long, then close.
        timeout_graceful_shutdown=settings.grace_seconds,
    )


def _parser(defaults: Settings) -> argparse.ArgumentParser:
    p = clikit.JsonArgumentParser(prog="smsaccounts", description=__doc__)
    p.add_argument(
        "--version", action="version", help="print the version as JSON and exit",
        version=json.dumps({"name": "smsaccounts", "version": __version__}),
    )  # fmt: skip
    sub = p.add_subparsers(required=True, metavar="COMMAND")
    s = sub.add_parser("serve", help="apply migrations, then serve the API")
    s.add_argument("--host", default=defaults.host, help="address to bind (SMSACCOUNTS_HOST)")
    s.add_argument(
        "--port", type=int, default=defaults.port, help="port to listen on (SMSACCOUNTS_PORT)"
    )
    s.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    s.set_defaults(handler=serve)

    db = _group(sub, "db", "database maintenance")
    db.add_parser("upgrade", help="apply migrations").set_defaults(handler=db_upgrade)

    billing = [t.value for t in BillingType]
    r = _group(sub, "reseller").add_parser("create", help="create a reseller")
    r.add_argument("name", help="the reseller's name (its login for the reseller API)")
    r.add_argument("--password", required=True, help="its reseller API password")
    r.add_argument("--billing-type", choices=billing, default="PRE_PAID", help="its own billing")
    r.add_argument(
        "--default-customer-billing-type",
        choices=billing,
        help="billing type of its customers created without one (default: its own)",
    )
    r.add_argument("--free-credits", default="0", help="credits granted to each new customer")
    r.add_argument("--credits", default="0", help="credits to start its pool with")
    r.set_defaults(handler=reseller_create)

    c = _group(sub, "customer").add_parser("create", help="create a customer")
    c.add_argument("name", help="the customer's name")
    c.add_argument("--reseller", required=True, help="name of the reseller it belongs to")
    c.add_argument(
        "--billing-type", choices=billing, help="default: the reseller's default customer billing"
    )
    c.set_defaults(handler=customer_create)

    u = _group(sub, "user").add_parser("create", help="create a user and its own API key")
    u.add_argument("username", help="the user's login name")
    u.add_argument("--password", required=True, help="its password (the password policy applies)")
    owner = u.add_mutually_exclusive_group(required=True)
    owner.add_argument("--customer", help="name of the customer it belongs to")
    owner.add_argument("--parent", help="username of the parent user (makes a sub-user)")
    u.add_argument("--msisdn", help="its mobile number in international form: its mysms login")
    u.add_argument("--acl", default="", help="comma-separated ACLs: " + ",".join(_ACL_NAMES))
    u.add_argument(
        "--funding",
        choices=("own", "parent"),
        default="own",
        help="who pays for its messages: its own wallet (default) or its parent's pool",
    )
    u.set_defaults(handler=user_create)

    keys = _group(sub, "apikey")
    k = keys.add_parser(
        "create", help="a client application key (--customer) or a user's own key (--user)"
    )
    k.add_argument("name", help="a name for the key")
    key_owner = k.add_mutually_exclusive_group(required=True)
    key_owner.add_argument("--customer", help="name of the customer whose application it is")
    key_owner.add_argument("--user", help="username of a user: a new key of its own (LINK)")
    key_owner.add_argument(
        "--gateway",
        action="store_true",
        help="a sending gateway's key for the charging API (owned by the admin)",
    )
    k.add_argument(
        "--right", action="append", default=[], help="a right (user.create, user.delete); repeat"
    )
    k.add_argument(
        "--allow-ip", action="append", default=[], help="a CIDR range the key may call from"
    )
    k.set_defaults(handler=apikey_create)
    kl = keys.add_parser("list", help="every key (client and users' own), revoked ones too")
    kl.add_argument("--account", help="only this account's keys: " + ACCOUNT_HELP)
    kl.set_defaults(handler=apikey_list)
    kr = keys.add_parser("revoke", help="revoke a key: it answers as invalid at once")
    kr.add_argument("key_id", type=int, metavar="KEY_ID", help="the key's id (apikey list)")
    kr.set_defaults(handler=apikey_revoke)
    kn = keys.add_parser("rotate", help="revoke a key and print its successor's secret once")
    kn.add_argument("key_id", type=int, metavar="KEY_ID", help="the key's id (apikey list)")
    kn.set_defaults(handler=apikey_rotate)

    cr = _group(sub, "credits").add_parser("add", help="add (or with -N remove) credits")
    cr.add_argument("account", help=ACCOUNT_HELP)
    cr.add_argument("amount", help="a signed whole number of credits")
    cr.set_defaults(handler=credits_add)

    b = _group(sub, "balance").add_parser("add", help="add money (a signed decimal)")
    b.add_argument("account", help=ACCOUNT_HELP)
    b.add_argument("amount", help="a signed decimal amount, at most 7 places (-1.25)")
    b.set_defaults(handler=balance_add)

    sec = _group(sub, "secret").add_parser("set", help="set an account's MOR API secret")
    sec.add_argument("account", help=ACCOUNT_HELP)
    sec.add_argument("secret", help="the secret MOR request hashes end with")
    sec.set_defaults(handler=secret_set)

    cli_accounts.add_parsers(_group(sub, "account"), sub, _group)
    cli_wallets.add_parsers(sub, _group, db, _credits)

    o = _group(sub, "outbox").add_parser("list", help="queued and sent messages, secrets masked")
    o.add_argument("--to", help="only the SMS to this msisdn")
    o.set_defaults(handler=outbox_list)
    cli_completion.add_parser(sub)
    return p


def _group(sub: Any, name: str, help_text: str | None = None, *, create: bool = True) -> Any:
    """The subcommands of `name` (made on first use; `create=False` finds them again)."""
    if not create:
        group = sub.choices[name]
        return next(a for a in group._actions if isinstance(a, argparse._SubParsersAction))
    group = sub.add_parser(name, help=help_text or f"{name} commands")
    return group.add_subparsers(required=True, metavar="COMMAND")


def _credits(raw: str) -> int:
    """A credits amount on the command line, under the same bounds as the APIs'."""
    try:
        return validation.credits("amount", raw)
    except InvalidField as error:
        raise argparse.ArgumentTypeError(error.message) from None


def _whole(field: str, text: str) -> int:
    """An ASCII whole number (argparse's int() would take '1_000', ' 5' and Arabic-Indic
    digits) within what a wallet column holds."""
    try:
        return bounds.parse_int(text)
    except bounds.OutOfRange as error:
        code = ErrorCode.VALUE_OUT_OF_RANGE
        raise InvalidField(f"{field} {error}", field=field, code=code) from None
    except ValueError as error:
        raise InvalidField(f"{field} {error}", field=field) from None


_ACL_NAMES = [name.removeprefix("acl_") for name in ACL_FIELDS]


def db_upgrade(uow: UnitOfWork, args: argparse.Namespace) -> dict[str, Any]:
    """`reports`: what the migrations just applied could not carry over as it was (msisdn
    collisions, unreadable numbers), for the operator to resolve."""
    database = uow.db.engine.url.render_as_string(hide_password=True)
    return {"status": "ok", "database": database, "reports": args.migration_reports}


def reseller_create(uow: UnitOfWork, args: argparse.Namespace) -> dict[str, Any]:
    default = args.default_customer_billing_type
    credits = _whole("credits", args.credits)
    free_credits = _whole("free_credits", args.free_credits)
    account = provisioning.create_reseller(
        uow,
        name=args.name,
        password=args.password,
        billing_type=BillingType(args.billing_type),
        default_customer_billing_type=BillingType(default) if default else None,
        free_credits=free_credits,
    )
    if credits:
        wallet.credit(
            uow, account_id=account.id, asset=Asset.CREDITS, amount=credits, reason="operator"
        )
    return describe(uow, account)


def customer_create(uow: UnitOfWork, args: argparse.Namespace) -> dict[str, Any]:
    reseller = resolve(uow, f"reseller:{args.reseller}")
    billing = BillingType(args.billing_type) if args.billing_type else None
    account = provisioning.create_customer(
        uow,
        reseller=reseller,
        new=provisioning.NewCustomer(name=args.name, integration_id="", billing_type=billing),
    )
    return describe(uow, account)


def user_create(uow: UnitOfWork, args: argparse.Namespace) -> dict[str, Any]:
    parent = resolve(uow, f"customer:{args.customer}" if args.customer else f"user:{args.parent}")
    attributes: dict[str, Any] = {}
    for acl in filter(None, (a.strip() for a in args.acl.split(","))):
        if acl not in _ACL_NAMES:
            raise InvalidField(f"unknown ACL {acl!r}", field="acl")
        attributes[f"acl_{acl}"] = True
    if args.msisdn:
        attributes.update(account_fields.parse("msisdn", args.msisdn))
    attributes["funding"] = args.funding
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
    return {**describe(uow, account), "apikey": plaintext}


def apikey_create(uow: UnitOfWork, args: argparse.Namespace) -> dict[str, Any]:
    if args.gateway:
        owner = resolve(uow, "admin")
    else:
        owner = resolve(uow, f"customer:{args.customer}" if args.customer else f"user:{args.user}")
    purpose = "gateway" if args.gateway else "client" if args.customer else "user"
    key, plaintext = auth.create_api_key(
        uow,
        owner_id=owner.id,
        name=args.name,
        purpose=purpose,
        rights=frozenset(args.right),
        allowed_ips=",".join(args.allow_ip),
    )
    return {
        "id": key.id,
        "name": key.name,
        "purpose": key.purpose,
        "owner_id": owner.id,
        **(
            {}
            if args.gateway
            else {"customer_id": owner.id}
            if args.customer
            else {"user_id": owner.id}
        ),
        "rights": sorted(key.rights),
        "allowed_ips": key.allowed_ips,
        "apikey": plaintext,
    }


def apikey_list(uow: UnitOfWork, args: argparse.Namespace) -> list[dict[str, Any]]:
    account_id = resolve(uow, args.account).id if args.account else None
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
    account = resolve(uow, args.account)
    amount = _whole("amount", args.amount)
    entry = wallet.change(
        uow, account_id=account.id, asset=Asset.CREDITS, amount=amount, reason="operator"
    )
    return {"id": account.id, "credits": entry.resulting, "ledger_id": entry.id}


def balance_add(uow: UnitOfWork, args: argparse.Namespace) -> dict[str, Any]:
    account = resolve(uow, args.account)
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
    account = resolve(uow, args.account)
    auth.set_mor_secret(uow, account_id=account.id, secret=args.secret)
    return {"id": account.id, "kind": account.kind.value, "name": account.name, "secret": "set"}


def outbox_list(uow: UnitOfWork, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every message as kept: a PIN or password is masked in `text` (it goes to the
    transport only); what has expired is shown so, its body already dropped."""
    to = args.to or None  # canonical (or refused) by the service
    outbox.expire(uow)
    return [
        {
            "id": m.id,
            "to": m.to,
            "channel": m.channel,
            "sender": m.sender,
            "text": m.text,
            "purpose": m.purpose,
            "status": m.status,
            "attempts": m.attempts,
            "created_at": m.created_at.isoformat(),
            "expires_at": m.expires_at.isoformat() if m.expires_at else None,
            "sent_at": m.sent_at.isoformat() if m.sent_at else None,
        }
        for m in outbox.list_messages(uow, to_msisdn=to)
    ]


if __name__ == "__main__":
    raise SystemExit(main())
