"""The shape of the seeded tree and every credential in it, derived from ids alone.

The seeder writes these values and the scenarios rebuild them from the same functions, so a
request file never has to be read back from the database (and two runs send the same bytes).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib

PASSWORD = "bench-pw-1"  # noqa: S105 - a fixture; 4-15 characters, the mysms rule
MOR_SECRET = "bench-mor-secret"  # noqa: S105 - a benchmark fixture, not a secret
ADMIN_ID = 1
# Rights a client application key may carry; generous so that no scenario trips over one.
CLIENT_RIGHTS = " ".join(
    f"user.{method}"
    for method in ("balance.get", "create", "delete", "feature.get", "login", "msisdn.verify",
                   "password.change", "password.reset", "setting.get", "setting.set",
                   "smsrouting.get", "smsrouting.set")
)  # fmt: skip


def _derived(prefix: str, label: str) -> str:
    """`prefix` + 43 url-safe characters, shaped like `secrets.token_urlsafe(32)`."""
    digest = hashlib.sha256(f"smsaccounts-bench:{label}".encode()).digest()
    return prefix + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def auth_token(account_id: int) -> str:
    return _derived("sat_", f"token:{account_id}")


def client_key(customer_index: int) -> str:
    return _derived("sak_", f"client-key:{customer_index}")


def user_key(account_id: int) -> str:
    return _derived("sak_", f"user-key:{account_id}")


def gateway_key() -> str:
    """The admin's gateway key (the charging API's)."""
    return _derived("sak_", "gateway-key")


def msisdn(account_id: int) -> str:
    """A valid Austrian mobile number per account: 43 676 and seven digits of the id."""
    return f"43676{account_id:07d}"


def object_id(account_id: int) -> str:
    return f"{0x65000000:08x}{account_id:016x}"


@dataclasses.dataclass(frozen=True, slots=True)
class Layout:
    """Ids of every account: admin 1, resellers, customers, the LINK root, its subtree, users.

    `users` counts every account of kind user: the LINK root, its `link_below` sub-users and
    the regular users spread round-robin over the customers.
    """

    users: int
    resellers: int = 100
    customers: int = 1000
    link_below: int = 10_000
    debit_accounts: int = 1000

    def __post_init__(self) -> None:
        if self.regular_users < 1:
            raise ValueError("too few accounts for the resellers, customers and LINK subtree")

    @classmethod
    def for_users(cls, users: int, *, quick: bool = False) -> Layout:
        if quick:
            return cls(users, resellers=10, customers=50, link_below=min(1000, users // 4),
                       debit_accounts=200)  # fmt: skip
        return cls(users, link_below=min(10_000, users // 4))

    @property
    def regular_users(self) -> int:
        return self.users - 1 - self.link_below

    def reseller_id(self, r: int) -> int:
        return 2 + r

    def customer_id(self, c: int) -> int:
        return 2 + self.resellers + c

    def customer_reseller(self, c: int) -> int:
        return c % self.resellers

    @property
    def link_root(self) -> int:
        """The user with `link_below` sub-users (LINK's caller); it hangs below customer 0."""
        return 2 + self.resellers + self.customers

    def regular_user_id(self, j: int) -> int:
        return self.link_root + 1 + self.link_below + j

    def user_customer(self, j: int) -> int:
        return j % self.customers

    def customer_of_user_id(self, account_id: int) -> int:
        """The customer index a regular user or the LINK subtree belongs to."""
        j = account_id - self.regular_user_id(0)
        return self.user_customer(j) if j >= 0 else 0

    @property
    def last_id(self) -> int:
        return self.regular_user_id(self.regular_users - 1)

    @property
    def total_accounts(self) -> int:
        return self.last_id

    def debit_ids(self) -> range:
        """The regular users the concurrent debit scenario spends from (well funded)."""
        first = self.regular_user_id(0)
        return range(first, first + min(self.debit_accounts, self.regular_users))
