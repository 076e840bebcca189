"""wrk: found or installed, driven through bench/lua/spread.lua, its result line parsed."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from bench import servers

LUA = Path(__file__).with_name("lua") / "spread.lua"
_RESULT = re.compile(r"^BENCH_RESULT (.*)$", re.M)
_SAMPLE = re.compile(r"^BENCH_SAMPLE ?(.*)$", re.M)


@dataclasses.dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    content_type: str = ""
    body: str = ""
    authorization: str = ""  # an Authorization header (the charging API's gateway key)

    def line(self) -> str:
        fields = (self.method, self.path, self.content_type, self.body, self.authorization)
        if any(c in f for f in fields for c in "\t\n"):
            raise ValueError("a request line may not hold tabs or newlines")
        return "\t".join(fields)


@dataclasses.dataclass(frozen=True, slots=True)
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    non2xx: int
    bad_body: int
    socket_errors: int
    sample: str

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return self.non2xx + self.bad_body + self.socket_errors


def ensure_wrk() -> str | None:
    """The wrk binary; installed with apt-get when running as root, else None."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk not found: apt-get install -y wrk", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False,
                       stdout=subprocess.DEVNULL, timeout=300)  # fmt: skip
        found = shutil.which("wrk")
    if not found:
        print("wrk is missing: install it with `sudo apt-get install wrk`", flush=True)
    return found


def write_requests(path: Path, requests: Iterable[Request], check: str) -> int:
    """The table spread.lua walks; `check` is a Lua pattern a good 2xx body matches."""
    count = 0
    with path.open("w") as out:
        out.write(f"#check {check}\n")
        for request in requests:
            out.write(request.line() + "\n")
            count += 1
    if not count:
        raise ValueError("a scenario needs at least one request")
    return count


def run(
    wrk: str,
    base_url: str,
    table: Path,
    *,
    duration: int,
    connections: int,
    threads: int,
    cpu: int | None = None,
) -> Result:
    """One wrk run; with `cpu`, wrk and its threads run on that CPU only."""
    threads = max(1, min(threads, connections))
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s",
               "--latency", "-s", str(LUA), base_url, "--", str(table)]  # fmt: skip
    if cpu is not None:
        command = servers.pinned(command, cpu)
    proc = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60,
                          check=False)  # fmt: skip
    found = _RESULT.search(proc.stdout)
    if proc.returncode != 0 or not found:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr[-500:]}{proc.stdout}")
    values = {k: int(float(v)) for k, v in (p.split("=") for p in found.group(1).split())}
    sample = _SAMPLE.search(proc.stdout)
    return Result(
        requests=values["requests"],
        seconds=values["duration_us"] / 1e6,
        p50_ms=values["p50_us"] / 1000,
        p90_ms=values["p90_us"] / 1000,
        p99_ms=values["p99_us"] / 1000,
        max_ms=values["max_us"] / 1000,
        non2xx=values["non2xx"],
        bad_body=values["bad"],
        socket_errors=sum(values[k] for k in ("connect", "read", "write", "timeout")),
        sample=sample.group(1).strip() if sample else "",
    )
