"""The reads awaited on the event loop (storage/awaited.py): asyncpg's connections where
statements may be prepared, psycopg's behind PgBouncer. Both must read every column of
every table as the engine's own (psycopg) connections read them, and the PgBouncer kind must
prepare nothing on the server."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, bindparam, create_engine, make_url, select

from smsaccounts.storage.awaited import AwaitedConnections, Link, finish
from smsaccounts.storage.tables import accounts, metadata
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories

pytestmark = pytest.mark.only_backend("postgresql")

T = TypeVar("T")


def _with_link(engine: Engine, prepare: bool, work: Callable[[Link], Awaitable[T]]) -> T:
    async def run() -> T:
        link = await AwaitedConnections(engine, prepare=prepare).connect()
        try:
            return await work(link)
        finally:
            finish(link)
            await asyncio.sleep(0)  # the loop closes the socket before it ends

    return asyncio.run(run())


def _sql(statement: Any, engine: Engine) -> str:
    return str(statement.compile(dialect=engine.dialect))


@pytest.mark.parametrize("prepare", [True, False], ids=["asyncpg", "psycopg-no-prepare"])
def test_every_table_reads_alike_through_the_awaited_connections(
    uow: UnitOfWork, engine: Engine, prepare: bool
) -> None:
    reseller = factories.reseller(uow, name="res", credits=12)
    customer = factories.customer(uow, parent=reseller, name="cus")
    factories.user(uow, parent=customer, name="usr")
    statements = {
        table.name: select(table).order_by(*table.primary_key.columns)
        for table in metadata.sorted_tables
        if table.primary_key.columns
    }
    with engine.connect() as conn:  # the engine's driver, its values as it reads them
        expected = {
            name: [tuple(row) for row in conn.exec_driver_sql(_sql(statement, engine))]
            for name, statement in statements.items()
        }
    assert expected["accounts"]
    assert expected["wallets"]
    assert expected["audit_log"]

    async def read_all(link: Link) -> dict[str, list[tuple[Any, ...]]]:
        found = {}
        for name, statement in statements.items():
            found[name] = [tuple(row) for row in await link.fetch(_sql(statement, engine), {})]
        return found

    assert _with_link(engine, prepare, read_all) == expected


@pytest.mark.parametrize("prepare", [True, False], ids=["asyncpg", "psycopg-no-prepare"])
def test_named_parameters_and_percent_signs_reach_the_server_as_meant(
    uow: UnitOfWork, engine: Engine, prepare: bool
) -> None:
    factories.reseller(uow, name="pct%res")
    statement = select(accounts.c.name).where(
        accounts.c.name.like(bindparam("pattern")), accounts.c.id > bindparam("above")
    )

    async def read(link: Link) -> list[Any]:
        sql = _sql(statement, engine)
        return [row[0] for row in await link.fetch(sql, {"pattern": "%\\%%", "above": 0})]

    assert _with_link(engine, prepare, read) == ["pct%res"]


def test_behind_pgbouncer_nothing_is_prepared_on_the_server(engine: Engine) -> None:
    def prepared_after_reads(prepare: bool) -> int:
        async def read(link: Link) -> int:
            sql = _sql(select(accounts.c.id).where(accounts.c.id == bindparam("id")), engine)
            for _ in range(3):  # psycopg prepares a statement on its third run by default
                await link.fetch(sql, {"id": 1})
            rows = await link.fetch("SELECT count(*) FROM pg_prepared_statements", {})
            return int(rows[0][0])

        return _with_link(engine, prepare, read)

    assert prepared_after_reads(False) == 0
    assert prepared_after_reads(True) > 0  # asyncpg keeps its statements prepared


def test_an_argument_of_the_wrong_type_is_a_bug_and_never_an_outage(engine: Engine) -> None:
    awaited = AwaitedConnections(engine, prepare=True)
    sql = _sql(select(accounts.c.id).where(accounts.c.id == bindparam("id")), engine)

    async def read(link: Link) -> BaseException:
        with pytest.raises(Exception, match="invalid input for query argument") as refused:
            await link.fetch(sql, {"id": "not a number"})
        return refused.value

    error = _with_link(engine, True, read)
    assert not isinstance(error, awaited.outage)


@pytest.mark.parametrize(
    ("query", "driver"),
    [
        ("connect_timeout=5&application_name=smsaccounts", "asyncpg"),
        ("keepalives=1", "psycopg"),  # asyncpg would send it to the server as a setting
    ],
)
def test_a_url_asyncpg_cannot_read_whole_keeps_the_reads_on_psycopg(
    engine: Engine, query: str, driver: str
) -> None:
    url = make_url(f"{engine.url.render_as_string(hide_password=False)}&{query}"
                   if engine.url.query else
                   f"{engine.url.render_as_string(hide_password=False)}?{query}")  # fmt: skip
    other = create_engine(url)
    try:
        awaited = AwaitedConnections(other)
        assert awaited.asyncpg is (driver == "asyncpg")

        async def read(link: Link) -> int:
            rows = await link.fetch("SELECT 1", {})
            return int(rows[0][0])

        assert _with_link(other, True, read) == 1
    finally:
        other.dispose()
