"""Statements compiled once and run on the DB-API cursor of an open `Connection`: the
write path's statements (a wallet change, its ledger and audit rows, a charge).

Through `Connection.execute` a statement built per call costs ~0.3 ms of Python for a
wallet change's UPDATE and ~0.1 ms for a prebuilt one (cache keys, parameter coercion,
result metadata, row objects) around a few µs in SQLite (`python -m bench.cpu`: a MOR
debit, six statements, took 3.2 ms of CPU where baseline (d) takes 0.2 ms). A `Prepared`
statement is compiled for the connection's dialect the first time it runs there, with its
parameters' bind processors and its columns' result processors, which it then applies
itself, so the values in and out are exactly those SQLAlchemy would pass and return. It
runs inside the connection's transaction (savepoints included), and a DB-API error becomes
SQLAlchemy's own exception (`IntegrityError`, `OperationalError`), so callers and
`Database.transaction`'s outage handling see what `Connection.execute` would raise.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import sqlite3
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import msgspec
from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    String,
    and_,
    case,
    exc,
    func,
    literal_column,
    type_coerce,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import sqltypes
from sqlalchemy.sql.expression import Executable, Select
from sqlalchemy.types import TypeDecorator

from smsaccounts.storage import rows
from smsaccounts.storage.tables import UTCDateTime

Processor = Callable[[Any], Any]
T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True)
class Form:
    """A statement as one dialect runs it: on a `Connection`'s cursor (`Prepared.run`), or
    on a raw DB-API cursor by the caller (storage/lookups.py)."""

    sql: str
    names: tuple[str, ...]  # the result columns' keys, in order
    positional: tuple[str, ...] | None  # parameter names in order; None: by name
    binds: tuple[tuple[str, Processor], ...]  # the parameters that have a bind processor
    fixed: dict[str, Any]  # the statement's own literal values (`column == "x"`)
    results: tuple[tuple[int, Processor], ...]  # the columns that have a result processor
    row: Callable[[Sequence[Any]], tuple[Any, ...]]  # a DB-API row, processed (`_row_maker`)
    # A packed row's one column (a JSON array, `Prepared`) as the statement's columns.
    unpack: Callable[[str], Sequence[Any]] | None = None

    def fetched(self, found: list[Any]) -> list[Any]:
        """The rows a DB-API cursor fetched, each as the statement's columns in order (a
        packed row unpacked): what `row`, `mapping` and the builders read."""
        unpack = self.unpack
        return found if unpack is None else [unpack(each[0]) for each in found]

    def params(self, values: Mapping[str, Any]) -> Any:
        if self.fixed:
            values = {**self.fixed, **values}
        if self.binds:
            values = dict(values)
            for name, process in self.binds:
                values[name] = process(values[name])
        if self.positional is None:
            return values
        return tuple(values[name] for name in self.positional)

    def mapping(self, raw: Sequence[Any]) -> dict[str, Any]:
        """A raw row as a mapping of column name to processed value."""
        return dict(zip(self.names, self.row(raw), strict=True))

    def builder(
        self,
        cls: type[T],
        enums: Mapping[str, Processor],
        *,
        start: int = 0,
        stop: int | None = None,
    ) -> Callable[[Sequence[Any]], T]:
        """A maker of `cls` records straight from raw rows, by position: the columns from
        `start` to `stop` (one table's of a join), through the processors `row` applies and
        `enums`, with no mapping or processed copy of the row in between (an account row has
        68 columns)."""
        stop = len(self.names) if stop is None else stop
        names = self.names[start:stop]
        processors = {
            self.names[index]: process
            for index, process in self.results
            if start <= index < stop and self.names[index] not in enums
        }
        return rows.record_builder(cls, names, enums, start=start, unless_none=processors)


def _row_maker(
    width: int, results: tuple[tuple[int, Processor], ...], records: tuple[type, ...]
) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """A function of a DB-API row: its values, each column's processor applied unless the
    value is None, in one tuple, or cut into `records` (NamedTuples whose fields, in order,
    are the columns). Its code is written for the statement once, as `collections.namedtuple`
    and `dataclasses` write theirs: a loop over the processors and a slice per record cost
    ~3 us a row, and a LINK page reads 100 (`python -m bench.cpu --scenarios link_users`)."""
    if not results and not records:
        return tuple
    namespace: dict[str, Any] = {"_new": tuple.__new__}
    values = [f"raw[{index}]" for index in range(width)]
    for index, process in results:
        namespace[f"p{index}"] = process
        values[index] = f"(None if (v{index} := raw[{index}]) is None else p{index}(v{index}))"
    body = f"({', '.join(values)},)"
    if records:
        if sum(map(_fields, records)) != width:
            raise ValueError("the records' fields are not the statement's columns")
        parts, start = [], 0
        processed = {index for index, _process in results}
        for number, cls in enumerate(records):
            namespace[f"r{number}"] = cls
            stop = start + _fields(cls)
            if processed.isdisjoint(range(start, stop)):  # values as they are: one slice
                parts.append(f"_new(r{number}, raw[{start}:{stop}])")
            else:
                parts.append(f"_new(r{number}, ({', '.join(values[start:stop])},))")
            start = stop
        body = f"({', '.join(parts)},)"
    exec(f"def row(raw):\n    return {body}\n", namespace)  # noqa: S102 - code of our own, above
    made: Callable[[Sequence[Any]], tuple[Any, ...]] = namespace["row"]
    return made


# On SQLite a read of at least this many columns comes as one: `json_array(...)` of them,
# decoded by msgspec. sqlite3 makes each column's value in a step of its own (~0.1 µs, a
# NULL as much as a number), SQLite writes the array in C and msgspec reads it in one call:
# an account with its wallet (79 columns) 18 -> 11 µs, a LINK page of 101 rows of 29
# columns 345 -> 265 µs; below 8 columns the plain row costs less.
PACK_FROM = 12
_JSON = msgspec.json.Decoder()


def _packs(type_: Any) -> bool:
    """Whether a column of this type comes back alike through `json_array`: integers (and
    booleans, stored as 0 or 1) and text (times too, on SQLite) do, exactly, and NULL; a
    REAL would come back rounded to 15 digits, and a BLOB not at all."""
    stored = type_.impl_instance if isinstance(type_, TypeDecorator) else type_
    return isinstance(stored, _PACKABLE)


_PACKABLE = (sqltypes.Integer, sqltypes.String, sqltypes.Boolean, sqltypes.DateTime)


# The lengths of a time a write of ours stores on SQLite: "YYYY-MM-DD HH:MM:SS", and with
# ".ffffff" after it.
_TIME_LENGTHS = (19, 26)
# The kinds whose values the statement tests a row for (`_packed`).
_GUARDED = ("time", "flag")


def _kind(type_: Any, process: Processor | None) -> str | None:
    """What msgspec makes of a packed column in C: "time" (a `UTCDateTime`), "flag" (a
    boolean), "int" or "text" (no processor); None: decoded as it is, its processor kept."""
    stored = type_.impl_instance if isinstance(type_, TypeDecorator) else type_
    if process is not None:
        if isinstance(type_, UTCDateTime):
            return "time"
        return "flag" if isinstance(stored, sqltypes.Boolean) else None
    if isinstance(stored, sqltypes.Integer):
        return "int"
    return "text" if isinstance(stored, sqltypes.String) else None


def _packed(columns: Sequence[Any], kinds: Sequence[str | None]) -> Any:
    """A row as one `json_array`, for msgspec's typed reading (`_typed`).

    Where every time has the shape ours are stored in (naive UTC text of `_TIME_LENGTHS`)
    and every flag is 1, 0 or NULL, each time goes with a `Z` after it, so that msgspec
    reads the aware UTC time `UTCDateTime` makes of it, and each flag as it is, which
    msgspec reads as a boolean. A row holding any other value there (a flag of 2, a time
    with nine decimals, which msgspec would round where SQLAlchemy cuts them) goes as the
    plain array of its columns after a 0: one value too many for msgspec, and read as
    before (`_typed`). One test a row, not a branch a value: a LINK page of 101 rows."""
    pairs = list(zip(columns, kinds, strict=True))
    typed = func.json_array(*(_marked(column, kind) for column, kind in pairs))
    checks = [_ours(column, kind) for column, kind in pairs if kind in _GUARDED]
    if not checks:
        return typed
    plain = func.json_array(literal_column("0"), *columns)
    return case((and_(*checks), typed), else_=plain)


def _marked(column: Any, kind: str | None) -> Any:
    if kind == "time":
        return type_coerce(column, String()) + literal_column("'Z'")
    return column


def _ours(column: Any, kind: str | None) -> Any:
    """Whether a time or a flag holds what a write of ours stores (NULL included)."""
    found: Any = type_coerce(column, Integer())
    lengths = (0, 1)
    if kind == "time":
        found, lengths = func.length(type_coerce(column, String())), _TIME_LENGTHS
    return func.ifnull(found, literal_column(str(lengths[0]))).in_(
        [literal_column(str(n)) for n in lengths]
    )


_DECODED = {"time": dt.datetime | None, "flag": bool | None, "int": int | None, "text": str | None}


def _typed(
    kinds: Sequence[str | None], processors: dict[int, Processor]
) -> tuple[Callable[[str], Sequence[Any]], list[tuple[int, Processor]]]:
    """How a packed row is read, and the processors left for `row` and the builders.

    msgspec decodes each value in C to what its column's processor would make of it: an
    integer, text, a boolean, an aware UTC time (`_packed`), None. So those
    processors need not run in Python, value by value (a LINK page: 892-922 -> 856-868 µs,
    `python -m bench.cpu --scenarios link_users`); any other column is decoded as it is and
    keeps its processor. A row msgspec refuses (a value no write of ours stores: a flag of
    2, text in a flag, a time of another shape, text in a number's column) is read as
    before: plain JSON, then each processor.
    """
    decoded = tuple(_DECODED.get(kind or "", Any) for kind in kinds)
    kept = [(index, process) for index, process in processors.items() if kinds[index] is None]
    handled = [(index, _without_z(processors[index]) if kinds[index] == "time" else
                processors[index]) for index in processors if kinds[index] is not None]  # fmt: skip
    everything = list(processors.items())
    width = len(kinds)
    # Lenient, so that 0 and 1 read as booleans; text is still refused where a number or a
    # boolean is read, and a number where text is.
    typed = msgspec.json.Decoder(tuple[decoded], strict=False)  # type: ignore[valid-type]

    def unpack(text: str) -> Sequence[Any]:
        try:
            found: tuple[Any, ...] = typed.decode(text)
        except msgspec.ValidationError:
            values: list[Any] = _JSON.decode(text)
            # The plain array (`_packed`): every processor, as before; else the typed one,
            # refused for a column of no processor: each handled one's.
            processed = handled
            if len(values) > width:
                values, processed = values[1:], everything
            for index, process in processed:
                if values[index] is not None:
                    values[index] = process(values[index])
            return values
        return found

    return unpack, kept


def _without_z(process: Processor) -> Processor:
    """`process` of a time's text as stored, without the `Z` `_packed` put after it."""

    def read(value: Any) -> Any:
        return process(value[:-1])

    return read


@functools.cache
def _sqlite_json() -> bool:
    """Whether this process's SQLite has the JSON functions (built in since 3.38)."""
    try:
        with contextlib.closing(sqlite3.connect(":memory:")) as probe:
            found: str = probe.execute("SELECT json_array(1)").fetchone()[0]
            return found == "[1]"
    except sqlite3.Error:
        return False


def _fields(record: type) -> int:
    """How many fields a NamedTuple class has."""
    return len(record._fields)  # type: ignore[attr-defined]


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """What a statement did: its rows (processed, in `Prepared.names` order) and rowcount."""

    rows: list[tuple[Any, ...]]
    rowcount: int


class Prepared:
    """One statement, its parameters as `bindparam`s, compiled once per dialect."""

    def __init__(self, statement: Executable, *, records: tuple[type, ...] = ()) -> None:
        """With `records`, each row comes cut into those NamedTuples (`run` only)."""
        self.statement = statement
        self.records = records
        columns = getattr(statement, "exported_columns", ())
        self.names: tuple[str, ...] = tuple(column.key for column in columns)
        self._types = tuple(column.type for column in columns)
        self._packable = (
            isinstance(statement, Select)
            and len(self._types) >= PACK_FROM
            and all(map(_packs, self._types))
        )
        self._forms: weakref.WeakKeyDictionary[Dialect, Form] = weakref.WeakKeyDictionary()

    def form(self, dialect: Dialect) -> Form:
        found = self._forms.get(dialect)
        if found is None:
            found = self._forms[dialect] = self._compile(dialect)
        return found

    def _compile(self, dialect: Dialect) -> Form:
        statement: Any = self.statement
        results = []
        for index, type_ in enumerate(self._types):
            process = type_.dialect_impl(dialect).result_processor(dialect, None)
            if process is not None:
                results.append((index, process))
        unpack = None
        if self._packable and dialect.name == "sqlite" and _sqlite_json():
            processors = dict(results)
            kinds = [_kind(type_, processors.get(i)) for i, type_ in enumerate(self._types)]
            packed = _packed(list(statement.selected_columns), kinds)
            statement = statement.with_only_columns(packed)
            unpack, results = _typed(kinds, processors)
        compiled: Any = statement.compile(dialect=dialect)
        binds, fixed = [], {}
        for name, bind in compiled.binds.items():
            if not bind.required:
                fixed[name] = bind.effective_value
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                binds.append((name, process))
        positional = dialect.paramstyle in ("qmark", "numeric", "numeric_dollar")
        return Form(
            sql=compiled.string,
            names=self.names,
            positional=tuple(compiled.positiontup or ()) if positional else None,
            binds=tuple(binds),
            fixed=fixed,
            results=tuple(results),
            row=_row_maker(len(self._types), tuple(results), self.records),
            unpack=unpack,
        )

    def run(self, conn: Connection, values: Mapping[str, Any]) -> Outcome:
        """Execute with `values` (one per bindparam) in `conn`'s transaction."""
        dialect = conn.dialect
        form = self.form(dialect)
        params = form.params(values)
        dbapi = dialect.loaded_dbapi
        cursor = _cursor(conn)
        _observed(conn, cursor, form.sql, params)
        try:
            cursor.execute(form.sql, params)
            fetched = form.fetched(cursor.fetchall()) if self.names else []
            rowcount = cursor.rowcount
        except dbapi.Error as error:
            raise _error(conn, cursor, form.sql, params, error) from error
        return Outcome([form.row(raw) for raw in fetched], rowcount)

    def first(self, conn: Connection, values: Mapping[str, Any]) -> dict[str, Any] | None:
        """The first row as a mapping of column name to value, or None."""
        found = self.run(conn, values).rows
        return dict(zip(self.names, found[0], strict=True)) if found else None

    def mappings(self, conn: Connection, values: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [dict(zip(self.names, row, strict=True)) for row in self.run(conn, values).rows]


def _observed(conn: Connection, cursor: Any, sql: str, params: Any) -> None:
    """SQLAlchemy's `before_cursor_execute` event, where anyone listens (tests that compare
    the statements two paths run, tracing): these statements are the connection's too."""
    if conn._has_events or conn.engine._has_events:
        # Asked first: calling an empty listener collection walks the engine's and the
        # connection's (the engine always has `connect`/`begin` listeners of its own).
        listeners = conn.dispatch.before_cursor_execute
        if listeners:
            listeners(conn, cursor, sql, params, None, False)


def observed_raw(engine: Engine, cursor: Any, sql: str, params: Any) -> None:
    """`_observed` for a statement no `Connection` runs (the lookups', a statement awaited on
    their connections): the engine's listeners get None for the connection."""
    listeners = engine.dispatch.before_cursor_execute
    if listeners:
        listeners(None, cursor, sql, params, None, False)


def _cursor(conn: Connection) -> Any:
    """The DB-API cursor of `conn`'s connection, one kept per DB-API connection for its
    life (in the pool record's `info`, which the pool clears when it connects anew): a
    psycopg cursor cost ~10 µs to make and close, five times a MOR debit (`python -m
    bench.cpu`). A connection is used by one thread at a time (the pool's checkout), so
    its cursor is too, and every use executes before it reads."""
    fairy = conn.connection
    dbapi_conn = fairy.dbapi_connection
    info = fairy.info
    kept = info.get(_CURSOR)
    if kept is None or kept[0] is not dbapi_conn:
        kept = info[_CURSOR] = (dbapi_conn, dbapi_conn.cursor())  # type: ignore[union-attr]
    return kept[1]


_CURSOR = "smsaccounts.prepared.cursor"


def raw_execute(conn: Connection, sql: str) -> None:
    """One statement without parameters or rows (SAVEPOINT, PRAGMA) on `conn`'s DB-API
    cursor, inside its transaction; errors as SQLAlchemy's."""
    dialect = conn.dialect
    dbapi = dialect.loaded_dbapi
    cursor = _cursor(conn)
    _observed(conn, cursor, sql, None)
    try:
        cursor.execute(sql)
    except dbapi.Error as error:
        raise _error(conn, cursor, sql, None, error) from error


def _error(conn: Connection, cursor: Any, sql: str, params: Any, error: Any) -> exc.DBAPIError:
    """A DB-API error as `Connection.execute` raises it: SQLAlchemy's exception, marked
    `connection_invalidated` when the dialect finds the connection gone (asyncpg reports
    a lost connection as a plain `Error`, psycopg as an `OperationalError`)."""
    dialect = conn.dialect
    lost = dialect.is_disconnect(error, conn.connection.dbapi_connection, cursor)
    wrapped: exc.DBAPIError = exc.DBAPIError.instance(
        sql, params, error, dialect.loaded_dbapi.Error, dialect=dialect,
        connection_invalidated=lost,
    )  # fmt: skip
    return wrapped


@contextlib.contextmanager
def savepoint(conn: Connection, name: str) -> Iterator[None]:
    """What runs inside is undone alone if it raises; the transaction goes on."""
    raw_execute(conn, f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        raw_execute(conn, f"ROLLBACK TO SAVEPOINT {name}")
        raise
    finally:
        raw_execute(conn, f"RELEASE SAVEPOINT {name}")
