"""A users page reads only the columns a listing shows (`ListedAccount`); each user on it
is exactly what reading that user alone (the whole account) shows."""

from __future__ import annotations

from typing import Any

from smsaccounts.domain.models import Account, Asset
from smsaccounts.services import funding, wallet
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests.api.link.conftest import create, listing


def test_every_user_on_a_page_is_what_reading_it_alone_answers(
    client: Any, uow: UnitOfWork, root: Account, root_key: str
) -> None:
    """Set and unset text fields, ACLs, a limit, an IP range, a sub-user's own sub-users
    (a LINK parent), a deactivated user, users paying for themselves, through a parent and
    through two."""
    first = create(client, root_key, username="p1", company="Acme", integration="crm",
                   integration_id="i-7", defaultsender="Acme", prefixes="45,+4520",
                   aclHlr=True, aclAdmin=True, max_forbrug=25, funding="own")  # fmt: skip
    create(client, root_key, username="p2", aclBilling=True, enabled=False,
           iprange="10.0.0.0/8", funding="own")  # fmt: skip
    third = create(client, first.key, username="p3", aclAdmin=True)
    create(client, third.key, username="p5")  # spends from p1's wallet, through p3
    gone = create(client, root_key, username="p4")
    with uow.write() as tx:  # what the sub-users spend from: their payer's wallet
        payer = funding.payer(tx, root)
        for asset, amount in ((Asset.BALANCE, 1234567), (Asset.CREDITS, 42)):
            wallet.apply(tx, account_id=payer.id, asset=asset, amount=amount, reason="test")
        wallet.apply(tx, account_id=first.id, asset=Asset.CREDITS, amount=7, reason="test")
    assert client.delete(f"/v2/user/{gone.id}.json?apikey={root_key}").status_code == 200
    users = listing(client, root_key)["users"]
    assert {u["username"] for u in users} == {root.name, "p1", "p2", "p3", "p4", "p5"}
    shown = {u["username"]: u for u in users}
    assert (shown["p3"]["parent"], shown["p1"]["company"]) == (first.id, "Acme")
    assert shown["p4"]["deactivated"] is not None
    assert (shown["p4"]["credits"], shown["p4"]["balance"]) == (42, "0.1234567")
    assert [shown[name]["credits"] for name in ("p1", "p3", "p5", "p2")] == [7, 7, 7, 0]
    for user in users:
        alone = client.get(f"/v2/user/{user['id']}.json?apikey={root_key}")
        assert alone.status_code == 200, alone.text
        assert alone.json()["user"] == user
