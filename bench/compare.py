"""Run benches at two git revisions in one run and print their headline numbers side by side.

    python bench/compare.py --before 76f6afe --after HEAD ingest followup reports queue
    python bench/compare.py --before main --after . --repeat 2 queue   # "." = this checkout
    python bench/compare.py --full --before main reports               # the benches' defaults
    python bench/compare.py --before main --bench-from after followup  # after's scripts, both

Each revision is checked out into a temporary ``git worktree`` (detached, removed at the
end) and its own ``bench/<name>.py`` runs there with this checkout's virtualenv (the same
dependencies; ``PYTHONPATH`` points at the worktree so the revision's code is imported,
not the editable install's). Runs alternate: for each bench, before then after (and after
then before in the next ``--repeat`` round), so both revisions share the machine's
conditions. Every bench's full output is passed through, prefixed with its name and side;
a table of the headline numbers (the median over the rounds) follows at the end.
``--bench-from after`` runs the after side's bench scripts on both sides (copied into the
before worktree): the same measurement of both code versions, e.g. when a bench was fixed
or changed after the before revision.

By default the benches run with short options (``SHORT`` below: fewer leads, shorter
loads) so that all four compare in about ten minutes on two cores; ``--full`` runs their
defaults. The options used are printed first. A private ``redis-server`` serves the
benches that need Redis, and the benches that take a database name get one of this run's
own (``bench/ingest.py``, ``bench/capture_cpu.py`` and ``bench/queue.py --db postgresql``
use fixed names: do not run those twice at once on one machine).

Numbers are only as quiet as the machine: the load average is printed with the table.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Not this folder: bench/queue.py would shadow the standard library's queue module.
sys.path[0] = str(ROOT)

from tests.run import free_port, redis_binary  # noqa: E402

# name -> (arguments, environment): the short runs. ``--full`` drops both.
SHORT: dict[str, tuple[list[str], dict[str, str]]] = {
    "ingest": (["--seconds", "3", "--connections", "6", "--workers", "2"], {}),
    "followup": (
        [],
        {
            "BENCH_LEADS": "200",
            "BENCH_PACE": "20",
            "BENCH_SWEEP_LEADS": "100000",
            "BENCH_SWEEP_DUE": "1000",
            "BENCH_SWEEP_RUNS": "3",
        },
    ),
    "reports": (["--leads", "100000"], {}),
    "queue": (["--runs", "15"], {}),
    "capture_cpu": (["--captures", "500", "--rounds", "4"], {}),
}

# What "better" means for a metric: a higher or a lower number.
HIGHER, LOWER = "higher", "lower"


def number(text: str) -> float:
    return float(text.replace(",", ""))


def find(pattern: str) -> Callable[[str], float | None]:
    """The first group of the first line matching ``pattern`` (multiline), as a number."""
    compiled = re.compile(pattern, re.M)

    def read(output: str) -> float | None:
        match = compiled.search(output)
        return number(match.group(1)) if match else None

    return read


def cpu_sum(label: str) -> Callable[[str], float | None]:
    """``  <label>  web + db ms`` (bench/ingest.py's CPU lines) as one number."""
    compiled = re.compile(rf"^\s+{re.escape(label)}\s+([\d.]+) \+\s+([\d.]+) ms", re.M)

    def read(output: str) -> float | None:
        match = compiled.search(output)
        return number(match.group(1)) + number(match.group(2)) if match else None

    return read


def queue_pages(output: str) -> dict[str, tuple[float, str]]:
    """bench/queue.py prints one line per page: ``<label> median N ms   p95 N ms ...``."""
    found = {}
    for label, median, p95 in re.findall(
        r"^(GET .+?)\s+median\s+([\d.]+) ms\s+p95\s+([\d.]+) ms", output, re.M
    ):
        found[f"{label} median ms"] = (number(median), LOWER)
        found[f"{label} p95 ms"] = (number(p95), LOWER)
    return found


def reports_row(name: str) -> str:
    """A row of bench/reports.py's table: the name, then the median and best ms."""
    return rf"^{re.escape(name)}\s+([\d.]+)\s+[\d.]+\s*$"


LEAD_URL = r"POST /events/\{id\}/leads"
# name -> [(metric, reader, better)]
HEADLINES: dict[str, list[tuple[str, Callable[[str], float | None], str]]] = {
    "capture_cpu": [
        (
            "Python CPU ms per capture (median round)",
            find(r"^Python CPU per capture: ([\d.]+) ms \(median"),
            LOWER,
        ),
        (
            "Python CPU ms per capture (quietest round)",
            find(r"^Python CPU per capture: .*?([\d.]+) ms \(quietest"),
            LOWER,
        ),
    ],
    "ingest": [
        ("GET /livez req/s (ceiling)", find(r"^ceiling GET /livez\s+([\d.]+) req/s"), HIGHER),
        ("POST one lead req/s", find(rf"^{LEAD_URL}\s+([\d.]+) req/s"), HIGHER),
        ("POST one lead p50 ms", find(rf"^{LEAD_URL}.*?p50\s+([\d.]+) ms"), LOWER),
        ("POST one lead p99 ms", find(rf"^{LEAD_URL}.*?p99\s+([\d.]+) ms"), LOWER),
        ("single-lead / floor ratio", find(r"^\s+single-lead / floor ratio\s+([\d.]+)"), HIGHER),
        ("POST /sync 100 leads/s", find(r"^POST /sync batch 100\s+([\d.]+) leads/s"), HIGHER),
        ("POST /sync 500 leads/s", find(r"^POST /sync batch 500\s+([\d.]+) leads/s"), HIGHER),
        ("server CPU ms, floor", cpu_sum("floor POST /sqlalchemy"), LOWER),
        ("server CPU ms, one lead", cpu_sum("POST one lead"), LOWER),
        ("server CPU ms per lead, /sync 500", cpu_sum("POST /sync 500, per lead"), LOWER),
    ],
    "followup": [
        ("autoresponder p50 ms", find(r"^\s+p50 ([\d.]+) ms\s+p99"), LOWER),
        ("autoresponder p99 ms", find(r"^\s+p50 [\d.]+ ms\s+p99 ([\d.]+) ms"), LOWER),
        ("autoresponders received", find(r"^\s+received (\d+)/"), HIGHER),
        ("sweep dry run s", find(r"^\s+dry run: ([\d.]+) s"), LOWER),
        ("sweep median s", find(r"^\s+sweep median of \d+: ([\d.]+) s"), LOWER),
        (
            "next sweep (nothing due) s",
            find(r"^\s+next sweep \(nothing new due\): ([\d.]+) s"),
            LOWER,
        ),
    ],
    "reports": [
        ("event report (app) median ms", find(reports_row("event report (app)")), LOWER),
        ("event report (raw SQL) median ms", find(reports_row("event report (raw SQL)")), LOWER),
        ("dashboard (app) median ms", find(reports_row("dashboard (app)")), LOWER),
        ("dashboard, a lead changed ms", find(reports_row("dashboard, a lead changed")), LOWER),
        ("dashboard (raw SQL) median ms", find(reports_row("dashboard (raw SQL)")), LOWER),
        (
            "rollup refresh, cold ms",
            find(r"^rollup refresh by the cron, cold.*?: ([\d,.]+) ms"),
            LOWER,
        ),
        (
            "dashboard, first view after it ms",
            find(r"^dashboard, first view after it: ([\d,.]+) ms"),
            LOWER,
        ),
    ],
    "queue": [],  # read by queue_pages: one line per page
}


def headlines(bench: str, output: str) -> dict[str, tuple[float, str]]:
    found = {}
    for metric, read, better in HEADLINES[bench]:
        value = read(output)
        if value is not None:
            found[metric] = (value, better)
    if bench == "queue":
        found.update(queue_pages(output))
    return found


@dataclass
class Side:
    label: str  # "before" / "after"
    rev: str  # as given
    commit: str  # resolved, or "." for this checkout as it is
    path: Path
    runs: dict[str, list[dict[str, tuple[float, str]]]] = field(default_factory=dict)
    failures: dict[str, list[str]] = field(default_factory=dict)


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()


def checkout(label: str, rev: str, scratch: Path) -> Side:
    if rev == ".":
        return Side(label, rev, ".", ROOT)
    commit = git("rev-parse", "--verify", f"{rev}^{{commit}}")
    path = scratch / label
    git("worktree", "add", "--detach", "--quiet", str(path), commit)
    # The benches start ``.venv/bin/...`` programs (followup's worker): this checkout's venv.
    (path / ".venv").symlink_to(ROOT / ".venv")
    return Side(label, rev, commit, path)


def share_benches(source: Side, target: Side) -> None:
    """``target`` runs ``source``'s bench scripts (copied over its own checkout's)."""
    if target.commit == ".":
        raise SystemExit("--bench-from: the other side must be a revision, not this checkout")
    for script in (source.path / "bench").glob("*.py"):
        shutil.copy2(script, target.path / "bench" / script.name)
    print(f"both sides run the bench scripts of {source.label} ({source.rev})")


def prepare(side: Side, env: dict) -> None:
    """Compile the revision's translations (``*.mo`` files are not in git)."""
    subprocess.run(
        [sys.executable, "-c", "from backend.i18n import compile_catalogs; compile_catalogs()"],
        cwd=side.path,
        env=env,
        check=True,
    )


def run_bench(bench: str, side: Side, env: dict, full: bool, timeout: float) -> str:
    args, extra = ([], {}) if full else SHORT[bench]
    command = [sys.executable, str(side.path / "bench" / f"{bench}.py"), *args]
    prefix = f"[{bench} {side.label}] "
    print(f"\n{prefix}$ {' '.join(command[1:])}", flush=True)
    started = time.monotonic()
    lines = []
    proc = subprocess.Popen(
        command,
        cwd=side.path,
        env={**env, **extra},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    watchdog = threading.Timer(timeout, os.killpg, (proc.pid, signal.SIGTERM))
    watchdog.start()
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        print(prefix + line, end="", flush=True)
    code = proc.wait()
    watchdog.cancel()
    if time.monotonic() - started >= timeout:
        lines.append(f"timed out after {timeout:.0f} s\n")
        print(f"{prefix}timed out after {timeout:.0f} s", flush=True)
    took = time.monotonic() - started
    print(f"{prefix}exit {code} in {took:.0f} s", flush=True)
    output = "".join(lines)
    if code != 0:
        side.failures.setdefault(bench, []).append(f"exit {code}")
    else:
        side.runs.setdefault(bench, []).append(headlines(bench, output))
    return output


def median_of(runs: list[dict[str, tuple[float, str]]]) -> dict[str, tuple[float, str]]:
    metrics: dict[str, list[float]] = {}
    better: dict[str, str] = {}
    for run in runs:
        for metric, (value, direction) in run.items():
            metrics.setdefault(metric, []).append(value)
            better[metric] = direction
    return {m: (statistics.median(v), better[m]) for m, v in metrics.items()}


def fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}"


def table(benches: list[str], before: Side, after: Side, repeat: int) -> str:
    rows = [("bench", "metric", "before", "after", "after/before", "better")]
    for bench in benches:
        old = median_of(before.runs.get(bench, []))
        new = median_of(after.runs.get(bench, []))
        for metric in list(dict.fromkeys([*old, *new])):
            a = old.get(metric, (None, ""))[0]
            b = new.get(metric, (None, ""))[0]
            direction = (old.get(metric) or new.get(metric))[1]
            ratio = f"{b / a:.2f}x" if a and b is not None else "-"
            rows.append((bench, metric, fmt(a), fmt(b), ratio, direction))
        for side in (before, after):
            for failure in side.failures.get(bench, []):
                rows.append((bench, f"{side.label} run failed: {failure}", "", "", "", ""))
        if not old and not new and not before.failures.get(bench) and not after.failures.get(bench):
            rows.append((bench, "no headline numbers found in the output", "", "", "", ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [
            cell.ljust(width) if i < 2 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    note = f"median of {repeat} runs per side" if repeat > 1 else "one run per side"
    return (
        "\n".join(lines)
        + f"\n({note}; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())})"
    )


def start_redis() -> tuple[subprocess.Popen | None, str | None]:
    binary = redis_binary()
    if binary is None:
        return None, None
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        cwd=tempfile.gettempdir(),
    )
    time.sleep(0.5)
    return proc, f"redis://127.0.0.1:{port}/12"


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benches", nargs="+", choices=sorted(SHORT), metavar="BENCH",
                        help=f"one or more of: {', '.join(SHORT)}")  # fmt: skip
    parser.add_argument("--before", required=True, help="a git revision (or . for this checkout)")
    parser.add_argument("--after", default="HEAD", help="a git revision, default HEAD (. = as is)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds; the table shows medians")
    parser.add_argument("--full", action="store_true", help="the benches' own default sizes")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per bench run")
    parser.add_argument("--bench-from", choices=("each", "before", "after"), default="each",
                        help="whose bench/*.py both sides run (default: each its own); the "
                        "same scripts measure both when one side's benches were fixed or "
                        "changed")  # fmt: skip
    return parser.parse_args(argv)


def print_options(benches: list[str], full: bool) -> None:
    if full:
        print("options used: the benches' defaults (--full)")
        return
    print("options used:")
    for bench in benches:
        options, extra = SHORT[bench]
        shown = " ".join([*(f"{k}={v}" for k, v in extra.items()), *options]) or "(defaults)"
        print(f"  {bench}: {shown}")


def bench_env(side: Side, redis_url: str | None) -> dict:
    """The revision's code first on the path; this run's own Redis and database names."""
    env = {**os.environ, "PYTHONPATH": str(side.path)}
    env.pop("PYTHONHOME", None)
    if redis_url:
        env["BENCH_REDIS_URL"] = redis_url
    env["BENCH_DB"] = f"leadrelay_bench_cmp_{os.getpid()}"
    env["BENCH_PG_DB"] = f"leadrelay_bench_reports_cmp_{os.getpid()}"
    return env


def remove(side: Side) -> None:
    if side.commit == ".":
        return
    (side.path / ".venv").unlink(missing_ok=True)  # the link, never the venv
    subprocess.run(
        ["git", "worktree", "remove", "--force", str(side.path)],
        cwd=ROOT,
        check=False,
        capture_output=True,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    benches = list(dict.fromkeys(args.benches))
    print_options(benches, args.full)

    scratch = Path(tempfile.mkdtemp(prefix="leadrelay-compare-"))
    redis_proc, redis_url = start_redis()
    sides: list[Side] = []
    try:
        for label, rev in (("before", args.before), ("after", args.after)):
            sides.append(checkout(label, rev, scratch))
        before, after = sides
        if args.bench_from != "each":
            source = before if args.bench_from == "before" else after
            share_benches(source, after if source is before else before)
        envs = {}
        for side in sides:
            print(f"{side.label}: {side.rev} = {side.commit} in {side.path}")
            envs[side.label] = bench_env(side, redis_url)
            prepare(side, envs[side.label])
        started = time.monotonic()
        for round_ in range(args.repeat):
            for bench in benches:
                order = (before, after) if round_ % 2 == 0 else (after, before)
                for side in order:
                    run_bench(bench, side, envs[side.label], args.full, args.timeout)
        print(f"\n== before {args.before} ({before.commit[:10]}) vs after {args.after} "
              f"({after.commit[:10]}), {time.monotonic() - started:.0f} s ==")  # fmt: skip
        print(table(benches, before, after, args.repeat))
        return 1 if any(side.failures for side in sides) else 0
    finally:
        if redis_proc is not None:
            redis_proc.terminate()
        for side in sides:
            remove(side)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
