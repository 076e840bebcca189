"""API keys after their creation: listed, revoked and rotated.

A revoked key answers at once, in every dialect, exactly like a key that never existed.
Rotating a key revokes it and issues its successor with the same owner, name, purpose,
rights and IP ranges, in one transaction; the successor's secret is returned once and
stored only as a hash. A LINK user may rotate its own key, and an aclAdmin user the keys
of the users below it.
"""

from __future__ import annotations

from smsaccounts.domain.models import Account, ApiKey
from smsaccounts.errors import NotFound
from smsaccounts.services import audit, auth
from smsaccounts.services.ports import Tx, UnitOfWork

USER_KEY = "user"  # the purpose of a user's own (LINK) key


def list_keys(uow: UnitOfWork, *, account_id: int | None = None) -> list[ApiKey]:
    """Every key, or one account's, oldest first; revoked ones included."""
    with uow.read() as tx:
        return tx.credentials.list_keys(account_id=account_id)


def revoke_key(uow: UnitOfWork, *, key_id: int) -> ApiKey:
    """Revoke one key (NotFound if there is none; revoking twice changes nothing)."""
    with uow.write() as tx:
        key = _key(tx, key_id)
        if key.revoked_at is None:
            _revoke(tx, key)
        return _key(tx, key_id)


def rotate_key(uow: UnitOfWork, *, key_id: int) -> tuple[ApiKey, str]:
    """Revoke a live key and issue its successor; the new secret is returned once."""
    with uow.write() as tx:
        key = _key(tx, key_id)
        if key.revoked_at is not None:
            raise NotFound("api key revoked: there is nothing to rotate")
        return _successor(tx, key)


def replace_own_key(tx: Tx, account: Account) -> str:
    """Revoke every live own key of `account` and issue a new one; its secret, once."""
    for key in tx.credentials.list_keys(account_id=account.id):
        if key.purpose == USER_KEY and key.revoked_at is None:
            _revoke(tx, key)
    _key, plaintext = auth.add_api_key(tx, owner_id=account.id, name=account.name,
                                       purpose=USER_KEY)  # fmt: skip
    return plaintext


def _key(tx: Tx, key_id: int) -> ApiKey:
    key = tx.credentials.get_key(key_id)
    if key is None:
        raise NotFound("no such api key")
    return key


def _revoke(tx: Tx, key: ApiKey) -> None:
    tx.credentials.set_key(key.id, revoked_at=tx.now)
    audit.record(tx, "apikey.revoke", key.account_id, after={"key_id": key.id, "revoked": True})


def _successor(tx: Tx, key: ApiKey) -> tuple[ApiKey, str]:
    _revoke(tx, key)
    return auth.add_api_key(
        tx,
        owner_id=key.account_id,
        name=key.name,
        purpose=key.purpose,
        rights=key.rights,
        allowed_ips=key.allowed_ips,
    )
