"""python -m backend functions: each function's figures over a window, as the Functions page shows them."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from backend import functions
from backend.cli.exits import EXIT_OK
from backend.monitoring import WINDOWS, bucket_seconds


def window_flag(window: str) -> str:
    """A window's name as a flag value: "15 min" is 15m, "1 h" is 1h."""
    return window.replace(" min", "m").replace(" ", "")


FLAG_WINDOWS = {window_flag(window): window for window in WINDOWS}
_COLUMNS = (
    ("Function", 22), ("Invoc.", 7), ("Errors", 6), ("Thrott.", 7), ("Cold", 11), ("Init avg/max ms", 16),
    ("p50 ms", 8), ("p99 ms", 8), ("Billed sum/avg ms", 18), ("Memory MB", 10),
)  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Print every function's figures over the window: a table, or JSON."""
    span = WINDOWS[FLAG_WINDOWS[args.window]]
    until = datetime.now(UTC)
    report = functions.functions_report(until - span, until, bucket_seconds(span))
    if args.json:
        print(report.model_dump_json(indent=2, exclude={"functions": {"__all__": {"points"}}}))
        return EXIT_OK
    print(f"Functions, {args.window} to {until:%H:%M:%S} UTC (source: {functions.SOURCE})")
    print("  ".join(f"{title:<{width}}" for title, width in _COLUMNS).rstrip())
    for f in report.functions:
        cold = f"{f.cold_starts} ({_share(f.cold_start_share)})"
        cells = (
            f.role, str(f.invocations), str(f.errors), str(f.throttles), cold,
            f"{_ms(f.init_avg_ms)}/{_ms(f.init_max_ms)}", _ms(f.p50_ms), _ms(f.p99_ms),
            f"{f.billed_ms}/{_ms(f.billed_avg_ms)}", f"{_ms(f.max_memory_used_mb)}/{f.memory_size_mb or '-'}",
        )  # fmt: skip
        print("  ".join(f"{cell:<{width}}" for cell, (_, width) in zip(cells, _COLUMNS, strict=True)).rstrip())
    return EXIT_OK


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"
