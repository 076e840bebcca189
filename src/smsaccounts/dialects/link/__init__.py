"""The LINK v2 users API (seed 002, CONTRACT section 4)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from smsaccounts.storage.unit_of_work import UnitOfWork


def routes(uow: UnitOfWork) -> list[BaseRoute]:
    return []
