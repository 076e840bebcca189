"""`make bench --peer jasmin`: reading jCli's answers, the median round, the peer ratio."""

from __future__ import annotations

import pytest
from bench import report
from bench.peer_jasmin import check_saved
from bench.report import Row
from bench.runner import median_row

# What jCli 0.11.1 wrote back to `ok` (its echo, its message, the next prompt).
SAVED = b"ok\r\r\r\nSuccessfully added User [bench] to Group [bench]\r\r\r\njcli : "
REFUSED = (
    b"ok\r\r\r\nYou must set User id (uid), group (gid), username and password before saving !"
    b"\r\r\r\n> "
)


def test_a_saved_jcli_entry_is_read_as_its_message() -> None:
    assert check_saved(SAVED) == "Successfully added User [bench] to Group [bench]"


def test_an_ok_that_jcli_did_not_save_raises_with_its_reason() -> None:
    with pytest.raises(RuntimeError, match="You must set User id"):
        check_saved(REFUSED)


def _row(name: str, rps: float, p99_ms: float) -> Row:
    return Row(name, "", rps=rps, p50_ms=p99_ms / 2, p99_ms=p99_ms, errors=0)


def test_the_median_round_is_kept_whole_with_every_round_noted() -> None:
    rounds = [_row("x", 3000, 30.0), _row("x", 1000, 90.0), _row("x", 2000, 50.0)]
    row = median_row(rounds)
    assert (row.rps, row.p99_ms) == (2000, 50.0)  # that round's latencies, not another's
    assert row.extra["rounds_rps"] == [3000, 1000, 2000]
    assert "median of 3,000 / 1,000 / 2,000 req/s" in row.note


def test_the_peer_ratio_divides_pinned_balance_get_by_jasmin_against_its_target() -> None:
    rows = {
        "mysms_balance_json": _row("mysms_balance_json", 9000, 10.0),  # not pinned: not used
        "mysms_balance_json_pinned": _row("mysms_balance_json_pinned", 6000, 10.0),
        "jasmin_balance": _row("jasmin_balance", 4000, 10.0),
        "bare_balance_pinned": _row("bare_balance_pinned", 8000, 10.0),
    }
    rows["mysms_balance_json_pinned"].extra["rounds_rps"] = [6000, 3000, 9000]
    rows["jasmin_balance"].extra["rounds_rps"] = [4000, 1000, 3000]
    found = report.ratios(rows, workers=1)
    peer = {r.key: r for r in found["mysms_balance_json_pinned"]}
    assert peer["x jasmin_balance"].value == pytest.approx(1.5)  # median / median
    assert (peer["x jasmin_balance"].target, peer["x jasmin_balance"].met) == (">= 1.5", True)
    # round by round 1.5, 3 and 3: their median, for context only
    assert peer["x jasmin_balance, median of rounds"].value == pytest.approx(3.0)
    assert peer["x jasmin_balance, median of rounds"].target == ""
    assert peer["of (a) pinned"].value == pytest.approx(0.75)
    assert [r.key for r in found["jasmin_balance"]] == ["of (a) pinned"]
