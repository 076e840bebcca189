"""The LINK v2 users API (reference: docs/link.md).

`{fmt}` is `json` or `xml`; any other format is a 404 in JSON. Authentication is the
user's own `?apikey=` (or the legacy `apikey=legacy&username=&password=&type=plain`).
`POST /v2/user/{id}/apikey.{fmt}` rotates a user's own key (its own, or aclAdmin below).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool

from smsaccounts.dialects import pipeline
from smsaccounts.dialects.link import handlers, http
from smsaccounts.dialects.link.http import Call, Handler
from smsaccounts.dialects.pipeline import Operation
from smsaccounts.storage.unit_of_work import UnitOfWork

OnLoop = Callable[[UnitOfWork, Call, pipeline.Call], Awaitable[msgspec.Struct]]


def _operation(name: str, handler: Handler, on_loop: OnLoop | None = None) -> Operation[Any, Any]:
    return Operation(
        name=name,
        decode=http.decode,
        run=lambda uow, call, _raw: handler(uow, call),
        encode=http.encode,
        credential=http.credential,
        run_on_loop=on_loop,
    )


async def _users_on_loop(uow: UnitOfWork, call: Call, _raw: pipeline.Call) -> msgspec.Struct:
    """A page for an apikey is reads only: on SQLite they run on the event loop. In a
    worker thread each of the page's SQLite calls gives up the GIL and waits up to the
    switch interval to get it back from the busy loop (`make bench --profile`: half the
    samples). The legacy form (argon2, the lockout's write) and a database server's round
    trips go to a worker thread."""
    if call.params.get("apikey", "") != "legacy" and uow.lookups_inline:
        return handlers.list_users(uow, call)
    return await run_in_threadpool(handlers.list_users, uow, call)


DIALECT = pipeline.Dialect(
    name="link",
    mounts=("/v2",),
    routes={
        "/ping.{fmt}": {"GET": _operation("ping", handlers.ping)},
        "/users.{fmt}": {"GET": _operation("users", handlers.list_users, _users_on_loop)},
        "/user.{fmt}": {"POST": _operation("user.create", handlers.create_user)},
        # One route per path, so that a 405 lists every method of the path in `Allow`.
        "/user/{id}.{fmt}": {
            "GET": _operation("user.get", handlers.get_user),
            "PUT": _operation("user.update", handlers.update_user),
            "DELETE": _operation("user.delete", handlers.delete_user),
        },
        "/user/{id}/apikey.{fmt}": {"POST": _operation("user.apikey", handlers.rotate_key)},
        "/message.{fmt}": {"POST": _operation("message.send", handlers.send_message)},
    },
    fail=http.fail,
)
