"""The app shell: /healthz reflects the database."""

from typing import Any

from starlette.testclient import TestClient

from smsaccounts.app import create_app
from smsaccounts.config import Settings
from tests.conftest import make_uow


def test_healthz_answers_ok_when_the_database_answers(client: Any) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_healthz_answers_503_when_the_database_does_not(settings: Settings, clock: Any) -> None:
    from smsaccounts.storage.database import make_engine

    broken = settings.replace(database_url="postgresql://nobody@127.0.0.1:1/none")
    engine = make_engine(broken, connect_args={"connect_timeout": 1})
    app = create_app(broken, uow=make_uow(broken, engine, clock), deliver_sms=False)
    with TestClient(app) as test_client:
        response = test_client.get("/healthz")
    assert (response.status_code, response.json()) == (503, {"status": "unavailable"})


def test_a_body_over_the_limit_answers_413_before_it_is_read(
    settings: Settings, clock: Any
) -> None:
    from smsaccounts.storage.database import make_engine

    small = settings.replace(max_body_bytes=1000)
    app = create_app(small, uow=make_uow(small, make_engine(small), clock), deliver_sms=False)
    with TestClient(app) as test_client:
        declared = test_client.post("/json/user/balance/get", content=b"x" * 1001)
        assert declared.status_code == 413

        def chunks() -> Any:
            for _ in range(20):
                yield b"y" * 100

        streamed = test_client.post("/json/user/balance/get", content=chunks())
        assert streamed.status_code == 413
        fine = test_client.post("/json/user/balance/get", content=b"{}")
        assert fine.status_code != 413
        # A route of Starlette's router (not an exact plain-ASGI path) is limited alike.
        assert test_client.post("/console/sign-in", content=b"x" * 1001).status_code == 413


def test_exact_paths_take_plain_asgi_routes_and_leave_every_other_request_to_the_router() -> None:
    import asyncio

    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Mount, Route

    from smsaccounts.middleware import ExactPaths

    calls: list[str] = []

    async def plain(_scope: Any, _receive: Any, _send: Any) -> None:
        calls.append("plain")

    async def router(_scope: Any, _receive: Any, _send: Any) -> None:
        calls.append("router")

    async def function(_request: Request) -> Response:  # pragma: no cover - never called
        return Response()

    class Plain:
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await plain(scope, receive, send)

    app = Plain()
    routes = [
        Mount("/m", routes=[Route("/a", app, methods=["POST"]), Route("/f", function)]),
        Route("/p/{x}", app, methods=["POST"]),
    ]
    exact = ExactPaths(router, routes=routes)
    assert exact.table == {("POST", "/m/a"): app}

    def call(method: str, path: str, **extra: Any) -> str:
        calls.clear()
        scope = {"type": "http", "method": method, "path": path, **extra}
        asyncio.run(exact(scope, None, None))  # type: ignore[arg-type]
        return calls[0]

    assert call("POST", "/m/a") == "plain"
    assert call("GET", "/m/a") == "router"  # the router answers 405
    assert call("POST", "/m/a/") == "router"
    assert call("POST", "/m/f") == "router"
    assert call("POST", "/p/1") == "router"
    assert call("POST", "/m/a", root_path="/base") == "router"


def test_a_mysms_method_answers_other_http_methods_405_through_the_router(client: Any) -> None:
    assert client.get("/json/user/balance/get").status_code == 405
    answered = client.post("/json/user/balance/get", json={})
    assert (answered.status_code, answered.headers["content-type"]) == (200, "application/json")
    assert answered.json()["errorCode"] != 0


def _constant(value: bool) -> property:
    return property(lambda _self: value)


def test_balance_get_reads_without_a_worker_thread_unless_its_limits_are_shared(
    settings: Settings, engine: Any, clock: Any, monkeypatch: Any
) -> None:
    """balance/get's one read runs on the event loop while the limits are counted in
    memory; with shared (Redis) limits, and for every other method, a worker thread."""
    from starlette import concurrency

    from smsaccounts.dialects import pipeline
    from smsaccounts.ratelimit import RateLimiter

    threaded: list[str] = []
    real = concurrency.run_in_threadpool

    async def recording(work: Any, op: Any, *args: Any) -> Any:
        threaded.append(op.name)
        return await real(work, op, *args)

    monkeypatch.setattr(pipeline, "run_in_threadpool", recording)
    for shared in (False, True):
        monkeypatch.setattr(RateLimiter, "blocking", _constant(shared))
        app = create_app(settings, uow=make_uow(settings, engine, clock), deliver_sms=False)
        with TestClient(app) as test_client:
            for method in ("balance/get", "login"):
                answer = test_client.post(f"/json/user/{method}", json={"apiKey": "sak_x"})
                assert answer.json()["errorCode"] == 600
    assert threaded == ["login", "balance/get", "login"]


def test_blocking_work_shares_the_configured_number_of_threads(
    settings: Settings, engine: Any, clock: Any
) -> None:
    from anyio import to_thread

    app_settings = settings.replace(worker_threads=3)
    app = create_app(app_settings, uow=make_uow(app_settings, engine, clock), deliver_sms=False)
    with TestClient(app) as test_client:
        assert test_client.portal is not None  # set while the client is open
        limit = test_client.portal.call(
            lambda: to_thread.current_default_thread_limiter().total_tokens
        )
    assert limit == 3


def test_no_worker_threads_is_refused_at_start(settings: Settings) -> None:
    import pytest

    with pytest.raises(ValueError, match="SMSACCOUNTS_WORKER_THREADS"):
        create_app(settings.replace(worker_threads=0), deliver_sms=False)


def test_a_length_within_the_limit_is_not_trusted_when_a_transfer_encoding_comes_too() -> None:
    """h11 frames such a body by its chunks, not by the length: it is counted as it arrives,
    and a body that keeps coming past the limit is refused."""
    import asyncio

    from smsaccounts.middleware import BodyLimit

    async def app(_scope: Any, receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def statuses(headers: list[tuple[bytes, bytes]]) -> list[int]:
        sent: list[int] = []
        chunks = iter(range(20))  # 2,000 bytes

        async def receive() -> dict[str, Any]:
            more = next(chunks) < 19
            return {"type": "http.request", "body": b"z" * 100, "more_body": more}

        async def send(message: Any) -> None:
            if message["type"] == "http.response.start":
                sent.append(message["status"])

        scope = {"type": "http", "headers": headers}
        asyncio.run(BodyLimit(app, max_bytes=1000)(scope, receive, send))
        return sent

    length = (b"content-length", b"10")
    assert statuses([length, (b"transfer-encoding", b"chunked")]) == [413]
    assert statuses([(b"transfer-encoding", b"chunked"), length]) == [413]
    assert statuses([(b"content-length", b"ten")]) == [413]


def test_a_path_with_parameters_is_routed_once_then_served_as_the_router_chose(
    settings: Settings, uow: Any, monkeypatch: Any
) -> None:
    """LINK's `{fmt}` and `{id}` paths: the first request of a method and path goes through
    Starlette's router, the next ones straight to the app it chose, with the parameters it
    read; every answer is the router's."""
    from starlette.applications import Starlette

    from tests import factories

    routed: list[str] = []
    through_router = Starlette.__call__

    async def counting(self: Any, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self is app:  # not the console's own Starlette
            routed.append(scope["path"])
        await through_router(self, scope, receive, send)

    monkeypatch.setattr(Starlette, "__call__", counting)
    admin = factories.user(uow, acl_admin=True)
    key = factories.user_key(uow, admin)
    app = create_app(settings, uow=uow, deliver_sms=False)
    with TestClient(app) as client:

        def twice(method: str, path: str, *, learned: bool = True) -> Any:
            """The same request twice; both answers, checked equal, and the router's count."""
            routed.clear()
            first = client.request(method, path)
            second = client.request(method, path)
            assert (second.status_code, second.headers, second.content) == (
                first.status_code, first.headers, first.content,
            )  # fmt: skip
            assert routed == ([path.partition("?")[0]] if learned else [path.partition("?")[0]] * 2)
            return first

        made = client.post(f"/v2/user.json?apikey={key}", json={"user": {"username": "kid1"}})
        other = client.post(f"/v2/user.json?apikey={key}", json={"user": {"username": "kid2"}})
        kid, kid2 = made.json()["user"]["id"], other.json()["user"]["id"]
        page = twice("GET", f"/v2/users.json?apikey={key}")
        assert page.status_code == 200
        assert sorted(u["username"] for u in page.json()["users"]) == sorted(
            [admin.name, "kid1", "kid2"]
        )
        # `{id}` and `{fmt}` as the router read them: each id its own path and answer.
        one = twice("GET", f"/v2/user/{kid}.xml?apikey={key}")
        two = twice("GET", f"/v2/user/{kid2}.xml?apikey={key}")
        assert (one.status_code, two.status_code) == (200, 200)
        assert b"<username>kid1</username>" in one.content
        assert b"<username>kid2</username>" in two.content
        # A method the path does not serve: the dialect's 405 with its Allow, both times.
        refused = twice("POST", f"/v2/users.json?apikey={key}")
        assert (refused.status_code, refused.headers["allow"]) == (405, "GET, HEAD")
        assert twice("GET", f"/v2/users.txt?apikey={key}").status_code == 404
        # Nothing is kept for what no route with parameters answered.
        assert twice("GET", "/v2/nowhere", learned=False).status_code == 404
        # A console page with a parameter is a function's route: routed every time.
        routed.clear()
        for _ in range(2):
            assert client.get("/console/accounts/1", follow_redirects=False).status_code < 500
        assert routed == ["/console/accounts/1"] * 2


def test_exact_paths_keep_only_a_templated_routes_choice_and_hand_out_its_parameters() -> None:
    from starlette.routing import Mount, Route, Router

    from smsaccounts import middleware
    from smsaccounts.middleware import ExactPaths

    class Plain:
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            """Never called here."""

    templated, exact = Plain(), Plain()
    inner = Router([Route("/t/{n}.{fmt}", templated, methods=None)])
    exact_paths = ExactPaths(
        inner, routes=[Mount("/m", routes=[*inner.routes, Route("/e", exact, methods=None)])]
    )
    scope: dict[str, Any] = {"type": "http", "method": "GET", "path": "/m/t/1.json"}
    key = exact_paths.learnable(scope)
    assert key == ("GET", "/m/t/1.json")
    assert key is not None
    # The router's scope: a Router (equality without a hash) or another app is not kept.
    exact_paths.learn(key, {**scope, "endpoint": inner, "path_params": {}})
    exact_paths.learn(key, {**scope, "endpoint": exact, "path_params": {}})
    assert exact_paths.learned == {}
    assert exact_paths.find(dict(scope)) is None
    exact_paths.learn(key, {**scope, "endpoint": templated, "path_params": {"n": "1"}})
    first, second = dict(scope), dict(scope)
    assert exact_paths.find(first) is templated
    first["path_params"]["n"] = "changed by the app"
    assert (exact_paths.find(second), second["path_params"]) == (templated, {"n": "1"})
    assert exact_paths.find({**scope, "method": "POST"}) is None  # kept by method too
    assert exact_paths.learnable({**scope, "root_path": "/base"}) is None
    assert exact_paths.find({**scope, "root_path": "/base"}) is None
    # Bounded: when full it starts over.
    for n in range(middleware._LEARNED_MOST):
        path = f"/m/t/{n + 2}.json"
        exact_paths.learn(("GET", path), {**scope, "path": path, "endpoint": templated})
    assert len(exact_paths.learned) <= middleware._LEARNED_MOST
    assert ("GET", "/m/t/1.json") not in exact_paths.learned
