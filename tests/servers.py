"""Real `smsaccounts serve` processes for tests that need several of them, or signals."""

from __future__ import annotations

import contextlib
import http.client
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path

COMMAND = str(Path(sys.executable).with_name("smsaccounts"))
START_TIMEOUT = 60.0
# Test servers listen in this range when a port in it is free (a shared machine's
# engineers each keep to their own range); else on any free port.
PORTS = os.environ.get("SMSACCOUNTS_TEST_PORTS", "18100-18199")


def free_port() -> int:
    low, _, high = PORTS.partition("-")
    candidates = list(range(int(low), int(high or low) + 1)) if low else []
    random.shuffle(candidates)
    for port in [*candidates, 0]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise RuntimeError("no free port")


class Serve:
    """`smsaccounts serve` in its own process group, on a port of its own."""

    def __init__(self, env: Mapping[str, str], log: Path, *, workers: int = 1) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.workers = workers
        self.env = {
            **os.environ,
            "SMSACCOUNTS_ARGON2_TIME_COST": "1",
            "SMSACCOUNTS_ARGON2_MEMORY_COST": "8",
            "SMSACCOUNTS_LOG_LEVEL": "warning",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, wait: bool = True) -> Serve:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [COMMAND, "serve", "--port", str(self.port), "--workers", str(self.workers)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, killed as one
            )
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while not self.answers("/readyz"):
            assert self.process.poll() is None, f"serve exited: {self.tail()}"
            assert time.monotonic() < deadline, f"serve did not become ready: {self.tail()}"
            time.sleep(0.05)

    def answers(self, path: str = "/healthz") -> bool:
        try:
            with urllib.request.urlopen(f"{self.base}{path}", timeout=2) as answer:  # noqa: S310
                return bool(answer.status == 200)
        except (OSError, http.client.HTTPException):
            return False

    def accepts(self) -> bool:
        """Whether the port still takes connections."""
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            return False
        return True

    def signal(self, number: signal.Signals) -> None:
        assert self.process is not None
        if self.process.poll() is None:
            os.killpg(self.process.pid, number)

    def wait(self, timeout: float = 60.0) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        """SIGTERM, and SIGKILL if it does not end (a test that failed halfway)."""
        if self.process is None:
            return
        self.signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def tail(self) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")[-3000:]
        return ""
