"""Credentials: argon2id passwords, prefixed random tokens and keys, PINs; hashes only."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

import argon2

TOKEN_PREFIX = "sat_"  # noqa: S105 - a prefix, not a secret
KEY_PREFIX = "sak_"
PIN_DIGITS = 6


def new_token() -> str:
    """An auth token: 256 random bits behind a prefix that a leak scanner can find."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def new_pin() -> str:
    return f"{secrets.randbelow(10**PIN_DIGITS):0{PIN_DIGITS}d}"


def new_password(length: int = 10) -> str:
    """A generated password inside the 4-15 character rule, easy to type from an SMS."""
    alphabet = "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def secret_hash(secret: str) -> str:
    """SHA-256 of a high-entropy secret (token, key); enough because it cannot be guessed."""
    return hashlib.sha256(secret.encode()).hexdigest()


def pin_hash(msisdn: str, pin: str) -> str:
    """A PIN is bound to its msisdn so one hash cannot serve another number."""
    return hashlib.sha256(f"{msisdn}:{pin}".encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class Passwords:
    """argon2id hashing with rehash-on-login and a dummy verify for unknown accounts."""

    def __init__(
        self, *, time_cost: int, memory_cost: int, parallelism: int, cache_seconds: int = 0
    ) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            type=argon2.Type.ID,
        )
        # Verified against when the account does not exist, so that an unknown name costs
        # the same time as a wrong password.
        self._dummy = self._hasher.hash(secrets.token_urlsafe(16))
        self.verified = VerifiedCredentials(cache_seconds)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored or self._dummy, password) and stored is not None
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)


class VerifiedCredentials:
    """Successful password checks of this process, remembered for `ttl_seconds` (0: none).

    An entry is an HMAC under a random key that never leaves the process, over the account
    id, the password and the stored hash it was verified against; the password is not kept.
    The stored hash is part of the key, so a changed password (a new hash, read from the
    database on every request) misses in every worker at once. Only a correct password is
    ever remembered: a wrong one never matches and still pays the full verify.
    """

    MAX_ENTRIES = 100_000  # bounded memory; the oldest entry goes first

    def __init__(self, ttl_seconds: int) -> None:
        self._ttl = dt.timedelta(seconds=max(ttl_seconds, 0))
        self._key = secrets.token_bytes(32)
        self._until: dict[bytes, dt.datetime] = {}

    @property
    def enabled(self) -> bool:
        return self._ttl > dt.timedelta(0)

    def _digest(self, account_id: int, stored: str, password: str) -> bytes:
        # Length-prefixed fields, so no two (id, hash, password) triples share a message.
        parts = (str(account_id).encode(), stored.encode(), password.encode())
        message = b"".join(len(part).to_bytes(4, "big") + part for part in parts)
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def holds(self, account_id: int, stored: str | None, password: str, now: dt.datetime) -> bool:
        """Whether this password was verified against `stored` within the TTL."""
        if not self.enabled or not stored:
            return False
        digest = self._digest(account_id, stored, password)
        until = self._until.get(digest)
        if until is None:
            return False
        if now >= until:
            self._until.pop(digest, None)
            return False
        return True

    def remember(self, account_id: int, stored: str, password: str, now: dt.datetime) -> None:
        """Note a verification that succeeded (and whose login was admitted)."""
        if not self.enabled:
            return
        if len(self._until) >= self.MAX_ENTRIES:
            self._until = {d: u for d, u in self._until.items() if u > now}
            while len(self._until) >= self.MAX_ENTRIES:
                self._until.pop(next(iter(self._until)))
        self._until[self._digest(account_id, stored, password)] = now + self._ttl
