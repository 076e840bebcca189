"""The mysms-compatible user endpoint API (seed 000, CONTRACT section 2)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from smsaccounts.storage.unit_of_work import UnitOfWork


def routes(uow: UnitOfWork) -> list[BaseRoute]:
    return []
