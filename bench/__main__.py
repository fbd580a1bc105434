"""`python -m bench [--scale full|smoke] [--only NAME,...] [--out BENCHMARKS.md]`."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import logging
import sys
import time
from pathlib import Path

from rich.console import Console

from bench import report
from bench.harness import SCALES, BenchEnv, Result, machine

SCENARIOS = ("throughput", "latency", "emit", "pricing", "sink", "queries", "memory", "budgets", "statements",
             "insights", "ingest", "seen")
console = Console(stderr=True)


def run_scenarios(env: BenchEnv, names: list[str]) -> list[Result]:
    results: list[Result] = []
    for name in names:
        module = importlib.import_module(f"bench.scenarios.{name}")
        started = time.monotonic()
        console.print(f"[bold]{name}[/] ({env.scale.name})...")
        found = module.run(env)
        console.print(report.table(found))
        console.print(f"{name}: {time.monotonic() - started:.0f} s")
        results.extend(found)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    parser.add_argument("--only", default=",".join(SCENARIOS), help=f"comma-separated subset of {SCENARIOS}")
    parser.add_argument("--out", type=Path, default=None, help="where to write the report (default BENCHMARKS.md "
                        "for a full run of every scenario, otherwise only the console)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="override one field of the scale, e.g. --set throughput_seconds=20")
    parser.add_argument("--merge", type=Path, default=None, metavar="RESULTS.json",
                        help="keep the lines of scenarios not run now from an earlier run's .json")
    parser.add_argument("--workdir", type=Path, default=None, help="where the scratch broker and ClickHouse live")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    names = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(names) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s) {sorted(unknown)}; choose from {SCENARIOS}")
    scale = SCALES[args.scale]
    for item in args.set:
        field, _, value = item.partition("=")
        current = getattr(scale, field)
        parsed = tuple(int(v) for v in value.split(",")) if isinstance(current, tuple) else type(current)(value)
        scale = dataclasses.replace(scale, **{field: parsed})
    out = args.out
    if out is None and scale.name == "full" and names == list(SCENARIOS):
        out = Path("BENCHMARKS.md")
    started = time.monotonic()
    with BenchEnv.local(scale, args.workdir) as env:
        results = run_scenarios(env, names)
    if args.merge is not None:
        results = report.merge(results, report.load_results(args.merge))
    if out is not None:
        command = "./dev bench" + ("" if argv is None and len(sys.argv) == 1 else " " + " ".join(sys.argv[1:]))
        report.write(out, results, machine(), command, scale, time.monotonic() - started)
        console.print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
