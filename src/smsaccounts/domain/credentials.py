"""Credentials: argon2id passwords, prefixed random tokens and keys, PINs; hashes only."""

from __future__ import annotations

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

    def __init__(self, *, time_cost: int, memory_cost: int, parallelism: int) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            type=argon2.Type.ID,
        )
        # Verified against when the account does not exist, so that an unknown name costs
        # the same time as a wrong password.
        self._dummy = self._hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored or self._dummy, password) and stored is not None
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)
