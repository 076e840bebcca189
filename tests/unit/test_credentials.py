"""Tokens, keys and PINs: prefixed, random, hashed; argon2id for passwords."""

import re

from smsaccounts.domain import credentials
from smsaccounts.domain.credentials import Passwords


def test_tokens_and_keys_carry_their_prefix_and_at_least_128_random_bits() -> None:
    token, key = credentials.new_token(), credentials.new_api_key()
    assert token.startswith("sat_")
    assert key.startswith("sak_")
    assert len(token) - 4 >= 128 // 6
    assert len({credentials.new_token() for _ in range(100)}) == 100


def test_secrets_are_stored_as_sha256_hex() -> None:
    digest = credentials.secret_hash("sat_x")
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert "sat_x" not in digest


def test_pins_have_six_digits_and_hash_per_msisdn() -> None:
    pin = credentials.new_pin()
    assert re.fullmatch(r"\d{6}", pin)
    assert credentials.pin_hash("4367", pin) != credentials.pin_hash("4368", pin)


def test_generated_passwords_fit_the_4_to_15_rule() -> None:
    assert all(4 <= len(credentials.new_password()) <= 15 for _ in range(50))


def test_passwords_verify_with_argon2id_and_unknown_accounts_never_verify() -> None:
    passwords = Passwords(time_cost=1, memory_cost=8, parallelism=1)
    stored = passwords.hash("pw")
    assert stored.startswith("$argon2id$")
    assert passwords.verify(stored, "pw")
    assert not passwords.verify(stored, "other")
    assert not passwords.verify(None, "pw")
    assert not passwords.verify("garbage", "pw")


def test_a_hash_made_with_weaker_parameters_needs_a_rehash() -> None:
    weak = Passwords(time_cost=1, memory_cost=8, parallelism=1)
    strong = Passwords(time_cost=2, memory_cost=16, parallelism=1)
    assert strong.needs_rehash(weak.hash("pw"))
    assert not weak.needs_rehash(weak.hash("pw"))
