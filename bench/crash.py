"""The crash test at a large scale: `python -m bench.crash --duration 120 --servers 3
--workers 2 --clients 8 --restart-postgres-at 30`.

Starts its own PostgreSQL server (durable commits) unless `--database-url` is given,
runs real servers and workers under continuous intake, pool claims and offer accepts,
kills them with SIGKILL at random moments (and crashes PostgreSQL once if asked), lets
the workers drain, then checks that nothing accepted was lost or doubled, every offer
has at most one winner, every due timer fired once and every outbox message reached the
real webhook receiver / SMTP server (see leadflow/testing/crash.py). Results go to
bench/results/crash-<time>.json; the exit code is 1 if any promise was broken.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from leadflow.testing import postgres as pg
from leadflow.testing.crash import CrashConfig, CrashRun

RESULTS = Path(__file__).parent / "results"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=60.0, help="seconds of intake")
    p.add_argument("--servers", type=int, default=3)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--clients", type=int, default=8, help="concurrent client threads")
    p.add_argument("--kill-min", type=float, default=1.0)
    p.add_argument("--kill-max", type=float, default=4.0)
    p.add_argument("--restart-postgres-at", type=float, default=None,
                   help="crash and restart PostgreSQL this many seconds in")
    p.add_argument("--database-url", default=None, help="use this (empty) database")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--accepters", type=int, default=2, help="threads of reps accepting offers")
    p.add_argument("--offer-timeout", default="5s", help="the offer rule's timeout")
    p.add_argument("--drain-timeout", type=float, default=120.0,
                   help="seconds the workers get to finish what is due afterwards")
    args = p.parse_args(argv)

    server = None
    url = args.database_url
    if url is None:
        server = pg.start(durable=True)
        if server is None:
            print("PostgreSQL is not installed; pass --database-url", file=sys.stderr)
            return 2
        url = server.url
    elif args.restart_postgres_at is not None:
        print("--restart-postgres-at needs the PostgreSQL this script starts", file=sys.stderr)
        return 2
    config = CrashConfig(
        servers=args.servers, workers=args.workers, clients=args.clients,
        duration=args.duration, kill_every=(args.kill_min, args.kill_max),
        restart_postgres_at=args.restart_postgres_at, seed=args.seed,
        accepters=args.accepters, offer_timeout=args.offer_timeout,
        drain_timeout=args.drain_timeout,
    )
    try:
        with tempfile.TemporaryDirectory(prefix="leadflow-crash-") as logs:
            started = time.time()
            result = CrashRun(url, Path(logs), config, postgres=server).run()
            elapsed = time.time() - started
    finally:
        if server is not None:
            server.stop()
    report = {"config": vars(args) | {"database_url": None}, "elapsed_s": round(elapsed, 1),
              **result.summary(), "ok": not result.problems}
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"crash-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    print(f"written to {out}")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
