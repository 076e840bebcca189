"""The raw-connection lookups (`uow.lookups()`, storage/lookups.py) answer exactly what the
repositories inside `uow.read()` answer, record for record; a MOR details call decides
the same through either; and a reseller balance read with a remembered password
(`provisioning.remembered_balance`) answers what the full login and read answer.

Each holds as a worker thread runs the lookups and as the event loop does
(`uow.reads_on_loop`: inline on SQLite, awaited through psycopg's async connections on
PostgreSQL, storage/awaited.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import delete, event

from smsaccounts.config import Settings
from smsaccounts.domain import credentials
from smsaccounts.domain.models import Account, Asset, Signer, Standing
from smsaccounts.domain.tree import NAME_ORDER, Kind, ancestor_ids
from smsaccounts.errors import DomainError, ErrorCode, NotFound
from smsaccounts.services import accounts, auth, balances, provisioning, wallet
from smsaccounts.services.provisioning import CustomerRef
from smsaccounts.storage.database import make_engine
from smsaccounts.storage.tables import wallets
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories
from tests.conftest import make_uow

SECRET = "lookup-secret"
Served = Callable[[Callable[[], Any]], Any]


@pytest.fixture(params=["thread", "loop"])
def served(
    request: pytest.FixtureRequest, uow: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> Served:
    """Runs a test's calls as a worker thread does, or from the event loop as
    `uow.reads_on_loop` serves them (on PostgreSQL: every lookup awaited). The calls compare
    the lookups with `uow.read()`'s repositories in the same breath, so on the loop the
    refusal of a transaction there (`test_a_transaction_inside_reads_on_loop_is_refused`)
    is lifted for them."""

    def run(calls: Callable[[], Any]) -> Any:
        if request.param == "thread":
            return calls()
        monkeypatch.setattr(uow, "_not_awaited", lambda: None)
        return asyncio.run(uow.reads_on_loop(calls))

    return run


def test_a_transaction_inside_reads_on_loop_is_refused(uow: UnitOfWork) -> None:
    """On a database server `reads_on_loop` awaits only lookups: a read or write transaction
    there would block the event loop, and is refused. On SQLite every read runs inline."""
    seen: list[str] = []

    def lookups_then(opened: Callable[[], Any]) -> None:
        with uow.lookups() as quick:
            seen.append(str(quick.accounts.get(1)))
        with opened():
            seen.append("transaction")

    for opened in (uow.read, uow.write):
        if uow.db.is_sqlite:
            asyncio.run(uow.reads_on_loop(lookups_then, opened))
            continue
        with pytest.raises(RuntimeError, match="inside reads_on_loop"):
            asyncio.run(uow.reads_on_loop(lookups_then, opened))
        lookups_then(opened)  # on a worker thread, as ever
    assert seen.count("transaction") == 2  # each once: never on the loop of a server
    assert len(seen) == (4 if uow.db.is_sqlite else 6)  # the lookups ran there, awaited


def _tree(uow: UnitOfWork) -> list[Account]:
    """Two resellers, customers, users; one disabled, one deleted, one with a wallet change."""
    with uow.read() as tx:
        admin = tx.accounts.get(1)
    assert admin is not None
    auth.set_mor_secret(uow, account_id=admin.id, secret=SECRET)
    made: list[Account] = [admin]
    for r in range(2):
        reseller = factories.reseller(uow, name=f"res{r}", credits=10 + r)
        customer = factories.customer(uow, parent=reseller, name=f"cus{r}")
        made += [reseller, customer]
        made += [factories.user(uow, parent=customer, name=f"usr{r}{u}") for u in range(3)]
    accounts.disable(uow, actor=admin, account_id=made[3].id)  # reseller 0's customer
    accounts.delete(uow, actor=admin, account_id=made[-1].id)  # a user of reseller 1
    with uow.write() as tx:
        wallet.apply(tx, account_id=made[4].id, asset=Asset.BALANCE, amount=12345,
                     reason="test", actor_id=admin.id)  # fmt: skip
    return made


def test_every_lookup_returns_the_repositorys_record(uow: UnitOfWork, served: Served) -> None:
    made = _tree(uow)
    # A client key, a user's own key, and a key revoked with its deleted owner.
    keys = [factories.client_key(uow, made[2]), factories.user_key(uow, made[4]),
            factories.user_key(uow, made[6])]  # fmt: skip
    with uow.write() as tx:
        tx.credentials.revoke_keys(made[6].id, tx.now)
    served(lambda: _compare_every_lookup(uow, made, keys))


def test_a_pages_lookups_answer_what_the_repository_answers(
    uow: UnitOfWork, served: Served
) -> None:
    """A LINK page's reads through `uow.lookups()` (`listed_page`, `subtree_paths`,
    `chains`) answer what the repository's answer, for every root, cursor, size and bound."""
    made = _tree(uow)
    served(lambda: _compare_page_lookups(uow, made))


def _compare_page_lookups(uow: UnitOfWork, made: list[Account]) -> None:
    compared = 0
    with uow.read() as tx, uow.lookups() as quick:
        for root in made:
            everything = tx.accounts.list_subtree(root, limit=10**6)
            for after in [None, *(a.path for a in everything)]:
                for limit, at_most in ((1, 1), (2, 3), (100, 2), (100, 1000)):
                    listed = quick.accounts.listed_page(
                        root, after_path=after, limit=limit, at_most=at_most
                    )
                    assert listed == tx.accounts.listed_page(
                        root, after_path=after, limit=limit, at_most=at_most
                    )
                    paths = quick.accounts.subtree_paths(root, after_path=after, limit=limit)
                    assert paths == tx.accounts.subtree_paths(root, after_path=after, limit=limit)
                    below = tx.accounts.list_subtree(root, after_path=after, limit=limit)
                    assert paths == [a.path for a in below]
                    rows = [account for account, _wallet in listed[0]]
                    assert quick.accounts.chains(rows) == tx.accounts.chains(rows)
                    compared += len(rows)
        assert quick.accounts.chains(made) == tx.accounts.chains(made)
        assert quick.accounts.chains([]) == {}
    assert compared > 100


def _compare_every_lookup(uow: UnitOfWork, made: list[Account], keys: list[str]) -> None:
    names = [a.name for a in made] + ["nobody"]
    ids = [a.id for a in made] + [10**6]
    with uow.read() as tx, uow.lookups() as quick:
        for account_id in ids:
            assert quick.accounts.get(account_id) == tx.accounts.get(account_id)
            assert quick.wallets.get(account_id) == tx.wallets.get(account_id)  # read with it
        for name in names:
            for kind in NAME_ORDER:
                assert quick.accounts.get_by_name(kind, name) == tx.accounts.get_by_name(kind, name)
        for account in made:
            assert quick.accounts.chain(account) == tx.accounts.chain(account)
            object_id = account.object_id
            assert quick.accounts.get_by_object_id(object_id) == tx.accounts.get_by_object_id(
                object_id
            )
            just_read = quick.accounts.get(account.id)  # the chain of a record read here
            assert just_read is not None
            assert quick.accounts.chain(just_read) == tx.accounts.chain(account)
            key = auth.login_key(account)
            assert quick.throttles.get(key) == tx.throttles.get(key)
        assert quick.accounts.get_by_object_id("f" * 24) is None
    with uow.read() as tx, uow.lookups() as quick:  # wallets read before (or without) their account
        for account_id in ids:
            assert quick.wallets.get(account_id) == tx.wallets.get(account_id)
    with uow.read() as tx, uow.lookups() as quick:  # wallets read with an account by object id
        for account in made:
            assert quick.accounts.get_by_object_id(account.object_id) is not None
            assert quick.wallets.get(account.id) == tx.wallets.get(account.id)
    with uow.read() as tx, uow.lookups() as quick:
        for key in [*keys, "no-such-key"]:
            hashed = credentials.secret_hash(key)
            assert quick.credentials.key_with_owner(hashed) == tx.credentials.key_with_owner(hashed)
    with uow.lookups() as quick:
        assert [quick.accounts.get(a.id) for a in made].count(None) == 0


def test_the_standings_of_an_accounts_ancestors_are_what_its_chain_holds(
    uow: UnitOfWork, served: Served
) -> None:
    """The narrow read an API key's check makes of the owner's ancestors answers each one's
    id, enabled and deactivated, nearest first, as the whole chain does: enabled, disabled
    and deleted ancestors, at every depth."""
    made = _tree(uow)
    with uow.write() as tx:
        tx.accounts.update(made[1].id, {"enabled": False})  # reseller 0
        tx.accounts.update(made[7].id, {"deactivated": tx.now})  # reseller 1's customer
    served(lambda: _compare_standings(uow, made))


def _compare_standings(uow: UnitOfWork, made: list[Account]) -> None:
    with uow.read() as tx, uow.lookups() as quick:
        for account in made:
            above = tx.accounts.chain(account)[1:]
            expected = [Standing(a.id, a.enabled, a.deactivated) for a in above]
            assert quick.accounts.standings(account) == expected
            assert tx.accounts.standings(account) == expected
            assert [s.active for s in expected] == [a.active for a in above]
        assert any(not a.active for a in tx.accounts.chain(made[-1])[1:])


def test_the_signers_of_a_name_are_what_its_chain_holds(uow: UnitOfWork, served: Served) -> None:
    """The narrow reads a MOR caller's authentication makes (`signers`) answer, for every
    name and kind, the `Signer` fields of the live account's chain, nearest first: secrets
    at two depths, disabled and deleted accounts, names no live account has."""
    made = _tree(uow)
    auth.set_mor_secret(uow, account_id=made[1].id, secret="mid")  # reseller 0
    # Names two kinds share: a user named as reseller 0 (the reseller comes first in
    # NAME_ORDER), and a customer and a user named alike, the customer deleted.
    twins = [factories.user(uow, parent=made[2], name=made[1].name),
             factories.customer(uow, parent=made[1], name="twin"),
             factories.user(uow, parent=made[2], name="twin")]  # fmt: skip
    accounts.delete(uow, actor=made[0], account_id=twins[1].id)
    with uow.write() as tx:
        tx.accounts.update(made[1].id, {"enabled": False})
        tx.accounts.update(made[7].id, {"deactivated": tx.now})  # reseller 1's customer
    served(lambda: _compare_signers(uow, [*made, *twins]))
    with uow.lookups() as quick:
        assert quick.accounts.named_signers(made[1].name)[0].kind is Kind.RESELLER
        assert quick.accounts.named_signers("twin")[0].id == twins[2].id


def _compare_signers(uow: UnitOfWork, made: list[Account]) -> None:
    names = [a.name for a in made] + ["nobody"]
    with uow.read() as tx, uow.lookups() as quick:
        for name in names:
            for kind in NAME_ORDER:
                found = tx.accounts.get_by_name(kind, name)
                chain = tx.accounts.chain(found) if found else []
                expected = [Signer.of(a) for a in chain]
                assert quick.accounts.signers(kind, name) == expected
                assert tx.accounts.signers(kind, name) == expected
                assert [s.active for s in expected] == [a.active for a in chain]
        for name in names:  # the first kind of NAME_ORDER with a live one, in one read
            first = next((c for k in NAME_ORDER if (c := tx.accounts.signers(k, name))), [])
            assert quick.accounts.named_signers(name) == first
            assert tx.accounts.named_signers(name) == first
        below = tx.accounts.signers(made[4].kind, made[4].name)  # a user of reseller 0
        assert [s.mor_secret for s in below] == [None, None, "mid", SECRET]
        assert not below[2].active


def test_an_account_expected_is_read_with_the_signers_as_get_reads_it(
    uow: UnitOfWork, served: Served
) -> None:
    """`expect` then `named_signers` then `get` (a MOR balance change's reads) answer what each
    read alone answers, for every signer and every account named: disabled, deleted,
    without a wallet, none at all. On a server the signers' statement carries the account,
    so `get` reads nothing more."""
    made = _tree(uow)
    walletless = factories.user(uow, parent=made[2], name="walletless")
    with uow.db.engine.begin() as conn:
        conn.execute(delete(wallets).where(wallets.c.account_id == walletless.id))
    statements: list[str] = []

    def counted(*args: Any) -> None:
        statements.append(args[2])

    event.listen(uow.db.engine, "before_cursor_execute", counted)
    try:
        served(lambda: _compare_expected(uow, [*made, walletless], statements))
    finally:
        event.remove(uow.db.engine, "before_cursor_execute", counted)


def _compare_expected(uow: UnitOfWork, made: list[Account], statements: list[str]) -> None:
    ids = [a.id for a in made] + [999_999_999]
    for signer in [made[0], made[1], made[3], made[4], made[-2]]:  # admin ... deleted user
        for account_id in ids:
            with uow.read() as tx:
                expected = next(
                    (c for k in NAME_ORDER if (c := tx.accounts.signers(k, signer.name))), []
                )
                account, own = tx.accounts.get(account_id), tx.wallets.get(account_id)
            statements.clear()
            with uow.lookups() as quick:
                quick.accounts.expect(account_id)
                assert quick.accounts.named_signers(signer.name) == expected
                read = len(statements)
                assert quick.accounts.get(account_id) == account
                assert quick.wallets.get(account_id) == own
            if uow.db.is_sqlite:
                continue  # no round trip to save: `get` reads when asked
            assert read == 1
            # `get`: read ahead with a signer found; the wallet: read with its account.
            assert len(statements) == 1 + (not expected) + (account is None)


def test_the_signers_of_a_deep_sub_user_are_its_whole_chain(
    uow: UnitOfWork, served: Served
) -> None:
    """The chain is read in one statement climbing the parents: a sub-user eight levels down
    (deeper than a reseller's user) gets every ancestor, nearest first, as its path names
    them; a disabled and a deleted one among them show."""
    made = _tree(uow)
    below = made[4]  # a user of reseller 0's customer
    for depth in range(5):
        below = factories.user(uow, parent=below, name=f"sub{depth}")
    with uow.write() as tx:
        tx.accounts.update(made[4].id, {"enabled": False})
        tx.accounts.update(made[2].id, {"deactivated": tx.now})  # its customer
    served(lambda: _compare_deep_signers(uow, below))


def _compare_deep_signers(uow: UnitOfWork, deepest: Account) -> None:
    with uow.read() as tx, uow.lookups() as quick:
        chain = tx.accounts.chain(deepest)
        expected = [Signer.of(a) for a in chain]
        assert len(expected) == 9
        assert [s.id for s in expected] == [deepest.id, *reversed(ancestor_ids(deepest.path))]
        assert quick.accounts.signers(Kind.USER, deepest.name) == expected
        assert tx.accounts.signers(Kind.USER, deepest.name) == expected
        assert [s.active for s in expected].count(False) == 2
        assert expected[6].deactivated is not None
        assert expected[6].deactivated.tzinfo is not None


def test_an_account_without_a_wallet_reads_no_wallet(uow: UnitOfWork, served: Served) -> None:
    walletless = factories.user(uow, name="walletless")
    with uow.db.engine.begin() as conn:
        conn.execute(delete(wallets).where(wallets.c.account_id == walletless.id))

    def compare() -> None:
        with uow.read() as tx, uow.lookups() as quick:
            assert quick.accounts.get(walletless.id) == tx.accounts.get(walletless.id)
            assert quick.wallets.get(walletless.id) is tx.wallets.get(walletless.id) is None
            found = quick.accounts.get_by_object_id(walletless.object_id)
            assert found == tx.accounts.get(walletless.id)
            assert quick.wallets.get(walletless.id) is None

    served(compare)


def _outcome(uow: UnitOfWork, **call: Any) -> object:
    try:
        return balances.user_details(uow, **call)
    except DomainError as error:
        return (type(error).__name__, error.code)


@contextlib.contextmanager
def _through_repositories(uow: UnitOfWork) -> Iterator[None]:
    """`uow.lookups()` served by the normal read transaction, for the same calls."""
    original = uow.lookups
    uow.lookups = uow.read  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        uow.lookups = original  # type: ignore[method-assign]


@pytest.mark.parametrize("password", [None, factories.PASSWORD, "wrong-password"])
def test_a_mor_details_call_decides_the_same_through_either(
    uow: UnitOfWork, password: str | None, served: Served
) -> None:
    made = _tree(uow)
    targets = [str(a.id) for a in made] + ["999999", "x"]
    cases = []
    for caller in ("admin", "res0", "res1", "cus1", "usr10", "nobody"):
        for target in targets:
            digest = hashlib.sha1(f"{target}{SECRET}".encode()).hexdigest()  # noqa: S324
            for sent_hash in (digest, "0" * 40):
                creds = balances.Credentials(caller, password, sent_hash, "127.0.0.1")
                cases.append({"credentials": creds, "user_id": target, "username": None})
    quick = served(lambda: [_outcome(uow, **case) for case in cases])
    with _through_repositories(uow):
        normal = [_outcome(uow, **case) for case in cases]
    assert quick == normal
    failures = {o[0] for o in quick if isinstance(o, tuple) and isinstance(o[0], str)}
    assert "AuthenticationFailed" in failures
    if password != "wrong-password":
        assert "NotFound" in failures
        assert any(isinstance(o, tuple) and isinstance(o[0], Account) for o in quick)


def _full_balance(uow: UnitOfWork, name: str, password: str, call: dict[str, Any]) -> object:
    try:
        reseller = provisioning.authenticate(uow, name=name, password=password, client_ip=IP)
        return provisioning.balance(uow, reseller=reseller, **call)
    except DomainError as error:
        return (type(error).__name__, error.code)


def _remembered_balance(uow: UnitOfWork, name: str, password: str, call: dict[str, Any]) -> object:
    try:
        return provisioning.remembered_balance(
            uow, name=name, password=password, client_ip=IP, **call
        )
    except DomainError as error:
        return (type(error).__name__, error.code)


IP = "127.0.0.1"


def _named(made: list[Account], name: str) -> Account:
    return next(a for a in made if a.name == name)


def test_a_remembered_reseller_balance_answers_what_the_full_login_and_read_answer(
    uow: UnitOfWork, served: Served
) -> None:
    made = _tree(uow)
    resellers = ["res0", "res1"]
    for name in resellers:  # verified once each: remembered from now on
        assert not isinstance(_full_balance(uow, name, factories.PASSWORD, {
            "customer": CustomerRef(name="nobody")}), int)  # fmt: skip
    refs = [CustomerRef(name=a.name) for a in made] + [CustomerRef(name="nobody")]
    refs += [CustomerRef(object_id=a.object_id) for a in made] + [CustomerRef(object_id="0" * 24)]
    user_ids = [None, "f" * 24] + [a.object_id for a in made]
    calls = [{"customer": ref, "user_id": user_id} for ref in refs for user_id in user_ids]
    cases = [(name, call) for name in resellers for call in calls]
    with uow.write() as tx:  # reseller 1 may call only from elsewhere: refused, either way
        tx.accounts.update(_named(made, "res1").id, {"iprange": "10.0.0.0/8"})
    remembered = served(
        lambda: [_remembered_balance(uow, name, factories.PASSWORD, c) for name, c in cases]
    )
    normal = [_full_balance(uow, name, factories.PASSWORD, c) for name, c in cases]
    assert remembered == normal
    outcomes = {o if isinstance(o, tuple) else "credits" for o in remembered}
    assert {"credits", ("NotFound", ErrorCode.CUSTOMER_NOT_FOUND)} <= outcomes
    assert ("AccessDenied", ErrorCode.IP_NOT_ALLOWED) in outcomes
    with _through_repositories(uow):  # and the lookups decide as the repositories do
        assert [_remembered_balance(uow, n, factories.PASSWORD, c) for n, c in cases] == normal


def test_a_remembered_reseller_below_a_disabled_or_deleted_account_is_refused_as_in_full(
    uow: UnitOfWork, served: Served
) -> None:
    """The remembered path reads only the ancestors' standing (`standings`): an ancestor
    disabled, or deleted, after the password was remembered shuts the reseller out there
    exactly as the full login does."""
    made = _tree(uow)
    admin = made[0]
    call = {"customer": CustomerRef(name="cus1")}
    assert _full_balance(uow, "res1", factories.PASSWORD, call) == 0  # remembered from now on
    deleted = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for change in ({"enabled": False}, {"enabled": True, "deactivated": deleted}):
        with uow.write() as tx:
            tx.accounts.update(admin.id, change)
        remembered = served(lambda: _remembered_balance(uow, "res1", factories.PASSWORD, call))
        assert remembered == ("AccountDisabled", ErrorCode.ACCOUNT_DISABLED)
        assert remembered == _full_balance(uow, "res1", factories.PASSWORD, call)


def test_a_reseller_password_not_remembered_is_left_to_the_full_login(uow: UnitOfWork) -> None:
    """Unknown, wrong, never verified, or with a failure on record: None, and nothing read
    or written decides it."""
    made = _tree(uow)
    call = {"customer": CustomerRef(name="cus1")}
    assert _remembered_balance(uow, "res1", factories.PASSWORD, call) is None  # not yet
    assert _full_balance(uow, "res1", factories.PASSWORD, call) == 0
    assert _remembered_balance(uow, "res1", factories.PASSWORD, call) == 0
    assert _remembered_balance(uow, "res1", "wrong-password", call) is None
    assert _remembered_balance(uow, "nobody", factories.PASSWORD, call) is None
    assert _full_balance(uow, "res1", "wrong-password", call) == (
        "AuthenticationFailed", ErrorCode.CREDENTIALS_WRONG)  # fmt: skip
    assert _remembered_balance(uow, "res1", factories.PASSWORD, call) is None  # 1 failure
    assert _full_balance(uow, "res1", factories.PASSWORD, call) == 0  # clears it
    with uow.read() as tx:
        assert tx.throttles.get(auth.login_key(_named(made, "res1"))).failures == 0


def test_a_write_on_the_connection_the_lookups_used_is_still_undone_whole(
    settings: Settings, clock: Any
) -> None:
    """The lookups read in autocommit on PostgreSQL; their pooled connection goes back to
    transactions, so a failing write after them on it leaves nothing behind."""
    engine = make_engine(settings, pool_size=1, max_overflow=0)  # one connection for both
    uow = make_uow(settings, engine, clock)
    made = _tree(uow)
    with uow.lookups() as quick:
        before = quick.wallets.get(made[1].id)
    with pytest.raises(RuntimeError):
        _change_then_fail(uow, made[1].id, actor_id=made[0].id)
    with uow.read() as tx:
        assert tx.wallets.get(made[1].id) == before


def _change_then_fail(uow: UnitOfWork, account_id: int, *, actor_id: int) -> None:
    with uow.write() as tx:
        wallet.apply(tx, account_id=account_id, asset=Asset.BALANCE, amount=5,
                     reason="test", actor_id=actor_id)  # fmt: skip
        raise RuntimeError


def test_lookups_after_a_commit_read_it_on_a_kept_connection(
    uow: UnitOfWork, served: Served
) -> None:
    """On SQLite the lookups keep their connection for the next ones (storage/lookups.py
    `_keep`): each lookups transaction ends, so the next one reads what was committed since,
    as a connection fresh from the pool does."""
    made = _tree(uow)
    target = made[4]

    def balance() -> int:
        with uow.lookups() as quick:
            found = quick.wallets.get(target.id)
        assert found is not None
        return found.balance

    for change in (7, 11, 13):
        before = served(balance)
        with uow.write() as tx:
            wallet.apply(tx, account_id=target.id, asset=Asset.BALANCE, amount=change,
                         reason="test", actor_id=made[0].id)  # fmt: skip
        assert served(balance) == before + change


def test_refused_lookups_open_no_new_connection(uow: UnitOfWork, served: Served) -> None:
    """A lookups transaction that ends in a refusal (a wrong hash, an unknown name) leaves its
    connection as good as after an answer: a run of refusals and answers, once warm, opens
    no database connection (a refusal's kept connection closed would have the pool open one
    for the next)."""
    connects: list[object] = []
    event.listen(uow.db.engine, "connect", lambda *_args: connects.append(None))

    def refused() -> None:
        with uow.lookups() as quick:
            assert quick.accounts.get(1) is not None
            raise NotFound("refused inside the lookups")

    def refused_then_answered() -> None:
        with pytest.raises(NotFound):
            refused()
        with uow.lookups() as quick:
            assert quick.accounts.get(1) is not None

    served(refused_then_answered)  # warm: the connections it needs are open now
    connects.clear()
    for _ in range(3):
        served(refused_then_answered)
    assert connects == []


def test_an_account_read_by_id_name_object_id_or_key_brings_its_wallet(
    uow: UnitOfWork, served: Served
) -> None:
    """Each of these reads is one statement, the account's wallet joined: reading the wallet
    next (a MOR details target, a reseller's customer, a key's owner) sends nothing more."""
    made = _tree(uow)
    user = made[4]
    key = factories.user_key(uow, user)

    def statements_of(read: Callable[[Any], Any]) -> int:
        sent = 0
        with uow.lookups() as quick:
            cursor = quick._cursor
            execute = cursor.execute

            def counted(*args: Any, **kwargs: Any) -> Any:
                nonlocal sent
                sent += 1
                return execute(*args, **kwargs)

            quick._cursor = _Counting(cursor, counted)
            read(quick)
            assert quick.wallets.get(user.id) is not None
        return sent

    def each() -> list[int]:
        return [
            statements_of(lambda q: q.accounts.get(user.id)),
            statements_of(lambda q: q.accounts.get_by_name(Kind.USER, user.name)),
            statements_of(lambda q: q.accounts.get_by_object_id(user.object_id)),
            statements_of(lambda q: q.credentials.key_with_owner(credentials.secret_hash(key))),
            statements_of(lambda _q: None),  # the wallet alone: its own statement
        ]

    assert served(each) == [1, 1, 1, 1, 1]


class _Counting:
    """A DB-API cursor whose `execute` is `counted`; everything else is the cursor's."""

    def __init__(self, cursor: Any, counted: Callable[..., Any]) -> None:
        self._cursor = cursor
        self.execute = counted

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)
