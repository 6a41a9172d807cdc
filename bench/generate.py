"""Benchmark: generate N customers (default 1,000,000) and report time, rows and peak memory.

Target (issue 2): 1,000,000 customers in at most 3 minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from tagwise.benchmark import PeakRss, write_result
from tagwise.generator import GenerateConfig, generate

TARGET_SECONDS_AT_1M = 180


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv")
    parser.add_argument("--results", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="tagwise-bench-"))
    try:
        config = GenerateConfig(customers=args.customers, seed=7, out=out, fmt=args.format)
        with PeakRss() as memory:
            began = time.perf_counter()
            rows = generate(config)
            seconds = time.perf_counter() - began
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    finally:
        shutil.rmtree(out, ignore_errors=True)
    result = {
        "benchmark": "generate",
        "customers": args.customers,
        "format": args.format,
        "seconds": round(seconds, 2),
        "rows": rows,
        "total_rows": sum(rows.values()),
        "bytes_written": size,
        "peak_rss_bytes": memory.peak,
        "target_seconds_at_1m": TARGET_SECONDS_AT_1M,
    }
    path = write_result(args.results, f"generate-{args.customers}-{args.format}", result)
    print(
        f"generate {args.customers:,} customers ({args.format}): {seconds:.1f} s, "
        f"{result['total_rows']:,} rows, {size / 2**30:.2f} GiB, "
        f"peak RSS {memory.peak / 2**30:.2f} GiB -> {path}"
    )
    if args.customers == 1_000_000:
        verdict = "meets" if seconds <= TARGET_SECONDS_AT_1M else "MISSES"
        print(f"{verdict} the target of {TARGET_SECONDS_AT_1M} s at 1,000,000 customers")


if __name__ == "__main__":
    main()
