"""The LINK v2 users API (seed 002, CONTRACT section 4).

`{fmt}` is `json` or `xml`; any other format is a 404 in JSON. Authentication is the
user's own `?apikey=` (or the legacy `apikey=legacy&username=&password=&type=plain`).
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from smsaccounts.dialects.link import handlers
from smsaccounts.dialects.link.http import Handler, endpoint
from smsaccounts.storage.unit_of_work import UnitOfWork


def routes(uow: UnitOfWork) -> list[BaseRoute]:
    def route(path: str, handler: Handler, method: str) -> Route:
        return Route(path, endpoint(uow, handler), methods=[method])

    return [
        route("/v2/ping.{fmt}", handlers.ping, "GET"),
        route("/v2/users.{fmt}", handlers.list_users, "GET"),
        route("/v2/user.{fmt}", handlers.create_user, "POST"),
        route("/v2/user/{id}.{fmt}", handlers.get_user, "GET"),
        route("/v2/user/{id}.{fmt}", handlers.update_user, "PUT"),
        route("/v2/user/{id}.{fmt}", handlers.delete_user, "DELETE"),
    ]
