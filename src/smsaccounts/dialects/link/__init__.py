"""The LINK v2 users API (reference: docs/link.md).

`{fmt}` is `json` or `xml`; any other format is a 404 in JSON. Authentication is the
user's own `?apikey=` (or the legacy `apikey=legacy&username=&password=&type=plain`).
`POST /v2/user/{id}/apikey.{fmt}` rotates a user's own key (its own, or aclAdmin below).
"""

from __future__ import annotations

from typing import Any

from smsaccounts.dialects import pipeline
from smsaccounts.dialects.link import handlers, http
from smsaccounts.dialects.link.http import Handler
from smsaccounts.dialects.pipeline import Operation
from smsaccounts.storage.unit_of_work import UnitOfWork


def _operation(
    name: str, handler: Handler, *, reads: bool = False, lookups: bool = False
) -> Operation[Any, Any]:
    """`reads`: the handler only reads once its caller is known by a key (no password, no
    write), so the pipeline may run it on the event loop (`pipeline.reads_on_loop`);
    `lookups`: and its reads are all `uow.lookups()`, which PostgreSQL then awaits there."""
    reads = reads or lookups

    def run(uow: UnitOfWork, call: http.Call, _raw: pipeline.Call) -> Any:
        return handler(uow, call)

    return Operation(
        name=name,
        decode=http.decode,
        run=run,
        encode=http.encode,
        credential=http.credential,
        run_on_loop=(
            pipeline.reads_on_loop(run, when=http.by_key, lookups_only=lookups) if reads else None
        ),
    )


DIALECT = pipeline.Dialect(
    name="link",
    mounts=("/v2",),
    routes={
        "/ping.{fmt}": {"GET": _operation("ping", handlers.ping, lookups=True)},
        "/users.{fmt}": {"GET": _operation("users", handlers.list_users, lookups=True)},
        "/user.{fmt}": {"POST": _operation("user.create", handlers.create_user)},
        # One route per path, so that a 405 lists every method of the path in `Allow`.
        "/user/{id}.{fmt}": {
            "GET": _operation("user.get", handlers.get_user, reads=True),
            "PUT": _operation("user.update", handlers.update_user),
            "DELETE": _operation("user.delete", handlers.delete_user),
        },
        "/user/{id}/apikey.{fmt}": {"POST": _operation("user.apikey", handlers.rotate_key)},
        "/message.{fmt}": {"POST": _operation("message.send", handlers.send_message)},
    },
    fail=http.fail,
)
