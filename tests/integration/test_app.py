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
