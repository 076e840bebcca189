"""Run scenarios server by server: start it, probe, drive it with wrk, stop it."""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import statistics
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from bench import layout, servers, wrk
from bench.databases import ledger_check
from bench.report import Row
from bench.scenarios import (
    BARE,
    BARE_1W,
    BARE_DEBIT,
    DEBIT,
    FASTAPI,
    SERVICE,
    SERVICE_1M,
    SERVICE_1M_BELOW,
    SERVICE_1W,
    Scenario,
)
from smsaccounts.config import Settings
from smsaccounts.domain import money
from smsaccounts.domain.credentials import Passwords

SERVER_CPU, WRK_CPU = 0, 1  # --peer: "both pinned", as issue 17 measured Jasmin
ROUNDS = 3


@dataclasses.dataclass(frozen=True, slots=True)
class PinnedServer:
    """A server of the side-by-side comparison and the scenario that drives it."""

    scenario: Scenario
    command: list[str]
    env: dict[str, str]
    port: int
    health: str = "/healthz"
    ready: Callable[[], None] | None = None  # once healthy (Jasmin: its user, through jCli)


class Runner:
    def __init__(
        self,
        *,
        wrk_bin: str,
        workdir: Path,
        duration: int,
        connections: int,
        threads: int,
        workers: int,
        profile_dir: Path | None = None,
    ) -> None:
        self.wrk = wrk_bin
        self.workdir = workdir
        self.duration = duration
        self.connections = connections
        self.threads = threads
        self.workers = workers
        self.profile_dir = profile_dir  # py-spy flame graphs of the service's scenarios
        self.rows: dict[str, Row] = {}

    def group(
        self,
        server: str,
        scenarios: Sequence[Scenario],
        url: str,
        lay: layout.Layout,
        note: str = "",
    ) -> None:
        """Every scenario of one server, read-only ones first, against one server process."""
        if not scenarios:
            return
        port = servers.free_port()
        command = self._command(server, port)
        log = self.workdir / f"{server}.log"
        workers = command[command.index("--workers") + 1]
        print(f"-- {server} server ({workers} worker(s)) on port {port}", flush=True)
        try:
            with servers.running(command, servers.service_env(url), port, log) as process:
                for scenario in sorted(scenarios, key=lambda s: s.writes):
                    self.rows[scenario.name] = self._one(scenario, process, url, lay, note)
        except Exception as error:  # noqa: BLE001 - one broken server must not end the run
            print(traceback.format_exc(limit=3), flush=True)
            for scenario in scenarios:
                self.rows.setdefault(
                    scenario.name, Row(scenario.name, scenario.what, "failed", str(error)[:200])
                )

    def _command(self, server: str, port: int) -> list[str]:
        if server == BARE:
            return servers.baseline_command("baseline_bare", port, self.workers)
        if server == BARE_1W:
            return servers.baseline_command("baseline_bare", port, 1)
        if server == BARE_DEBIT:
            return servers.baseline_command("baseline_debit", port, self.workers)
        if server == FASTAPI:
            return servers.baseline_command("baseline_fastapi", port, self.workers)
        workers = 1 if server == SERVICE_1W else self.workers
        assert server in (SERVICE, SERVICE_1W, SERVICE_1M, SERVICE_1M_BELOW)
        return servers.service_command(port, workers)

    def pinned(self, entries: Sequence[PinnedServer], url: str, lay: layout.Layout) -> None:
        """Every server up at once on SERVER_CPU (each idle but in its turn), wrk on WRK_CPU,
        ROUNDS rounds of the servers in turn; each row is its round of median req/s."""
        names = ", ".join(e.scenario.name for e in entries)
        print(f"-- side by side on CPU {SERVER_CPU}, wrk on CPU {WRK_CPU}, {ROUNDS} rounds: "
              f"{names}", flush=True)  # fmt: skip
        runs: dict[str, list[Row]] = {e.scenario.name: [] for e in entries}
        with contextlib.ExitStack() as stack:
            up: dict[str, servers.Server] = {}
            for e in entries:
                with self._failing(e.scenario):
                    up[e.scenario.name] = self._start_pinned(stack, e)
            for _ in range(ROUNDS):
                for e in entries:
                    server = up.get(e.scenario.name)
                    if server is None or e.scenario.name in self.rows:  # failed: no more rounds
                        continue
                    with self._failing(e.scenario):
                        row = self._one(e.scenario, server, url, lay, "", cpu=WRK_CPU)
                        runs[e.scenario.name].append(row)
        for name, rows in runs.items():
            if rows and name not in self.rows:
                self.rows[name] = median_row(rows)

    def _start_pinned(self, stack: contextlib.ExitStack, e: PinnedServer) -> servers.Server:
        log = self.workdir / f"{e.scenario.name}.log"
        command = servers.pinned(e.command, SERVER_CPU)
        server = stack.enter_context(servers.running(command, e.env, e.port, log, e.health))
        if e.ready is not None:
            e.ready()
        return server

    @contextlib.contextmanager
    def _failing(self, scenario: Scenario) -> Iterator[None]:
        """An error ends this scenario's row as failed, not the run."""
        try:
            yield
        except Exception as error:  # noqa: BLE001 - one broken server must not end the run
            print(traceback.format_exc(limit=3), flush=True)
            self.rows[scenario.name] = Row(scenario.name, scenario.what, "failed", str(error)[:200])

    def _one(
        self,
        sc: Scenario,
        server: servers.Server,
        url: str,
        lay: layout.Layout,
        note: str,
        cpu: int | None = None,
    ) -> Row:
        base = server.url
        table = self.workdir / f"{sc.name}.requests"
        count = wrk.write_requests(table, sc.requests(lay), sc.check)
        first = next(iter(sc.requests(lay)))
        status, body = probe(base, first)
        if status == 404:
            print(f"   {sc.name}: skipped, dialect not present", flush=True)
            return Row(sc.name, sc.what, "skipped", "dialect not present")
        if sc.warm:
            for request in sc.requests(lay):
                probe(base, request)
        duration = max(self.duration, sc.min_seconds)
        waited = servers.settle(server.pid)  # the last scenario's queued requests served
        if waited > 1:
            print(f"   {sc.name}: waited {waited:.1f} s for the server to go idle", flush=True)
        print(f"   {sc.name}: {count} distinct requests, {duration} s", flush=True)
        spy = None
        if self.profile_dir and cpu is None and sc.server not in (BARE, FASTAPI, BARE_DEBIT):
            svg = self.profile_dir / f"{sc.name}.svg"
            spy = servers.profiler(server.pid, duration, svg)
        try:
            result = wrk.run(self.wrk, base, table, duration=duration,
                             connections=self.connections, threads=self.threads,
                             cpu=cpu)  # fmt: skip
        finally:
            if spy is not None:
                spy.wait(timeout=duration + 30)
        row = Row(sc.name, sc.what, rps=result.rps, p50_ms=result.p50_ms, p99_ms=result.p99_ms,
                  errors=result.errors, requests=result.requests, note=note)  # fmt: skip
        row.extra = {"distinct_requests": count, "p90_ms": result.p90_ms,
                     "max_ms": result.max_ms, "non2xx": result.non2xx,
                     "bad_body": result.bad_body, "socket_errors": result.socket_errors,
                     "probe": f"{status} {body[:300]}", "probe_bytes": len(body)}  # fmt: skip
        if result.requests < 10 * self.connections:
            # Fewer than ten answers per connection: the figures are one or two waves.
            row.note = "; ".join(x for x in (note, "few requests, rough figures") if x)
        if result.errors:
            row.extra["first_error"] = result.sample
            row.note = "; ".join(x for x in (note, f"first error: {result.sample[:80]}") if x)
        if sc.name == "mor_debit":
            self._check_ledger(row, url, lay, result)
        return row

    def _check_ledger(self, row: Row, url: str, lay: layout.Layout, result: wrk.Result) -> None:
        units = money.to_units(money.parse_amount(DEBIT.removeprefix("-")))
        check = ledger_check(url, lay.debit_ids(), units)
        # wrk stops with requests in flight: those may be applied without being counted.
        check["debits_answered_ok"] = result.requests - result.errors + 1  # + the probe
        row.extra["ledger"] = check
        verdict = "wallet == ledger" if check["wallet_equals_ledger"] else "WALLET != LEDGER"
        row.note = (f"{verdict} on {check['accounts']} accounts; {check['debits_in_ledger']} "
                    f"debits in ledger, {check['debits_answered_ok']} answered ok")  # fmt: skip

    def argon2(self, seconds: float) -> None:
        """Baseline (c): argon2id verifies per second in this process, one thread."""
        s = Settings()
        hasher = Passwords(time_cost=s.argon2_time_cost, memory_cost=s.argon2_memory_cost,
                           parallelism=s.argon2_parallelism)  # fmt: skip
        stored = hasher.hash(layout.PASSWORD)
        times = []
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            t = time.perf_counter()
            hasher.verify(stored, layout.PASSWORD)
            times.append(time.perf_counter() - t)
        elapsed = time.perf_counter() - started
        p99 = statistics.quantiles(times, n=100)[98] if len(times) > 1 else times[0]
        self.rows["argon2_verify"] = Row(
            "argon2_verify", "baseline (c): argon2id verify, in-process", rps=len(times) / elapsed,
            p50_ms=statistics.median(times) * 1000, p99_ms=p99 * 1000, errors=0,
            requests=len(times),
            note=f"t={s.argon2_time_cost} m={s.argon2_memory_cost} KiB p={s.argon2_parallelism}",
        )  # fmt: skip


def median_row(rounds: Sequence[Row]) -> Row:
    """The round of median req/s, whole (its latencies with it), noting every round's req/s."""
    row = sorted(rounds, key=lambda r: r.rps or 0.0)[len(rounds) // 2]
    each = " / ".join(f"{r.rps or 0:,.0f}" for r in rounds)
    row.extra["rounds_rps"] = [r.rps for r in rounds]
    row.note = "; ".join(x for x in (row.note, f"median of {each} req/s") if x)
    return row


def probe(base: str, request: wrk.Request) -> tuple[int, str]:
    """One request by hand: a 404 means the dialect's routes are not mounted yet."""
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    headers = {"Content-Type": request.content_type} if request.content_type else {}
    if request.authorization:
        headers["Authorization"] = request.authorization
    body = request.body.replace("{seq}", "probe") or None  # a reference of its own
    conn.request(request.method, request.path, body=body, headers=headers)
    response = conn.getresponse()
    return response.status, response.read().decode(errors="replace")
