"""Write the results: a JSON file per run, and the summary section of docs/performance.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

BEGIN = "<!-- bench:routing-intake:begin (written by `python -m bench`) -->"
END = "<!-- bench:routing-intake:end -->"


def write_json(results: dict[str, Any], folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return path


def update_doc(doc: Path, results: dict[str, Any], json_path: str) -> None:
    """Replace this benchmark's section (between its markers), keeping everyone else's."""
    section = f"{BEGIN}\n{render(results, json_path)}{END}\n"
    text = doc.read_text("utf-8") if doc.exists() else "# Performance\n\n"
    if BEGIN in text and END in text:
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        text = head + section + tail.removeprefix("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text, "utf-8")


def _ms(summary: dict[str, Any], key: str) -> str:
    value = summary.get(key)
    return "-" if value is None else f"{value:.3f}" if value < 10 else f"{value:.1f}"


def _cpu_note(flat: dict[str, Any], one: dict[str, Any] | None) -> str:
    per_lead = flat.get("server_cpu_ms_per_lead")
    if per_lead is None:
        return "(The server's CPU time per lead is only measured on Linux.)"
    writer = flat.get("writer_cpu_ms_per_lead") or 0.0
    note = (
        f"In the flat-out run the server used {per_lead:.2f} ms of CPU per lead, all "
        f"processes and threads from HTTP parsing to commit; {writer:.2f} ms of it in the "
        f"intake writer process, which routes and commits one lead at a time"
        + (f", so it alone bounds intake at about {1000 / writer:.0f} leads/s." if writer else ".")
    )
    if one and one.get("server_cpu_ms_per_lead"):
        note += (
            f" With routing in the HTTP process (`--no-intake-writer`) it used "
            f"{one['server_cpu_ms_per_lead']:.2f} ms per lead, on one core."
        )
    return note


def _outcomes(counts: dict[str, int] | None) -> str:
    if not counts:
        return "outcomes not recorded"
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))


def _disk_note(at_rate: dict[str, Any]) -> str:
    disk = at_rate.get("disk_commit")
    if not disk or not disk.get("count"):
        return ""
    return (
        f"The disk during the {at_rate['offered_per_s']:g} leads/s run (a probe committing one "
        f"durable row every 20 ms to a SQLite file beside the server's): {disk['count']} "
        f"commits, p50 {_ms(disk, 'p50_ms')} ms, p99 {_ms(disk, 'p99_ms')} ms, max "
        f"{_ms(disk, 'max_ms')} ms, {disk['over_50_ms']} over 50 ms. Every lead waiting on a "
        "flush that stalls waits as long: intake latency cannot be lower than the disk's."
    )


def render(r: dict[str, Any], json_path: str) -> str:
    route, decide = r["decision"]["route"], r["decision"]["decide"]
    base, intake = r["baseline"], r["intake"]
    at_rate, flat = intake["latency_at_rate"], intake["throughput"]
    one = r.get("intake_one_process")
    full = r.get("intake_at_capacity")
    m, s = r["machine"], r["sizes"]
    load = m.get("load_average_1m", [0.0, 0.0])
    lines = [
        "## Routing decisions and HTTP intake",
        "",
        "Run `python -m bench` (about 2 minutes; `--quick` for a 30-second smoke run). Last run:",
        f"{r['started_at']}, mode `{r['mode']}`, {r['duration_s']} s, raw results in",
        f"[`{json_path}`](../{json_path}).",
        "",
        f"**Machine**: {m['cpus']} cores, {m['platform']}, Python {m['python']}, SQLite "
        f"{m['sqlite']}. A shared virtual machine: the 1-minute load average was "
        f"{load[0]:.1f} when the run started and {load[1]:.1f} when it ended"
        + (
            ", i.e. the benchmark had well under the two cores to itself; read the numbers "
            "as a floor."
            if max(load) > m["cpus"]
            else " (the machine was otherwise idle)."
        ),
        "",
        "### Method",
        "",
        f"- **Workload**: {s['reps']} reps in 10 teams with territories, skills, languages, "
        f"capacity caps, some with working hours or away; 50 accounts; a {s['rules']}-rule "
        "rulebook (named accounts, segments, verticals by regex, eight territories, an "
        "active-window rule, a fallback); leads with mixed countries, sizes and industries, "
        "10 % from known accounts (`bench/workload.py`). The decision benchmark uses "
        "one-day caps (60 leads a day, 50 to 120 open). The intake runs use caps "
        f"{s.get('intake_capacity_scale', 1)} times larger, so that every lead stays "
        "assignable. A flat-out run takes in several days of this organisation's leads in "
        "seconds, and with one-day caps most of it would measure another decision: every "
        "rep full, every rule tried, the lead queued. That decision is measured on its own "
        "(*at capacity* below), on an organisation whose caps are all zero.",
        f"- **Decision, in process**: `route` times the domain decision (`needs` + `route`) "
        f"over {s['route_calls']} leads, rotation states and loads carried forward. "
        f"`decide` times the services-level decision with its database read path "
        f"(meta counters, cached org and rulebook, account lookup, rotation and load rows) in "
        f"a SQLite read transaction, {s['decide_calls']} leads. Both are also given in "
        "thread CPU time: on a busy machine the wall clock includes waiting for a core.",
        "- **Intake**: a real `leadflow serve` (uvicorn, one HTTP worker, and the intake "
        "writer process it starts on SQLite) on a fresh SQLite file, admin token, "
        "`POST /api/v1/leads` over HTTP/1.1 keep-alive from an asyncio "
        "client on the same machine. Each lead is stored, routed and committed with its "
        "decision before the answer. *Latency*: open loop at a fixed offered rate, each "
        "lead's latency counted from when it was due (no coordinated omission). "
        f"*Throughput*: closed loop, {s['concurrency']} concurrent clients, flat out; then "
        "the same leads flat out against a server started with `--no-intake-writer` (routing "
        "in the HTTP process, as before the writer existed) on a copy of the database that "
        "first took the leads the main run took before its flat-out part; and the same "
        "leads flat out, with the intake writer, on the organisation where every rep is at "
        "capacity. The "
        "client process freezes its existing objects out of the garbage collector first: "
        "its own collection pauses would otherwise count as server latency.",
        "- **Baseline**: in the same run, a loop of single-row `INSERT` + `COMMIT` of a "
        "lead-shaped row into SQLite with leadflow's durability settings (WAL, "
        "`synchronous=FULL`, `BEGIN IMMEDIATE`), on the same disk, measured before and after "
        "the intake run; the ratio uses the faster of the two.",
        "",
        "### Results",
        "",
        "| measurement | count | p50 ms | p99 ms | max ms | rate |",
        "|---|---|---|---|---|---|",
        f"| decision: `route` (domain) | {route['count']} | {_ms(route, 'p50_ms')} | "
        f"{_ms(route, 'p99_ms')} | {_ms(route, 'max_ms')} | |",
        f"| decision: `route`, CPU time only | {route['count']} | "
        f"{_ms(route['cpu'], 'p50_ms')} | {_ms(route['cpu'], 'p99_ms')} | "
        f"{_ms(route['cpu'], 'max_ms')} | |",
        f"| decision: `decide` (services, DB reads) | {decide['count']} | "
        f"{_ms(decide, 'p50_ms')} | {_ms(decide, 'p99_ms')} | {_ms(decide, 'max_ms')} | |",
        f"| decision: `decide`, CPU time only | {decide['count']} | "
        f"{_ms(decide['cpu'], 'p50_ms')} | {_ms(decide['cpu'], 'p99_ms')} | "
        f"{_ms(decide['cpu'], 'max_ms')} | |",
        f"| intake at {at_rate['offered_per_s']:g} leads/s offered | {at_rate['created']} | "
        f"{_ms(at_rate['latency'], 'p50_ms')} | {_ms(at_rate['latency'], 'p99_ms')} | "
        f"{_ms(at_rate['latency'], 'max_ms')} | {at_rate['rows_per_s']} leads/s |",
        f"| intake flat out ({flat['concurrency']} clients) | {flat['created']} | "
        f"{_ms(flat['latency'], 'p50_ms')} | {_ms(flat['latency'], 'p99_ms')} | "
        f"{_ms(flat['latency'], 'max_ms')} | **{flat['rows_per_s']} leads/s** |",
        *(
            [
                f"| intake flat out, routing in the HTTP process (`--no-intake-writer`) | "
                f"{one['created']} | {_ms(one['latency'], 'p50_ms')} | "
                f"{_ms(one['latency'], 'p99_ms')} | {_ms(one['latency'], 'max_ms')} | "
                f"{one['rows_per_s']} leads/s |"
            ]
            if one
            else []
        ),
        *(
            [
                f"| intake flat out, every rep at capacity (each lead queued) | "
                f"{full['created']} | {_ms(full['latency'], 'p50_ms')} | "
                f"{_ms(full['latency'], 'p99_ms')} | {_ms(full['latency'], 'max_ms')} | "
                f"{full['rows_per_s']} leads/s |"
            ]
            if full
            else []
        ),
        f"| baseline INSERT+COMMIT, before | {base['before']['rows']} | "
        f"{_ms(base['before']['commit'], 'p50_ms')} | {_ms(base['before']['commit'], 'p99_ms')} "
        f"| {_ms(base['before']['commit'], 'max_ms')} | {base['before']['rows_per_s']} rows/s |",
        f"| baseline INSERT+COMMIT, after | {base['after']['rows']} | "
        f"{_ms(base['after']['commit'], 'p50_ms')} | {_ms(base['after']['commit'], 'p99_ms')} "
        f"| {_ms(base['after']['commit'], 'max_ms')} | {base['after']['rows_per_s']} rows/s |",
        "",
        _cpu_note(flat, one),
        "",
        _disk_note(at_rate),
        "",
        f"Intake throughput / baseline: **{r['ratio_intake_to_baseline']:.0%}** "
        f"({flat['rows_per_s']} leads/s vs {base['rows_per_s']} rows/s). "
        f"Errors: {at_rate['errors']} at the fixed rate (of which {at_rate['unanswered']} "
        f"still unanswered {s['drain_seconds']:g} s after the last was sent), "
        f"{flat['errors']} flat out; "
        f"{intake['stored_leads']} leads stored ({intake['answered_leads']} answered 201) with "
        f"{intake['stored_decisions']} decisions; {_outcomes(intake.get('outcomes'))}."
        + (
            f" At capacity: {full['rows_per_s'] / base['rows_per_s']:.0%} of the baseline, "
            f"{_outcomes(full.get('outcomes'))}."
            if full and base["rows_per_s"]
            else ""
        ),
        "",
        "### Targets",
        "",
        "| target | goal | measured | |",
        "|---|---|---|---|",
    ]
    for t in r["targets"]:
        measured = t["measured"]
        shown = f"{measured:.0%}" if "baseline" in t["name"] else f"{measured:.3f} ms"
        lines.append(
            f"| {t['name']} | {t['target']} | {shown} | {'pass' if t['pass'] else '**FAIL**'} |"
        )
    lines += ["", *HOT_PATH]
    return "\n".join(lines) + "\n"


HOT_PATH = [
    "### Hot path: what profiling changed",
    "",
    "- `Org` indexes team members and e-mails once per snapshot; `team_members` used to "
    "scan and sort every rep for each rule of each decision.",
    "- Round robin and weighted rotation pick by position instead of `list.index(rep)`, "
    "which compared whole `Rep` values (quadratic in the pool size).",
    "- `decide` loads rotation and load rows rule by rule where that cannot deadlock "
    "(SQLite, whose writers are serialised anyway, and unlocked dry runs): most leads are "
    "decided by the first rule that applies, so about 20 load rows are read instead of "
    "every matching rule's pool (about 55); if the decision goes further it is made again "
    "with everything loaded (`route` is pure; a test checks both ways agree). PostgreSQL "
    "still locks every row once, in key order.",
    "- Rotation rows are created when a rulebook is activated, so intake only selects them "
    "(it used to run an `INSERT … ON CONFLICT DO NOTHING` per lead).",
    "- SQLite intake uses **group commit**: requests that arrive while a transaction runs "
    "are routed one after another in the next transaction by one writer thread, with one "
    "commit (one disk flush) for all; each is answered only after that commit, so nothing "
    "is acknowledged before it is durable, and turns and caps stay exact. A batch runs "
    "without a savepoint per request; if one request fails, the batch is rolled back and "
    "run again with a savepoint each, so only that request fails.",
    "- The API awaits its group commit (`intake_async`): no pool thread is held per request, "
    "and the admin token is checked without a thread hop.",
    "- Per transaction, not per lead: the `meta` counters, the lifecycle section of the "
    "rulebook, the webhook endpoints and queue definitions are read once "
    "(`services/txcache.py`), and load and rotation rows already read are reused. On "
    "SQLite the writer keeps its connection, session and these reads across batches for "
    "as long as `PRAGMA data_version` (checked under the writer lock) shows that no other "
    "connection has written; otherwise it drops them and reads again.",
    "- The lead, its decision, the counters and the outbox rows are written with single "
    "plain statements (`store/direct.py`), not through the ORM unit of work, which cost "
    "more than the statements themselves; the lead is inserted with its outcome, so it is "
    "never updated right after. Hot queries are built once, with expanding parameters.",
    "- A new lead skips the SLA look-ups that only an existing lead can need (earlier "
    "timers, earlier contact), and timer runners look read-only before taking SQLite's "
    "writer lock, so intake no longer queues behind empty timer ticks.",
    "- On SQLite those plain statements, and the repeat look-up, go straight to the "
    "`sqlite3` driver: each is compiled once with its bind processors, then costs one "
    "driver call instead of SQLAlchemy's per-execution set-up (several times the "
    "statement's own cost); errors are still SQLAlchemy's `IntegrityError` and the like.",
    "- JSON columns (the 7.8 KB decision trace, the lead, outbox payloads) are encoded "
    "with orjson (`store/jsoncodec.py`, the engine's `json_serializer`, both databases).",
    "- `POST /api/v1/leads` has a fast route in front of FastAPI's (`api/fast_intake.py`): "
    "a well-formed request is validated with the same `LeadIn`, authorised the same way "
    "and handed to the same code; anything else goes on, body untouched, to the FastAPI "
    "route and gets its usual answer. FastAPI's generic handling (route matching, "
    "content-type parsing, dependency solving, response validation) cost about as much "
    "as routing the lead. The answer is encoded by pydantic's serializer directly.",
    "- A rep's notification channels are read once per transaction, not once per lead.",
    "- On SQLite each screened rep's `RepLoad` is built once per transaction, not once per "
    "lead. It is dropped when the writer counts an assignment for that rep or releases one "
    "of its leads, and rebuilt when the rep's local day or week turns, so caps stay exact.",
    "- `insert_row` fills the new lead and decision objects as loaded ones (values set "
    "in place) instead of running the ORM constructor with an attribute event per column.",
    "- On SQLite, `leadflow serve` routes and commits leads in an **intake writer process** "
    "of its own (`services/intake_writer.py`): the HTTP process parses, authorises and "
    "validates the request, then hands the lead over a Unix socket and awaits the answer, "
    "sent after the commit. HTTP work and routing no longer share one core (one GIL), "
    "and the writer's caches stay warm, since it is the only connection writing leads. "
    "While the writer is down the HTTP process routes leads itself, as before.",
    "- The intake writer is one thread: it reads every request that has arrived, runs them "
    "as one group-commit batch in that same thread (`GroupCommitter.run_batch`) and sends "
    "each connection its answers in one write. It used to hand each lead from a socket "
    "thread to the committer thread and back through a future: about 3.6 context switches "
    "per lead, now about 0.5.",
    "- A rule's conditions are explained and decided in one walk (each leaf is tested once, "
    "not once for the trace and again for the result); staged loading tests the later "
    "rules' conditions only when the first rule that applies did not decide; dotted paths "
    "test for a plain `dict` before the abstract `Mapping`.",
    "- Direct writes keep the transaction's connection in the session instead of asking "
    "`Session.connection()` per statement (never inside a savepoint, whose SAVEPOINT that "
    "call emits).",
    "",
]
