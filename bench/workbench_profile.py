"""Per-request cost of the call-center API, in-process (issue 7: where a request's time goes).

The load benchmark (``workbench_load.py``) says how long agents wait; this one says
why: the same set-up (``write_data``: branches with one agent each, open assigned
NEW-2 tasks), then every agent works ``--callbacks`` callbacks through Django's test
client — the whole middleware stack and the API, no network, no other load — with the
clock inside the CON-5 call hours. Per endpoint it prints the requests, the CPU
milliseconds per request (this process: Django, the ORM, psycopg), the wall
milliseconds, and the SQL statements per request. ``--profile FILE`` also writes
cProfile's statistics of the whole loop.

    python bench/workbench_profile.py [--smoke] [--tasks N] [--agents N] [--callbacks N]
        [--database sqlite|postgres] [--profile FILE]

``--smoke``: 2,000 tasks, 5 agents, 3 callbacks each (run by ``make test``).
"""

from __future__ import annotations

import cProfile
import datetime as dt
import json
import shutil
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from _setup import bench_parser, fresh_environment
from _workbench_answers import answers_payload
from workbench_load import API, DAY, NOW, write_data

ENDPOINTS = ("next", "attempts (connected)", "task", "recording", "answers", "sign")


class Meter:
    """CPU, wall and statements of each named request."""

    def __init__(self, dump: Any = None) -> None:
        self.rows: dict[str, list[tuple[float, float, int]]] = defaultdict(list)
        self.dump = dump  # a text file: each endpoint's statements, once
        self.dumped: set[str] = set()

    def call(
        self, client: Any, name: str, method: str, path: str, token: str, body: Any = None
    ) -> Any:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        connection.queries_log.clear()  # the log keeps 9,000 statements: count from empty
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_X_FORWARDED_PROTO": "https"}
        with CaptureQueriesContext(connection) as queries:
            cpu, wall = time.process_time(), time.perf_counter()
            if method == "GET":
                response = client.get(API + path, **headers)
            else:
                response = client.post(
                    API + path,
                    data=json.dumps(body or {}),
                    content_type="application/json",
                    **headers,
                )
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        self.rows[name].append((cpu * 1000, wall * 1000, len(queries)))
        if self.dump is not None and name not in self.dumped:
            self.dumped.add(name)
            self.dump.write(f"== {name} ({len(queries)} statements)\n")
            self.dump.writelines(f"{q['sql'][:400]}\n" for q in queries.captured_queries)
        if response.status_code >= 300 and response.status_code != 204:
            raise SystemExit(f"{name} {path}: {response.status_code} {response.content[:300]!r}")
        return response


def work(tokens: list[str], callbacks: int, meter: Meter) -> int:
    """Every agent works ``callbacks`` callbacks, round-robin; returns the signed count."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    signed = 0
    for _round in range(callbacks):
        for number, token in enumerate(tokens):
            got = meter.call(client, "next", "POST", "/next", token)
            if got.status_code == 204:
                continue
            task_id = got.json()["id"]
            call_id = f"CC{_round:04d}{number:06d}-{task_id}"
            meter.call(client, "attempts (connected)", "POST", f"/tasks/{task_id}/attempts", token,
                       {"method": "phone", "outcome": "connected", "call_id": call_id})  # fmt: skip
            sections = meter.call(client, "task", "GET", f"/tasks/{task_id}", token).json()[
                "sections"
            ]
            meter.call(client, "recording", "POST", f"/tasks/{task_id}/recording", token,
                       {"call_id": call_id})  # fmt: skip
            meter.call(
                client,
                "answers",
                "POST",
                f"/tasks/{task_id}/answers",
                token,
                answers_payload(sections),
            )
            meter.call(client, "sign", "POST", f"/tasks/{task_id}/sign", token)
            signed += 1
    return signed


def main() -> None:
    parser = bench_parser(__doc__, default_clients=100_000)
    parser.add_argument("--tasks", type=int, help="open tasks (default: --clients)")
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--callbacks", type=int, default=10, help="callbacks per agent")
    parser.add_argument("--profile", type=Path, help="write cProfile statistics here")
    parser.add_argument("--statements", type=Path, help="write each endpoint's SQL statements here")
    args = parser.parse_args()
    tasks = 2_000 if args.smoke else (args.tasks or args.clients)
    agents = 5 if args.smoke else args.agents
    callbacks = 3 if args.smoke else args.callbacks
    import os

    os.environ["HUIFANG_TODAY"] = DAY.isoformat()
    data_dir = fresh_environment(args.database, "wbprofile")
    from django.conf import settings

    from huifang.core import clock

    settings.ALLOWED_HOSTS = ["testserver"]
    began = time.perf_counter()
    made = write_data(tasks=tasks, agents=agents)
    set_up = time.perf_counter() - began
    meter = Meter(args.statements.open("w", encoding="utf-8") if args.statements else None)
    with clock.frozen(dt.datetime.fromisoformat(NOW)):
        work(made["tokens"][:1], 1, Meter())  # first-request imports and caches: not measured
        profiler = cProfile.Profile(time.process_time) if args.profile else None
        if profiler:
            profiler.enable()
        signed = work(made["tokens"], callbacks, meter)
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
    print(f"workbench_profile ({args.database}, {tasks:,} tasks, {agents} agents, {callbacks} callbacks each; "
          f"set-up {set_up:.1f} s, {signed} signed)")  # fmt: skip
    print(
        f"  {'endpoint':22s} {'requests':>8s} {'cpu_ms':>8s} {'wall_ms':>8s} {'p95_wall':>8s} {'queries':>8s}"
    )
    figures: dict[str, Any] = {}
    for name in ENDPOINTS:
        rows = meter.rows.get(name, [])
        if not rows:
            continue
        walls = sorted(r[1] for r in rows)
        cpu = sum(r[0] for r in rows) / len(rows)
        wall = sum(walls) / len(rows)
        queries = sum(r[2] for r in rows) / len(rows)
        p95 = walls[min(len(walls) - 1, int(0.95 * len(walls)))]
        figures[name] = {"requests": len(rows), "cpu_ms": round(cpu, 2), "wall_ms": round(wall, 2),
                         "p95_wall_ms": round(p95, 2), "queries": round(queries, 1)}  # fmt: skip
        print(f"  {name:22s} {len(rows):8d} {cpu:8.2f} {wall:8.2f} {p95:8.2f} {queries:8.1f}")
    everything = [r for rows in meter.rows.values() for r in rows]
    mean_cpu = sum(r[0] for r in everything) / len(everything)
    print(f"  {'all':22s} {len(everything):8d} {mean_cpu:8.2f}")
    out = Path("artifacts")
    out.mkdir(exist_ok=True)
    suffix = "-smoke" if args.smoke else ""
    (out / f"bench-workbench-profile-{args.database}{suffix}.json").write_text(
        json.dumps(
            {"tasks": tasks, "agents": agents, "signed": signed, "endpoints": figures}, indent=1
        )
    )
    shutil.rmtree(data_dir, ignore_errors=True)
    if signed == 0:
        raise SystemExit("no callback was signed")


if __name__ == "__main__":
    main()
