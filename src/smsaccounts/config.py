"""One frozen Settings, read from the SMSACCOUNTS_* environment once and passed down."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from typing import Any

PREFIX = "SMSACCOUNTS_"

# Settings that take one of a few words; anything else is refused at start-up, by name.
CHOICES: dict[str, tuple[str, ...]] = {
    "log_format": ("json", "console"),
    "log_level": ("debug", "info", "warning", "error", "critical"),
    "sqlite_synchronous": ("OFF", "NORMAL", "FULL", "EXTRA"),
    "sms_transport": ("log", "http"),
}
DATABASE_SCHEMES = ("sqlite", "postgresql")


class SettingError(ValueError):
    """A setting the service cannot run with; the message names the variable."""

    def __init__(self, name: str, message: str) -> None:
        self.variable = PREFIX + name.upper()
        super().__init__(f"{self.variable}: {message}")


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    """Every setting of the service; each field is `SMSACCOUNTS_<FIELD>` in the environment."""

    database_url: str = "sqlite:///./smsaccounts.db"
    redis_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8080
    log_format: str = "json"  # json | console
    log_level: str = "info"
    # SQLite durability: FULL keeps every committed debit across a power loss.
    sqlite_synchronous: str = "FULL"
    # Outgoing SMS.
    sms_transport: str = "log"  # log | http
    sms_http_url: str = ""  # e.g. http://127.0.0.1:1401/send?to={to}&content={text}
    sms_sender: str = "smsaccounts"
    outbox_poll_seconds: float = 1.0
    outbox_max_attempts: int = 8
    outbox_backoff_seconds: float = 5.0
    # Low-balance alerts by e-mail: smtp://HOST:PORT (or smtps://, user:password@ optional)
    # and the From address; empty: e-mail contacts are refused.
    smtp_url: str = ""
    smtp_from: str = ""
    # Whether a low-balance webhook may go to a loopback, private, link-local or otherwise
    # non-public address (off: a tenant's contact cannot make the server call inside the network).
    webhook_private_addresses: bool = False
    # Phone numbers.
    allowed_countries: frozenset[str] = frozenset()  # ISO 3166 codes; empty = all
    default_currency: str = "EUR"
    # Charging: a premium message priced above this (a decimal, in the paying wallet's
    # currency) needs aclBillingHigh besides aclBilling.
    premium_high_price: str = "5"
    # Abuse protection (seconds and counts); the defaults are the contract's.
    rate_limit: str = "100/second"
    pin_ttl_seconds: int = 600
    pin_max_failures: int = 3
    pin_block_seconds: int = 900
    # PIN SMS to one number: at most one per resend interval and so many a day.
    pin_resend_seconds: int = 60
    pin_daily_max: int = 5
    # Wrong PIN checks an hour, whatever the numbers, that block checks from one client IP
    # and through one client key (one app key serves all its users: a high count).
    pin_failures_per_ip: int = 20
    pin_failures_per_key: int = 1000
    login_max_failures: int = 5
    login_window_seconds: int = 900
    login_block_seconds: int = 900
    reset_block_seconds: int = 900
    # true: an unknown msisdn and a blocked login answer like a wrong password (mysms 101).
    login_uniform_errors: bool = False
    # Password hashing (argon2id).
    argon2_time_cost: int = 2
    argon2_memory_cost: int = 19456  # KiB; OWASP's argon2id minimum profile
    argon2_parallelism: int = 1
    # Seconds a successful password check is remembered per process (0: every call verifies).
    credential_cache_seconds: int = 60
    # Every new password, through every door (mysms narrows it to 4-15 on top).
    password_min_length: int = 4
    password_max_length: int = 128
    # MOR API switches.
    mor_api_enabled: bool = True
    mor_allow_get: bool = False
    # Proxies (comma-separated addresses or CIDRs) whose X-Forwarded-For names the client;
    # empty: the peer's address is the client's, whatever a header says.
    trusted_proxies: str = ""
    # Request bodies larger than this answer 413 before they are read whole.
    max_body_bytes: int = 1_048_576
    # false behind PgBouncer in transaction pooling: psycopg then prepares no statements
    # on the server (a prepared statement lives in a server session the pooler hands
    # to other clients between transactions).
    pg_prepared_statements: bool = True
    # Prometheus metrics: off, on (GET /metrics on the API's port) or a port of their own.
    metrics: str = "off"
    # On SIGTERM, in-flight requests get this long to finish before connections are closed.
    grace_seconds: int = 30
    # An outbox message claimed by a worker is its own for this long; if that worker dies
    # the claim runs out and another worker delivers the message.
    outbox_lease_seconds: float = 60.0
    # Threads per worker process for blocking work (transactions, argon2). Few beat many:
    # Python threads share one interpreter lock, and 4 served more than 40 (make bench).
    worker_threads: int = 4
    # The web console (/console/): a session ends this long after sign-in; the cookie is
    # signed with this key (empty: a random key per process, so a restart signs everyone out).
    console_session_seconds: int = 28_800
    console_secret: str = ""
    # Subtree counts and sums on the dashboard are computed at most this often per account.
    console_stats_seconds: int = 60

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every field from `SMSACCOUNTS_<NAME>`; unset ones keep their default."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            raw = env.get(PREFIX + field.name.upper())
            if raw is None:
                continue
            values[field.name] = _parse(field.name, field.type, raw)
        return cls(**values).checked()

    def checked(self) -> Settings:
        """Itself, if every word-valued setting is one of its words (SettingError if not)."""
        for name, allowed in CHOICES.items():
            value = getattr(self, name)
            if value.lower() not in {word.lower() for word in allowed}:
                raise SettingError(name, f"must be one of {', '.join(allowed)}, got {value!r}")
        if not 1 <= self.password_min_length <= self.password_max_length:
            raise SettingError(
                "password_min_length",
                "must be at least 1 and at most SMSACCOUNTS_PASSWORD_MAX_LENGTH",
            )
        if self.metrics.lower() not in {"off", "on"} and not (
            self.metrics.isdigit() and 1 <= int(self.metrics) <= 65535
        ):
            raise SettingError("metrics", f"must be off, on or a port number, got {self.metrics!r}")
        if self.outbox_lease_seconds <= 0 or self.grace_seconds < 0:
            name = "outbox_lease_seconds" if self.outbox_lease_seconds <= 0 else "grace_seconds"
            raise SettingError(name, "must be a positive number of seconds")
        if self.smtp_url and self.smtp_url.partition("://")[0].lower() not in ("smtp", "smtps"):
            raise SettingError("smtp_url", "must be an smtp://HOST:PORT or smtps://HOST:PORT URL")
        if self.smtp_url and "@" not in self.smtp_from:
            raise SettingError("smtp_from", "must be an e-mail address when SMTP is configured")
        scheme = self.database_url.partition(":")[0].partition("+")[0]
        if scheme not in DATABASE_SCHEMES:
            raise SettingError(
                "database_url",
                "must be a sqlite:///PATH or postgresql://USER@HOST:PORT/DB URL, got "
                + repr(mask_url(self.database_url)),
            )
        return self

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _parse(name: str, type_name: Any, raw: str) -> Any:
    kind = str(type_name)
    try:
        if kind == "bool":
            return _parse_bool(raw)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind.startswith("frozenset"):
            return frozenset(p.strip().upper() for p in raw.split(",") if p.strip())
    except ValueError as exc:
        raise SettingError(name, f"must be {_KIND_WORDS.get(kind, kind)}: {exc}") from None
    return raw


_KIND_WORDS = {
    "bool": "true or false",
    "int": "an integer",
    "float": "a number",
}


def mask_url(url: str) -> str:
    """A database URL fit to print: any password replaced by ***."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {raw!r}")
