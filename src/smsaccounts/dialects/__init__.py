"""The four API dialects: each decodes, calls services, maps domain errors, encodes."""

from __future__ import annotations

from starlette.routing import BaseRoute

from smsaccounts.dialects import link, mor, mysms, reseller
from smsaccounts.storage.unit_of_work import UnitOfWork

DIALECTS = (mysms, reseller, link, mor)


def routes(uow: UnitOfWork) -> list[BaseRoute]:
    return [route for dialect in DIALECTS for route in dialect.routes(uow)]
