"""`make bench`: seed, serve, drive with wrk, print one table with the baseline ratios.

See bench/README.md. Every server is started on loopback in its own process group and
killed when its scenarios end (and at exit); every wrk run is bounded by --duration.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import databases, layout, peer_jasmin, report, scenarios, seed, servers
from bench.runner import PinnedServer, Runner
from bench.wrk import ensure_wrk

RESULTS = Path(__file__).resolve().parent / "results"
BIG = 1_000_000  # accounts in the database of link_users_1m


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.quick:
        args.accounts = args.accounts or 3000
        args.duration = args.duration or 2
    args.accounts = args.accounts or 100_000
    args.duration = args.duration or 10
    chosen = _chosen(args)
    wrk_bin = ensure_wrk()
    if wrk_bin is None:
        return 2
    peer = None
    if args.peer:
        try:
            peer = peer_jasmin.prepare()
        except peer_jasmin.Unavailable as error:
            print(f"--peer jasmin: Jasmin cannot run here: {error}", flush=True)
            return 2
    if not 1000 <= args.accounts <= 9_000_000:  # msisdns hold 7 digits of the id
        raise SystemExit("--accounts must be between 1,000 and 9,000,000")
    lay = layout.Layout.for_users(args.accounts, quick=args.quick)
    started = dt.datetime.now(dt.UTC)
    meta: dict[str, object] = {"started": started.isoformat(), "host": _host(wrk_bin),
                               "options": vars(args) | {"scenarios": chosen},
                               "layout": dataclasses.asdict(lay)}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="smsaccounts-bench-") as tmp:
        profile_dir = RESULTS / f"{started.strftime('%Y%m%dT%H%M%SZ')}-profiles"
        if args.profile:
            profile_dir.mkdir(parents=True, exist_ok=True)
            print(f"-- profiling the service with py-spy into {profile_dir}", flush=True)
        runner = Runner(wrk_bin=wrk_bin, workdir=Path(tmp), duration=args.duration,
                        connections=args.connections, threads=args.threads,
                        workers=args.workers,
                        profile_dir=profile_dir if args.profile else None)  # fmt: skip
        meta["seed"] = _run_all(args, lay, chosen, runner, Path(tmp), peer)
    rows = [runner.rows[n] for n in chosen if n in runner.rows]
    found = report.ratios(runner.rows, args.workers)
    for row in rows:
        row.ratio = "; ".join(r.text() for r in found.get(row.name, []))
    print()
    print(report.table(rows))
    out = RESULTS / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    report.write_json(out, meta, rows, found)
    print(f"\nwritten to {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")
    jasmin = runner.rows.get("jasmin_balance")
    if args.peer and (jasmin is None or jasmin.status != "ok"):
        why = " ".join(jasmin.note.split())[:300] if jasmin else "no row"
        print(f"--peer jasmin: Jasmin was not measured: {why}", flush=True)
        return 1
    return 0


def _run_all(
    args: argparse.Namespace,
    lay: layout.Layout,
    chosen: list[str],
    runner: Runner,
    tmp: Path,
    peer: Path | None,
) -> dict[str, object]:
    by_server: dict[str, list[scenarios.Scenario]] = {}
    for name in chosen:
        sc = scenarios.BY_NAME.get(name)
        if sc is None:  # a --peer scenario: Runner.pinned runs those
            continue
        by_server.setdefault(sc.server, []).append(sc)
    seeds: dict[str, object] = {}
    with databases.fresh(args.database_url, tmp, "main") as url:
        seeds["main"] = _seed(url, lay, credentials=True)
        for server in (scenarios.BARE, scenarios.BARE_1W, scenarios.BARE_DEBIT, scenarios.FASTAPI):
            runner.group(server, by_server.get(server, []), url, lay)
        if scenarios.IN_PROCESS in by_server:
            print("-- in-process: argon2id verify", flush=True)
            runner.argon2(min(float(args.duration), 5.0))
        runner.group(scenarios.SERVICE, by_server.get(scenarios.SERVICE, []), url, lay)
        runner.group(scenarios.SERVICE_1W, by_server.get(scenarios.SERVICE_1W, []), url, lay)
        if peer is not None:
            runner.pinned(_side_by_side(peer, tmp, url), url, lay)
        big_scenarios = by_server.get(scenarios.SERVICE_1M, [])
        if big_scenarios and lay.users >= _big_users(args):
            runner.group(scenarios.SERVICE_1M, big_scenarios, url, lay, "main database")
            big_scenarios = []
    if big_scenarios:
        big = dataclasses.replace(lay, users=_big_users(args))
        with databases.fresh(_big_url(args.database_url), tmp, "big") as url:
            seeds["big"] = _seed(url, big, credentials=False)
            note = f"{big.total_accounts:,} accounts" + (" (--quick)" if args.quick else "")
            runner.group(scenarios.SERVICE_1M, big_scenarios, url, big, note)
    below_scenarios = by_server.get(scenarios.SERVICE_1M_BELOW, [])
    if below_scenarios:
        below = _below_layout(args)
        with databases.fresh(_big_url(args.database_url), tmp, "below") as url:
            seeds["below"] = _seed(url, below, credentials=False)
            note = f"{below.link_below:,} below the caller" + (" (--quick)" if args.quick else "")
            runner.group(scenarios.SERVICE_1M_BELOW, below_scenarios, url, below, note)
    return seeds


def _side_by_side(python: Path, tmp: Path, url: str) -> list[PinnedServer]:
    """Baseline (a), the service (1 worker each, on the main database) and Jasmin."""
    by_name = {s.name: s for s in scenarios.PEER_SCENARIOS}
    bare, service = servers.free_port(), servers.free_port()
    jasmin = peer_jasmin.Jasmin.configure(python, tmp)
    return [
        PinnedServer(by_name["bare_balance_pinned"],
                     servers.baseline_command("baseline_bare", bare, 1),
                     servers.service_env(url), bare),
        PinnedServer(by_name["mysms_balance_json_pinned"], servers.service_command(service, 1),
                     servers.service_env(url), service),
        PinnedServer(by_name["jasmin_balance"], jasmin.command(), jasmin.env(),
                     jasmin.http_port, peer_jasmin.HEALTH, jasmin.add_user),
    ]  # fmt: skip


def _below_layout(args: argparse.Namespace) -> layout.Layout:
    """The LINK root with 1,000,000 accounts below it (--quick: 10 times --accounts), and a
    thousand regular users beside, so every customer has one."""
    below = args.accounts * 10 if args.quick else BIG
    return layout.Layout(below + 1 + 1000, link_below=below)


def _big_users(args: argparse.Namespace) -> int:
    """1,000,000; a --quick run stands in 10 times its own size, to stay quick."""
    return args.accounts * 10 if args.quick else BIG


def _big_url(url: str | None) -> str | None:
    """The big database lives next to the main one: a temp file, or a schema in the same PG."""
    return url if url and not url.startswith("sqlite") else None


def _seed(url: str, lay: layout.Layout, *, credentials: bool) -> dict[str, object]:
    print(f"-- seeding {lay.total_accounts:,} accounts ({lay.users:,} users) ...", flush=True)
    done = seed.seed(url, lay, credentials=credentials)
    rate = done.accounts / done.seconds
    print(f"   seeded in {done.seconds:.1f} s ({rate:,.0f} accounts/s): {done.rows}", flush=True)
    return {"seconds": round(done.seconds, 2), "accounts": done.accounts, "rows": done.rows}


def _chosen(args: argparse.Namespace) -> list[str]:
    names = [s.name for s in scenarios.SCENARIOS]
    peer = [s.name for s in scenarios.PEER_SCENARIOS] if args.peer else []
    if args.scenarios:
        wanted = [n.strip() for n in args.scenarios.split(",") if n.strip()]
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            raise SystemExit(f"unknown scenarios {unknown}; choose from {', '.join(names)}")
        return [n for n in names if n in wanted] + peer
    return [n for n in names if n not in scenarios.ONE_WORKER or args.workers > 1] + peer


def _host(wrk_bin: str) -> dict[str, object]:
    version = subprocess.run([wrk_bin, "-v"], capture_output=True, text=True, check=False)
    return {"platform": platform.platform(), "python": sys.version.split()[0],
            "cpus": os.cpu_count(), "wrk": (version.stdout or version.stderr).split("\n")[0],
            "time": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "commit": _commit()}  # fmt: skip


def _commit() -> str:
    """The code measured: HEAD, marked dirty when the working tree differs from it."""
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
        cwd=servers.ROOT,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "src"],
        capture_output=True,
        text=True,
        check=False,
        cwd=servers.ROOT,
    ).stdout.strip()
    return f"{head}{'+dirty' if dirty else ''}"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument(
        "--accounts",
        type=int,
        default=0,
        help="users to seed (default 100,000; --quick 3,000; up to 1,000,000)",
    )
    p.add_argument(
        "--database-url",
        default=None,
        help="sqlite:///new-file.db or postgresql://... (a fresh schema is used)",
    )
    p.add_argument("--workers", type=int, default=1, help="uvicorn workers per server")
    p.add_argument("--duration", type=int, default=0, help="seconds per scenario (default 10)")
    p.add_argument("--connections", type=int, default=32, help="wrk connections")
    p.add_argument("--threads", type=int, default=2, help="wrk threads")
    p.add_argument("--scenarios", default="", help="comma-separated names (default: all)")
    p.add_argument("--quick", action="store_true", help="a smoke run: 3,000 users, 2 s each")
    p.add_argument(
        "--peer",
        choices=["jasmin"],
        default=None,
        help="also Jasmin's GET /balance against balance/get, pinned side by side (README)",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="py-spy flame graph of the service per scenario (perturbs the figures)",
    )
    return p  # fmt: skip


if __name__ == "__main__":
    # A SIGTERM (a CI timeout) unwinds like Ctrl-C, so every server is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        sys.exit(main())
    finally:
        servers.stop_all()
