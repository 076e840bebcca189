"""The statements compiled for psycopg, as asyncpg takes them (storage/awaited.py `numbered`)."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, create_engine, literal_column, select

from smsaccounts.storage.awaited import numbered
from smsaccounts.storage.tables import accounts


def test_named_markers_are_numbered_in_order_and_a_repeated_name_keeps_its_number() -> None:
    text, names = numbered("SELECT %(a)s, %(b)s WHERE x = %(a)s")
    assert text == "SELECT $1, $2 WHERE x = $1"
    assert names == ("a", "b")


def test_a_literal_percent_sign_is_one_and_never_a_marker() -> None:
    text, names = numbered("SELECT '100%%', 'a%%(b)s' LIKE %(p)s")
    assert text == "SELECT '100%', 'a%(b)s' LIKE $1"
    assert names == ("p",)


def test_positional_markers_take_a_sequence() -> None:
    assert numbered("SELECT %s, %s") == ("SELECT $1, $2", None)


def test_a_statement_mixing_both_kinds_is_refused() -> None:
    with pytest.raises(ValueError, match="both"):
        numbered("SELECT %(a)s, %s")


def test_a_statement_sqlalchemy_compiled_for_psycopg_is_numbered_by_its_parameters() -> None:
    statement = select(accounts.c.id, literal_column("'50%'")).where(
        accounts.c.name.like(bindparam("pattern")),
        accounts.c.id > bindparam("above"),
        accounts.c.parent_id == bindparam("above"),
    )
    compiled = statement.compile(dialect=create_engine("postgresql+psycopg://").dialect)
    text, names = numbered(compiled.string)
    assert names == ("pattern", "above")
    assert "'50%'" in text
    assert "%(" not in text
    assert text.count("$1") == 1
    assert text.count("$2") == 2
