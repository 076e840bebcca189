"""Each dialect's error table has a row for every code of the vocabulary: a new code
without a row fails here, before any client can meet an unmapped error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from smsaccounts.dialects.charging import errors as charging
from smsaccounts.dialects.link import errors as link
from smsaccounts.dialects.mor import errors as mor
from smsaccounts.dialects.mysms import codes as mysms
from smsaccounts.dialects.reseller import statuses as reseller
from smsaccounts.errors import DomainError, ErrorCode

TABLES: dict[str, Mapping[ErrorCode, Any]] = {
    "mysms": mysms.TABLE,
    "reseller": reseller.TABLE,
    "link": link.STATUS,
    "mor": mor.TABLE,
    "charging": charging.STATUS,
}


@pytest.mark.parametrize("dialect", list(TABLES))
def test_the_dialects_table_covers_every_error_code(dialect: str) -> None:
    assert set(TABLES[dialect]) == set(ErrorCode)


def test_every_domain_error_family_defaults_to_a_code() -> None:
    families: list[type[DomainError]] = [DomainError, *DomainError.__subclasses__()]
    assert all(isinstance(family.default_code, ErrorCode) for family in families)
    assert len({family.default_code for family in families[1:]}) == len(families) - 1
