"""CON-1, CON-2, CON-6: no agent handles a client he introduced, brokers or serves, whatever the caller."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from huifang.callbacks.choices import Level, TaskKind
from huifang.callbacks.rules import (
    Relations,
    independence_conflicts,
    least_loaded,
    recusal_conflicts,
)
from huifang.callbacks.services import Constraints, StaffFacts, assignment_problems
from huifang.policy import kinds

RECUSAL = kinds.Recusal(relations=["introducer", "broker", "adviser"])
INDEPENDENCE = kinds.Independence(
    barred_positions=["marketing", "broker", "adviser"],
    barred_for_broker_clients=["marketing", "broker", "adviser", "service"],
)
POSITIONS = ["marketing", "broker", "adviser", "service", "agent", "ops", "manager", "other"]
DAY = dt.date(2026, 10, 12)


class _Version:
    number = 1


RULES = Constraints(_Version(), RECUSAL, INDEPENDENCE, kinds.QuarterlyCap(max_per_quarter=2))  # type: ignore[arg-type]

staff_ids = st.sampled_from([f"S{i}" for i in range(6)])


@st.composite
def org_chart(draw: st.DrawFn) -> tuple[list[StaffFacts], Relations, dict[str, str]]:
    staff = []
    for i in range(6):
        unit = draw(st.sampled_from(["A01", "B01", "HQCC"]))
        kind = "call_center" if unit == "HQCC" else "branch"
        position = draw(st.sampled_from(POSITIONS))
        staff.append(
            StaffFacts(
                f"S{i}", unit, kind, position, draw(st.sampled_from([None, "K1", "K2"])), None
            )
        )
    rel = Relations(
        "K1", draw(st.none() | staff_ids), draw(st.none() | staff_ids), draw(st.none() | staff_ids)
    )
    task = {"level": draw(st.sampled_from(list(Level))), "kind": draw(st.sampled_from(list(TaskKind))),
            "branch_id": draw(st.sampled_from(["A01", "B01"]))}  # fmt: skip
    return staff, rel, task


@seed(20261012)
@settings(max_examples=300, deadline=None, derandomize=True)
@given(org_chart())
def test_no_agent_is_ever_assigned_a_client_he_introduced_brokers_or_serves(
    chart: tuple[list[StaffFacts], Relations, dict[str, str]],
) -> None:
    staff, rel, task = chart
    fit = [
        s
        for s in staff
        if not assignment_problems(task=task, staff=s, rel=rel, rules=RULES, on=DAY)[0]
    ]
    chosen = least_loaded([s.staff_id for s in fit], {})
    if chosen is None:
        return
    holder = next(s for s in fit if s.staff_id == chosen)
    assert chosen not in {rel.introducer, rel.broker, rel.adviser}
    assert holder.client_id != rel.client_id
    if task["kind"] == TaskKind.COMPLIANCE:
        assert holder.position == "agent"  # never the marketing sequence
    if task["level"] == Level.COMPANY:
        assert holder.unit_kind == "call_center"
    else:
        assert holder.unit_id == task["branch_id"]


@pytest.mark.parametrize("position", ["marketing", "broker", "adviser"])
def test_marketing_sequence_staff_never_get_compliance_tasks(position: str) -> None:
    assert independence_conflicts(position=position, kind="compliance", broker_client=False,
                                  barred=INDEPENDENCE.barred_positions,
                                  barred_for_broker_clients=INDEPENDENCE.barred_for_broker_clients)  # fmt: skip


def test_service_staff_are_barred_from_broker_clients_compliance_callbacks() -> None:
    assert independence_conflicts(position="service", kind="compliance", broker_client=True,
                                  barred=INDEPENDENCE.barred_positions,
                                  barred_for_broker_clients=INDEPENDENCE.barred_for_broker_clients)  # fmt: skip


def test_it_refuses_an_agent_who_is_the_client_himself() -> None:
    rel = Relations("K9", None, None, None)
    assert recusal_conflicts(
        rel, staff_id="S1", staff_client_id="K9", relations=["introducer"]
    ) == ["self"]
