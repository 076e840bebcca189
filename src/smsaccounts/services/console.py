"""The web console's use cases: sign-in, server-side sessions, and the subtree's reads.

Sign-in is `auth.password_login`, so a failed console sign-in counts in the account's one
login lockout, like a failure through any API door. A session is a random secret stored only
as a hash; it lasts `console_session_seconds`, ends on sign-out, on revocation, on any
password change (through any door: the session remembers a digest of the password hash it
was opened under) and whenever the account or an ancestor may no longer act.
Every change the console makes goes through the same services as the APIs.
"""

from __future__ import annotations

import datetime as dt
import re

from smsaccounts.domain import bounds, credentials, tree
from smsaccounts.domain.audit import AuditEntry
from smsaccounts.domain.console import (
    ConsoleSession,
    LowBalance,
    LowBalancePage,
    SubtreeStats,
    password_stamp,
    under_threshold,
)
from smsaccounts.domain.models import Account, LedgerEntry, Wallet
from smsaccounts.domain.outbox import OutboxMessage
from smsaccounts.domain.tree import Kind
from smsaccounts.errors import AccessDenied, DomainError, NotFound
from smsaccounts.services import accounts, audit, auth, funding
from smsaccounts.services.ports import ConsoleTx, ConsoleUnitOfWork, UnitOfWork

# How many accounts of a subtree one dashboard request looks through for low balances.
LOW_BALANCE_SCAN = 2000

# Which kinds may sign in, in the order a name is looked up (names are unique per kind).
SIGN_IN_KINDS = (Kind.ADMIN, Kind.RESELLER, Kind.CUSTOMER, Kind.USER)


def may_use_console(account: Account) -> bool:
    """The admin, resellers, customers, and users with aclAdmin."""
    return account.kind is not Kind.USER or account.acl_admin


def _find(tx: ConsoleTx, name: str) -> Account | None:
    for kind in SIGN_IN_KINDS:
        found = tx.accounts.get_by_name(kind, name)
        if found is not None and found.password_hash is not None:
            return found
    return None


def sign_in(
    uow: ConsoleUnitOfWork, *, name: str, password: str, client_ip: str | None, user_agent: str
) -> tuple[Account, str]:
    """The account and a new session's secret (returned once); raises what
    `auth.password_login` raises, or AccessDenied for an account the console is not for."""

    def open_session(tx: ConsoleTx, account: Account) -> tuple[Account, str]:
        if not may_use_console(account):
            raise AccessDenied("this account cannot use the console")
        secret = credentials.new_token()
        tx.console.add_session(
            account_id=account.id,
            token_hash=credentials.secret_hash(secret),
            password_stamp=password_stamp(account.password_hash),
            client_ip=client_ip,
            user_agent=user_agent[:255],
            created_at=tx.now,
            expires_at=tx.now + dt.timedelta(seconds=uow.settings.console_session_seconds),
        )
        audit.record(tx, "console.sign_in", account.id)
        return account, secret

    return auth.password_login(
        uow,
        door="console",
        name=name,
        find=lambda tx: _find(tx, name),
        password=password,
        client_ip=client_ip,
        then=open_session,
    )


def current(
    uow: ConsoleUnitOfWork, *, secret: str, client_ip: str | None
) -> tuple[Account, ConsoleSession] | None:
    """The signed-in account behind a session secret, while the session lives and the
    account (and every ancestor) may act from `client_ip`; None otherwise."""
    with uow.read() as tx:
        session = tx.console.session_by_hash(credentials.secret_hash(secret))
        if session is None or not session.live(tx.now):
            return None
        account = tx.accounts.get(session.account_id)
        chain = tx.accounts.chain(account) if account else []
    if (
        account is None
        or not chain
        or password_stamp(account.password_hash) != session.password_stamp
    ):
        return None
    try:
        auth.check_chain_access(chain, client_ip)
    except DomainError:
        return None
    return account, session


def sign_out(uow: ConsoleUnitOfWork, *, account: Account, session_id: int) -> None:
    with uow.write() as tx:
        tx.console.revoke_sessions(account.id, tx.now, session_id=session_id)


def sessions(uow: ConsoleUnitOfWork, *, account: Account) -> list[ConsoleSession]:
    with uow.read() as tx:
        return tx.console.sessions(account.id, tx.now)


def end_sessions(uow: ConsoleUnitOfWork, *, account: Account, session_id: int | None) -> int:
    """End one of the account's own sessions, or (None) all of them."""
    with uow.write() as tx:
        ended = tx.console.revoke_sessions(account.id, tx.now, session_id=session_id)
        audit.record(tx, "console.sign_out", account.id, after={"sessions": ended})
        return ended


def change_own_password(
    uow: ConsoleUnitOfWork,
    *,
    account: Account,
    current_password: str,
    new_password: str,
    client_ip: str | None,
) -> None:
    """Check the current password (under the lockout), then set the new one; every auth
    token and console session of the account ends."""
    auth.authenticate_password(
        uow,
        door="console",
        name=account.name,
        find=lambda tx: tx.accounts.get(account.id),
        password=current_password,
        client_ip=client_ip,
    )
    auth.change_password(uow, account_id=account.id, password=new_password)
    with uow.write() as tx:
        tx.console.revoke_sessions(account.id, tx.now)


def reset_password(uow: UnitOfWork, *, actor: Account, account_id: int, password: str) -> None:
    """A new password for an account strictly below the actor (its own: `change_own_password`)."""
    target = accounts.get(uow, actor=actor, account_id=account_id)
    if target.id == actor.id:
        raise NotFound("account not found")
    auth.change_password(uow, account_id=target.id, password=password)


# -- reads -----------------------------------------------------------------------------------

OBJECT_ID = re.compile(r"^[0-9a-fA-F]{24}$")


def exact(uow: UnitOfWork, *, actor: Account, query: str) -> list[Account]:
    """The accounts a search names exactly, by id or 24-hex object id, in the actor's subtree."""
    with uow.read() as tx:
        candidates = []
        if query.isdigit() and bounds.is_id(int(query)):
            candidates.append(tx.accounts.get(int(query)))
        if OBJECT_ID.match(query):
            candidates.append(tx.accounts.get_by_object_id(query.lower()))
    found = []
    for candidate in candidates:
        if candidate is not None and tree.can_access(actor.path, candidate.path):
            found.append(candidate)
    return found


def breadcrumbs(uow: UnitOfWork, *, actor: Account, account: Account) -> list[Account]:
    """The account's ancestors from the actor down, then itself (read from its path)."""
    with uow.read() as tx:
        chain = tx.accounts.chain(account)
    return [a for a in reversed(chain) if tree.can_access(actor.path, a.path)]


def stats(uow: ConsoleUnitOfWork, *, root: Account) -> SubtreeStats:
    with uow.read() as tx:
        return tx.console.subtree_stats(root)


def ledger_page(
    uow: ConsoleUnitOfWork, *, actor: Account, account_id: int, before_id: int | None, limit: int
) -> list[LedgerEntry]:
    with uow.read() as tx:
        account = accounts.visible(actor, tx.accounts.get(account_id))
        return tx.console.ledger_page(account.id, before_id=before_id, limit=limit)


def latest_ledger(uow: ConsoleUnitOfWork, *, root: Account, limit: int = 10) -> list[LedgerEntry]:
    with uow.read() as tx:
        return tx.console.ledger_in_subtree(root, limit=limit)


def audit_page(
    uow: ConsoleUnitOfWork,
    *,
    root: Account,
    action: str | None = None,
    target_id: int | None = None,
    before_id: int | None = None,
    limit: int = 25,
) -> list[AuditEntry]:
    with uow.read() as tx:
        return tx.console.audit_page(
            root, action=action, target_id=target_id, before_id=before_id, limit=limit
        )


def outbox_page(
    uow: ConsoleUnitOfWork,
    *,
    root: Account,
    status: str | None = None,
    before_id: int | None = None,
    limit: int = 25,
) -> list[OutboxMessage]:
    """The admin sees every message (some have no account: a PIN to an unknown number);
    anyone else those of accounts in its subtree."""
    scope = None if root.kind is Kind.ADMIN else root
    with uow.read() as tx:
        return tx.console.outbox_page(scope, status=status, before_id=before_id, limit=limit)


def paying(uow: UnitOfWork, *, account: Account) -> tuple[Account, Wallet]:
    """The account `account` spends from (`services.funding.payer`) and that wallet."""
    with uow.read() as tx:
        payer = funding.payer(tx, account)
        return payer, funding.wallets(tx, account)[1]


def low_balance(
    uow: ConsoleUnitOfWork, *, root: Account, after_path: str | None, limit: int
) -> LowBalancePage:
    """Accounts of the subtree whose wallet is under their low-balance threshold,
    in path order: at most `limit`, found among the next `LOW_BALANCE_SCAN` accounts after
    `after_path` (the storage query's cost is bounded by that), and where to look further."""
    with uow.read() as tx:
        found, looked_to = tx.console.under_threshold(
            root, after_path=after_path, limit=limit + 1, scan=LOW_BALANCE_SCAN
        )
        shown = found[:limit]
        rows = []
        for account in shown:  # at most `limit`: one key read each; each pays for itself
            own = tx.wallets.get(account.id)
            value = None if own is None else under_threshold(account, own)
            if value is not None and account.low_balance_threshold is not None:
                rows.append(LowBalance(account, account, value, account.low_balance_threshold))
    next_after = shown[-1].path if len(found) > limit else looked_to
    return LowBalancePage(rows=rows, next_after=next_after)
