"""The MOR billing API (seed 003, CONTRACT section 5)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from smsaccounts.storage.unit_of_work import UnitOfWork


def routes(uow: UnitOfWork) -> list[BaseRoute]:
    return []
