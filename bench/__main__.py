"""`python -m bench [--quick] [--name NAME]`: measure, write JSON, update docs/performance.md."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

from bench.report import update_doc, write_json
from bench.run import FULL, QUICK, run

REPO = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, under 30 s")
    parser.add_argument("--name", help="results file name (default: a UTC timestamp)")
    parser.add_argument("--results-dir", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--doc", type=Path, default=REPO / "docs" / "performance.md")
    parser.add_argument("--no-doc", action="store_true", help="do not touch the summary doc")
    args = parser.parse_args(argv)

    mode = "quick" if args.quick else "full"
    results = run(QUICK if args.quick else FULL, mode=mode)
    name = args.name or datetime.now(UTC).strftime(f"%Y%m%dT%H%M%SZ-{mode}")
    path = write_json(results, args.results_dir, name)
    if not args.no_doc:
        try:
            shown = str(path.resolve().relative_to(REPO))
        except ValueError:
            shown = str(path)
        update_doc(args.doc, results, shown)
    print(json.dumps(results["targets"], indent=2, ensure_ascii=False))
    print(f"results: {path}")
    return 0 if all(t["pass"] for t in results["targets"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
