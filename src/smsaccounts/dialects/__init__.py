"""The API dialects (four wire-compatible ones and the charging API), each plugged into the
one pipeline (`pipeline.Dialect`): its message types, its routes to use cases, its error
table and its encoders."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from smsaccounts.dialects import charging, link, mor, mysms, reseller
from smsaccounts.dialects.pipeline import Dialect, Pipeline
from smsaccounts.ratelimit import RateLimiter
from smsaccounts.storage.unit_of_work import UnitOfWork

DIALECTS = (mysms, reseller, link, mor, charging)


def all_dialects(uow: UnitOfWork) -> tuple[Dialect, ...]:
    """Every dialect; MOR's routes follow the installation's switches."""
    return (mysms.DIALECT, mysms.REMOTE, reseller.DIALECT, link.DIALECT,
            mor.dialect(uow.settings), charging.DIALECT)  # fmt: skip


class Served(NamedTuple):
    routes: list[BaseRoute]
    fallback: Callable[[ASGIApp], ASGIApp]  # wraps the app router's own 404
    limiter: RateLimiter  # the app's one limiter (readiness pings its storage)


def serve(uow: UnitOfWork) -> Served:
    """Every dialect's routes, and the answer to paths under their mounts that none has."""
    # One limiter per app: its counts must outlive a request, and every door shares them.
    limiter = RateLimiter(uow.settings)
    pipeline = Pipeline(uow, limiter)
    every = all_dialects(uow)
    routes = [route for dialect in every for route in pipeline.routes(dialect)]
    return Served(routes, lambda default: pipeline.fallback(every, default), limiter)
