"""The reseller provisioning API (seeds 001 and 004, CONTRACT section 3)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from smsaccounts.storage.unit_of_work import UnitOfWork


def routes(uow: UnitOfWork) -> list[BaseRoute]:
    return []
