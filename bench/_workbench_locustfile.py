"""Locust users of the workbench load benchmark (``bench/workbench_load.py``; SPEC §5, §6).

Each simulated user is one agent of a call-center system, with his own API token
(``WORKBENCH_TOKENS``: a JSON list, one token per user, handed out in order). Between
two actions he waits 1–3 s, and as long before his first: agents do not all press
"next" in the same instant (Locust starts 50 users a second, each of whose first
request would otherwise come on a new connection at once). One callback:

1. ``next`` — hold the next task (204: none due; he waits and asks again);
2. a no-answer try (share ``WORKBENCH_NO_ANSWER_SHARE``, default 0.3: the task goes
   back for tomorrow and the claim ends), or a connected try, which opens the record;
   the system then reads the task once (``task``: the record's section ids);
3. ``recording`` — the call center's recording id (EXE-2);
4. ``answers`` — every required item of every section answered (EXE-4);
5. ``sign`` — the agent's signature (EXE-5): the gates pass and the claim ends.

``WORKBENCH_MIX=read`` (the benchmark's ``--mix read``) measures the stack's floor
instead: each agent holds one task (``next``) and then only reads it (``task``: the
lightest call of the API — the token, one scoped read, the purposes, the sections and
the call's audit row), one read per pause.

Requests are named by endpoint, not by URL. Any answer other than the expected
status is a failure, with the refusal's code in its message.
"""

from __future__ import annotations

import itertools
import json
import os
import random
from collections.abc import Iterator
from typing import Any

from _workbench_answers import answers_payload
from locust import FastHttpUser, between, task

API = "/api/v1/workbench"
TOKENS: list[str] = json.loads(open(os.environ["WORKBENCH_TOKENS"], encoding="utf-8").read())  # noqa: SIM115
NO_ANSWER_SHARE = float(os.environ.get("WORKBENCH_NO_ANSWER_SHARE", "0.3"))
MIX = os.environ.get("WORKBENCH_MIX", "callback")
_handed_out = itertools.count()
_calls = itertools.count(1)


class Agent(FastHttpUser):
    """One agent working his own list of tasks."""

    wait_time = between(1, 3)

    def on_start(self) -> None:
        number = next(_handed_out)
        self.headers = {
            "Authorization": f"Bearer {TOKENS[number % len(TOKENS)]}",
            "X-Forwarded-Proto": "https",  # production settings redirect plain HTTP
        }
        self.rng = random.Random(number)
        self.flow: Iterator[None] = iter(())
        self.wait()  # the 1–3 s pause before his first action, as before every other

    @task
    def act(self) -> None:
        """One action: the next step of the current callback, or the start of a new one."""
        try:
            next(self.flow)
        except StopIteration:
            self.flow = self.reads() if MIX == "read" else self.callback()
            next(self.flow, None)

    def call(
        self, name: str, path: str, *, expect: tuple[int, ...], body: Any = None,
        method: str = "POST",
    ) -> tuple[int, Any] | None:  # fmt: skip
        """One request named ``name``; returns (status, JSON) or None when it failed."""
        with self.client.request(
            method, API + path, name=name, headers=self.headers, json=body, catch_response=True
        ) as response:
            status = response.status_code
            try:
                data = response.json() if response.text else None
            except ValueError:
                data = None
            if status not in expect:
                code = data.get("code") if isinstance(data, dict) else None
                detail = code or (response.text or "")[:120] or repr(response.error)[:120]
                response.failure(f"{status} {detail}")
                return None
            response.success()
            return status, data

    def callback(self) -> Iterator[None]:
        """The steps of one callback; each ``yield`` is a 1–3 s pause, whatever happened."""
        got = self.call("next", "/next", expect=(200, 204))
        yield
        if got is None or got[0] == 204:
            return
        task_id = got[1]["id"]
        call_id = f"CC{next(_calls):010d}-{task_id}"
        if self.rng.random() < NO_ANSWER_SHARE:
            self.call(
                "attempts (no_answer)", f"/tasks/{task_id}/attempts", expect=(201,),
                body={"method": "phone", "outcome": "no_answer", "call_id": call_id},
            )  # fmt: skip
            yield
            return
        connected = self.call(
            "attempts (connected)", f"/tasks/{task_id}/attempts", expect=(201,),
            body={"method": "phone", "outcome": "connected", "call_id": call_id},
        )  # fmt: skip
        # the system reads the opened record's sections at once (their ids)
        read = connected and self.call("task", f"/tasks/{task_id}", expect=(200,), method="GET")
        yield
        if not read:
            return
        recorded = self.call(
            "recording", f"/tasks/{task_id}/recording", expect=(201,), body={"call_id": call_id}
        )
        yield
        if recorded is None:
            return
        answered = self.call(
            "answers", f"/tasks/{task_id}/answers", expect=(200,),
            body=answers_payload(read[1]["sections"]),
        )  # fmt: skip
        yield
        if answered is None:
            return
        self.call("sign", f"/tasks/{task_id}/sign", expect=(200,))
        yield

    def reads(self) -> Iterator[None]:
        """The floor: hold one task, then read it, one read per pause, until the run ends."""
        got = self.call("next", "/next", expect=(200, 204))
        yield
        if got is None or got[0] == 204:
            return
        task_id = got[1]["id"]
        while True:
            self.call("task", f"/tasks/{task_id}", expect=(200,), method="GET")
            yield
