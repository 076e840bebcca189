"""Server processes on loopback: started in their own process group, always killed.

Every server (the service and both baselines) runs under uvicorn with httptools on the
service's own event loop (uvloop accepting every waiting connection in one turn:
smsaccounts/eventloop.py), access log off, log level warning, the same worker count.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
START_TIMEOUT = 60.0
_LIVE: set[subprocess.Popen[bytes]] = set()


def stop_all() -> None:
    """Stop every server still running (atexit, and the end of `python -m bench`)."""
    for proc in list(_LIVE):
        _stop(proc)


atexit.register(stop_all)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def service_command(port: int, workers: int) -> list[str]:
    return [str(BIN / "smsaccounts"), "serve", "--host", HOST, "--port", str(port),
            "--workers", str(workers)]  # fmt: skip


def baseline_command(module: str, port: int, workers: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", f"bench.{module}:app", "--host", HOST,
            "--port", str(port), "--workers", str(workers),
            "--loop", "smsaccounts.eventloop:new_event_loop",
            "--http", "httptools", "--no-access-log", "--log-level", "warning"]  # fmt: skip


def service_env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SMSACCOUNTS_DATABASE_URL=database_url,
        # The limiter is tested elsewhere; here it must not be what is measured.
        SMSACCOUNTS_RATE_LIMIT="1000000/second",
        SMSACCOUNTS_LOG_LEVEL="warning",
        BENCH_DATABASE_URL=database_url,
        PYTHONPATH=str(ROOT),
    )
    return env


@dataclasses.dataclass(frozen=True, slots=True)
class Server:
    url: str
    pid: int


@contextlib.contextmanager
def running(
    command: list[str], env: dict[str, str], port: int, log: Path, health: str = "/healthz"
) -> Iterator[Server]:
    """Start `command`, wait for GET `health` to answer 200, yield it; kill its process group
    on exit."""
    with log.open("ab") as out:
        proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=out,
                                start_new_session=True)  # fmt: skip
    _LIVE.add(proc)
    try:
        _wait_healthy(proc, port, log, health)
        yield Server(f"http://{HOST}:{port}", proc.pid)
    finally:
        _stop(proc)


def _wait_healthy(proc: subprocess.Popen[bytes], port: int, log: Path, health: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"server exited with {proc.returncode}:\n{tail}")
        with contextlib.suppress(OSError):
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", health)
            if conn.getresponse().status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"server on port {port} not healthy after {START_TIMEOUT:.0f} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, SIGKILL it after 10 s; uvicorn's workers go with it."""
    _LIVE.discard(proc)
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    # Workers may outlive the master for a moment; the group id is the master's pid.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def settle(pid: int, *, quiet: float = 0.05, window: float = 0.25, limit: float = 30.0) -> float:
    """Wait until `pid` and its workers use less than `quiet` of a core over `window`
    seconds, at most `limit` seconds; the seconds waited.

    A scenario's requests still queued in the server when wrk stops are served after it:
    `mysms_login`'s password hashes went on for about a second into `mor_debit`, 28% of a
    py-spy of it (bench/README.md, twelfth look).
    """
    import psutil  # the bench extra

    started = time.monotonic()
    try:
        server = psutil.Process(pid)
        while time.monotonic() - started < limit:
            before = _cpu_seconds(server)
            time.sleep(window)
            if _cpu_seconds(server) - before < quiet * window:
                break
    except psutil.NoSuchProcess:
        pass
    return time.monotonic() - started


def _cpu_seconds(server: Any) -> float:
    """User and system CPU seconds of `server` and every process below it, so far."""
    import psutil

    total = 0.0
    for proc in (server, *server.children(recursive=True)):
        with contextlib.suppress(psutil.NoSuchProcess):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


def pinned(command: list[str], cpu: int) -> list[str]:
    """`command` run on one CPU only (its threads and children inherit the affinity)."""
    return ["taskset", "--cpu-list", str(cpu), *command]


def profiler(pid: int, seconds: int, out: Path) -> subprocess.Popen[bytes] | None:
    """py-spy sampling `pid` and its workers for `seconds` into a flame graph, if installed."""
    spy = BIN / "py-spy"
    if not spy.exists():
        print("py-spy is missing: make bench installs it (the bench extra)", flush=True)
        return None
    # BENCH_PROFILE_FORMAT=raw writes collapsed stacks (one line per stack) instead.
    fmt = os.environ.get("BENCH_PROFILE_FORMAT", "flamegraph")
    command = [str(spy), "record", "--pid", str(pid), "--subprocesses", "--nonblocking",
               "--duration", str(seconds), "--rate", "250", "--format", fmt,
               "--output", str(out)]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
