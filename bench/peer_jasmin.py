"""`--peer jasmin`: Jasmin SMS Gateway measured beside the service (bench/README.md).

Jasmin is installed from PyPI into its own virtualenv (in the user's cache directory, outside
the repository, so neither git nor the linters see it; never the project's `.venv`), started
against this machine's Redis and RabbitMQ with a configuration written per run, and given one
user through its jCli console, typed as an operator would. Nothing of Jasmin's is imported
here: it runs as its own process and is spoken to over TCP only.
"""

from __future__ import annotations

import configparser
import dataclasses
import os
import shutil
import socket
import subprocess
import time
import venv
from pathlib import Path

from bench import layout
from bench.servers import HOST, free_port

VERSION = "0.11.1"  # the version issue 17 measured
_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
VENV = Path(os.environ.get("BENCH_PEER_VENV") or _CACHE / f"smsaccounts-bench/jasmin-{VERSION}")
REDIS = ("127.0.0.1", 6379)
RABBITMQ = ("127.0.0.1", 5672)  # guest/guest, vhost /
USERNAME = "bench"  # Jasmin allows at most 16 characters in a username and in a password
PASSWORD = layout.PASSWORD
BALANCE = "100"
HEALTH = "/ping"  # answers "Jasmin/PONG" once the HTTP API listens
PROMPT = b"jcli : "
SUB_PROMPT = b"> "  # inside `group -a` / `user -a`, until `ok`
SAVED = "Successfully added"
# jCli, as an operator types it: one group, one user in it with a balance.
USER_SESSION = (
    "group -a", "gid bench", "ok",
    "user -a", f"username {USERNAME}", f"password {PASSWORD}", "gid bench", f"uid {USERNAME}",
    f"mt_messaging_cred quota balance {BALANCE}", "ok",
)  # fmt: skip


class Unavailable(Exception):
    """Jasmin cannot be installed or started here; the message says why, in one line."""


def prepare() -> Path:
    """The peer virtualenv's python with Jasmin in it, installed the first time."""
    for name, (host, port) in (("Redis", REDIS), ("RabbitMQ", RABBITMQ)):
        try:
            socket.create_connection((host, port), timeout=3).close()
        except OSError as error:
            raise Unavailable(f"{name} is not reachable on {host}:{port} ({error})") from error
    if shutil.which("taskset") is None or (os.cpu_count() or 1) < 2:
        raise Unavailable("pinning the server and wrk to a core each needs taskset and 2 CPUs")
    python = VENV / "bin" / "python"
    stamp = VENV / f".installed-jasmin-{VERSION}"
    if stamp.exists():
        return python
    print(f"-- installing jasmin=={VERSION} into {VENV} (once)", flush=True)
    try:
        venv.EnvBuilder(clear=True, with_pip=True).create(VENV)
    except (OSError, subprocess.CalledProcessError) as error:
        raise Unavailable(f"cannot create the virtualenv {VENV}: {error}") from error
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    done = subprocess.run([*pip, f"jasmin=={VERSION}"], capture_output=True, text=True,
                          timeout=1800, check=False)  # fmt: skip
    if done.returncode != 0:
        lines = [x for x in done.stderr.splitlines() if x.strip() and "is ignored" not in x]
        why = lines[-1].strip() if lines else f"exit status {done.returncode}"
        raise Unavailable(f"pip install jasmin=={VERSION} failed: {why}")
    stamp.touch()
    return python


@dataclasses.dataclass(frozen=True, slots=True)
class Jasmin:
    """One Jasmin daemon's files and ports; everything below `root` is this run's."""

    python: Path
    root: Path
    http_port: int
    jcli_port: int

    @classmethod
    def configure(cls, python: Path, workdir: Path) -> Jasmin:
        """jasmin.cfg under `workdir`/jasmin: free loopback ports, local Redis and RabbitMQ."""
        jasmin = cls(python, workdir / "jasmin", free_port(), free_port())
        (jasmin.root / "etc" / "jasmin" / "store").mkdir(parents=True, exist_ok=True)
        jasmin.log_dir.mkdir(parents=True, exist_ok=True)
        config = configparser.ConfigParser(interpolation=None)
        config.read_dict(jasmin.sections())
        with jasmin.config_file.open("w") as out:
            config.write(out)
        return jasmin

    @property
    def config_file(self) -> Path:
        return self.root / "etc" / "jasmin" / "jasmin.cfg"

    @property
    def log_dir(self) -> Path:
        return self.root / "log"

    def sections(self) -> dict[str, dict[str, str]]:
        """Jasmin's defaults but for the listeners (loopback, free ports), no jCli login
        (loopback, this run only), no access log (the service runs without one too) and the
        AMQP 0-9-1 spec that txamqp ships (pip does not install Jasmin's /etc/jasmin copy)."""
        specs = sorted(self.python.parent.parent.glob("lib/python3*/site-packages/txamqp/specs"))
        spec = specs[0] / "standard" / "amqp0-9-1.stripped.xml" if specs else Path("missing")
        listeners = ("smpp-server", "smpp-server-pb", "client-management", "router")
        out = {name: {"bind": HOST, "port": str(free_port())} for name in listeners}
        out["http-api"] = {"bind": HOST, "port": str(self.http_port), "access_log": "None"}
        out["jcli"] = {"bind": HOST, "port": str(self.jcli_port), "authentication": "False"}
        out["redis-client"] = {"host": REDIS[0], "port": str(REDIS[1])}
        out["amqp-broker"] = {"host": RABBITMQ[0], "port": str(RABBITMQ[1]), "spec": str(spec),
                              "username": "guest", "password": "guest"}  # fmt: skip
        return out

    def command(self) -> list[str]:
        return [str(self.python), str(self.python.parent / "jasmind.py"),
                "--config", str(self.config_file)]  # fmt: skip

    def env(self) -> dict[str, str]:
        """A clean environment: Jasmin reads any SECTION_OPTION variable as configuration."""
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.root),
                "ROOT_PATH": str(self.root), "LOG_PATH": str(self.log_dir)}  # fmt: skip

    def add_user(self) -> None:
        """Type USER_SESSION into jCli; RuntimeError unless both `ok`s saved."""
        deadline = time.monotonic() + 30  # jCli listens a moment after the HTTP API
        while True:
            try:
                conn = socket.create_connection((HOST, self.jcli_port), timeout=10)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        with conn:
            # jCli shows a banner and no prompt until the first line: the banner is read
            # with the first answer.
            for line in USER_SESSION:
                conn.sendall(line.encode() + b"\r\n")
                answer = read_until(conn, PROMPT, SUB_PROMPT)
                if line == "ok":
                    check_saved(answer)
            conn.sendall(b"quit\r\n")


def read_until(conn: socket.socket, *markers: bytes) -> bytes:
    """What jCli wrote up to the first of `markers` at the end of its output."""
    buffer = b""
    while not buffer.endswith(markers):
        chunk = conn.recv(4096)
        if not chunk:
            raise RuntimeError(f"jCli closed the session: {buffer.decode(errors='replace')}")
        buffer += chunk
    return buffer


def check_saved(answer: bytes) -> str:
    """jCli's answer to `ok`: its message when it saved, RuntimeError with it otherwise (an
    unsaved `ok` leaves the session at the `> ` prompt with the reason above it)."""
    lines = answer.decode(errors="replace").replace("\r", "").split("\n")
    said = [x.strip() for x in lines[1:-1] if x.strip()]  # between the echo and the prompt
    message = " / ".join(said)
    if not said or not said[-1].startswith(SAVED):
        raise RuntimeError(f"jCli did not save: {message or answer!r}")
    return message
