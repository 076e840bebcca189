"""A mysms call hashes its key and token once: the caller keeps the token it was read
with, and a handler given another token still reads that other token's user."""

from __future__ import annotations

from smsaccounts.domain.credentials import secret_hash
from smsaccounts.services import auth, sessions
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories


def test_a_handler_reads_the_user_of_the_token_it_is_given_whichever_the_key_was_read_with(
    uow: UnitOfWork,
) -> None:
    customer = factories.customer(uow)
    first, second = factories.user(uow, parent=customer), factories.user(uow, parent=customer)
    key = factories.client_key(uow, customer)
    with uow.write() as tx:
        tokens = {first.id: auth.issue_token(tx, first), second.id: auth.issue_token(tx, second)}

    caller = sessions.client(uow, api_key=key, client_ip=None, auth_token=tokens[first.id],
                             key_hash=secret_hash(key))  # fmt: skip
    for user in (first, second, first):
        found, _read = sessions.session_principal(uow, caller, auth_token=tokens[user.id])
        assert found.id == user.id
    without = sessions.client(uow, api_key=key, client_ip=None)
    found, _read = sessions.session_principal(uow, without, auth_token=tokens[second.id])
    assert found.id == second.id
    assert tokens[first.id] not in repr(caller)  # the token as sent is never shown
