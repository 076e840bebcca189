"""The LINK v2 users API (seed 002, CONTRACT section 4).

`{fmt}` is `json` or `xml`; any other format is a 404 in JSON. Authentication is the
user's own `?apikey=` (or the legacy `apikey=legacy&username=&password=&type=plain`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from smsaccounts.dialects.link import handlers
from smsaccounts.dialects.link.http import Handler, endpoint
from smsaccounts.storage.unit_of_work import UnitOfWork


def routes(uow: UnitOfWork) -> list[BaseRoute]:
    def route(path: str, handler: Handler, method: str) -> Route:
        return Route(path, endpoint(uow, handler), methods=[method])

    # One route per path, so that a 405 lists every method of the path in `Allow`.
    one_user: dict[str, Handler] = {"GET": handlers.get_user, "PUT": handlers.update_user,
                "DELETE": handlers.delete_user}  # fmt: skip
    return [
        route("/v2/ping.{fmt}", handlers.ping, "GET"),
        route("/v2/users.{fmt}", handlers.list_users, "GET"),
        route("/v2/user.{fmt}", handlers.create_user, "POST"),
        Route("/v2/user/{id}.{fmt}", _by_method(uow, one_user), methods=list(one_user)),
    ]


def _by_method(
    uow: UnitOfWork, by: Mapping[str, Handler]
) -> Callable[[Request], Awaitable[Response]]:
    endpoints = {method: endpoint(uow, handler) for method, handler in by.items()}

    async def run(request: Request) -> Response:
        # Starlette serves HEAD wherever GET is allowed; it is answered as the GET.
        return await endpoints.get(request.method, endpoints["GET"])(request)

    return run
