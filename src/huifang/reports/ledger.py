"""回访台账 (RPT-1): every callback record with the EXE-5 fields, filtered and scoped.

The ledger lists the records the agent has signed (drafts are not records yet), newest
first. Counts (attempts, evidence, reviews) are correlated sub-queries, so a page or an
export of 100,000 rows is one query plus one for the purposes per chunk; the client's
name is masked (CLI-4) and free text has full ID numbers and mobiles masked
(``pii.scrub``) wherever it is shown or exported.

Result (回访结果): ``problem`` when the record has a problem finding (EXE-4, ISS-1),
``unreachable`` when the record closed unreachable (EXE-3), ``completed`` otherwise.
Review result: findings > pending > passed > not drawn (REV-1, REV-2).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from huifang.callbacks.choices import Level, TaskKind
from huifang.callbacks.models import Purpose
from huifang.clients.choices import ClientType
from huifang.core import clock, pii
from huifang.reports.metrics import Branches, scoped
from huifang.workbench.choices import FindingKind, Method, RecordStatus, ReviewStatus
from huifang.workbench.models import Attempt, Evidence, Finding, Record, Review

COMPLETED, PROBLEM, UNREACHABLE = "completed", "problem", "unreachable"
RESULTS = (
    (COMPLETED, _("正常完成")),
    (PROBLEM, _("发现问题")),
    (UNREACHABLE, _("无法联系")),
)
REVIEW_RESULTS = {
    "findings": _("发现问题，已退回"),
    "pending": _("待复核"),
    "passed": _("复核通过"),
    "none": _("未抽检"),
}


@dataclass(frozen=True)
class LedgerFilters:
    """The ledger's filters (RPT-1): branch, period, rule, method, result, agent."""

    branch: str = ""
    start: dt.date | None = None
    end: dt.date | None = None
    rule: str = ""
    method: str = ""
    result: str = ""
    agent: str = ""

    def as_dict(self) -> dict[str, str]:
        """The filters given, as text (the export's audit row and its notes sheet)."""
        values = {
            "branch": self.branch,
            "start": self.start.isoformat() if self.start else "",
            "end": self.end.isoformat() if self.end else "",
            "rule": self.rule,
            "method": self.method,
            "result": self.result,
            "agent": self.agent,
        }
        return {key: value for key, value in values.items() if value}


def _count(model: Any, **match: Any) -> Coalesce:
    rows = (
        model.objects.filter(**match)
        .order_by()
        .values(next(iter(match)))
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


def ledger_records(*, branches: Branches, filters: LedgerFilters) -> QuerySet[Record]:
    """The records of the ledger in the reader's branches, filtered, newest first."""
    records: QuerySet[Any] = scoped(
        Record.objects.exclude(status=RecordStatus.DRAFT), "branch_id", branches
    )
    records = records.annotate(
        attempt_count=_count(Attempt, task_id=OuterRef("task_id")),
        evidence_count=_count(Evidence, task_id=OuterRef("task_id")),
        reviews_findings=_count(Review, record_id=OuterRef("pk"), status=ReviewStatus.FINDINGS),
        reviews_pending=_count(Review, record_id=OuterRef("pk"), status=ReviewStatus.PENDING),
        reviews_passed=_count(Review, record_id=OuterRef("pk"), status=ReviewStatus.PASSED),
        has_problem=Exists(
            Finding.objects.filter(record_id=OuterRef("pk"), kind=FindingKind.PROBLEM)
        ),
    )
    records = _filtered(records, filters)
    return records.select_related(
        "task", "client", "agent", "leader", "branch", "target_staff"
    ).order_by("-callback_date", "-id")


def _filtered(records: QuerySet[Any], filters: LedgerFilters) -> QuerySet[Any]:
    if filters.branch:
        records = records.filter(branch_id=filters.branch)
    if filters.start:
        records = records.filter(callback_date__gte=filters.start)
    if filters.end:
        records = records.filter(callback_date__lte=filters.end)
    if filters.rule:
        purposes = Purpose.objects.filter(task_id=OuterRef("task_id"), rule_code=filters.rule)
        records = records.filter(Exists(purposes))
    if filters.method:
        records = records.filter(method=filters.method)
    if filters.agent:
        records = records.filter(agent_id=filters.agent)
    if filters.result == PROBLEM:
        records = records.filter(has_problem=True)
    elif filters.result == UNREACHABLE:
        records = records.filter(outcome=UNREACHABLE, has_problem=False)
    elif filters.result == COMPLETED:
        records = records.exclude(outcome=UNREACHABLE).filter(has_problem=False)
    return records


@dataclass(frozen=True)
class LedgerRow:
    """One line of the ledger: the EXE-5 fields, personal data masked."""

    pk: int
    number: str
    callback_date: dt.date
    branch_code: str
    branch_name: str
    client_id: str
    client_name: str  # masked (CLI-4)
    client_type: str
    fund_account: str  # masked
    rules: str
    level: str
    kind: str
    method: str
    attempts: int
    result: str
    agent_id: str
    agent_name: str
    agent_signed_at: dt.datetime | None
    leader_id: str
    leader_name: str
    leader_signed_at: dt.datetime | None
    status: str
    review: str
    evidence: int
    findings: str
    problem_handling: str
    feedback_date: dt.date | None
    notes: str


def _result(record: Any) -> str:
    if record.has_problem:
        return PROBLEM
    return UNREACHABLE if record.outcome == UNREACHABLE else COMPLETED


def _review(record: Any) -> str:
    for key, count in (
        ("findings", record.reviews_findings),
        ("pending", record.reviews_pending),
        ("passed", record.reviews_passed),
    ):
        if count:
            return str(REVIEW_RESULTS[key])
    return str(REVIEW_RESULTS["none"])


def _person(staff: Any) -> str:
    return f"{staff.staff_id} {staff.name}" if staff is not None else ""


def _local(moment: dt.datetime | None) -> dt.datetime | None:
    return moment.astimezone(clock.SHANGHAI) if moment is not None else None


def ledger_row(record: Any) -> LedgerRow:
    """The display row of an annotated ledger record (purposes prefetched)."""
    client = record.client
    if client is not None:
        who, name = client.client_id, pii.mask_name(client.name)
        client_type = str(ClientType(client.client_type).label) if client.client_type else ""
        fund_account = pii.mask_keep(client.fund_account)
    else:  # BRK-4: the callback's target is a staff member (a broker)
        who, name, client_type, fund_account = "", _person(record.target_staff), "", ""
    results = dict(RESULTS)
    return LedgerRow(
        pk=record.pk,
        number=record.number,
        callback_date=record.callback_date,
        branch_code=record.branch_id,
        branch_name=record.branch.name if record.branch is not None else "",
        client_id=who,
        client_name=name,
        client_type=client_type,
        fund_account=fund_account,
        rules=", ".join(sorted({p.rule_code for p in record.task.purposes.all()})),
        level=str(Level(record.level).label),
        kind=str(TaskKind(record.kind).label),
        method=str(Method(record.method).label)
        if record.method in Method.values
        else record.method,
        attempts=record.attempt_count,
        result=str(results[_result(record)]),
        agent_id=record.agent_id or "",
        agent_name=record.agent.name if record.agent is not None else "",
        agent_signed_at=_local(record.agent_signed_at),
        leader_id=record.leader_id or "",
        leader_name=record.leader.name if record.leader is not None else "",
        leader_signed_at=_local(record.leader_signed_at),
        status=str(RecordStatus(record.status).label),
        review=_review(record),
        evidence=record.evidence_count,
        findings="; ".join(pii.scrub(f.text) for f in record.findings.all()),
        problem_handling=pii.scrub(record.problem_handling),
        feedback_date=record.feedback_date,
        notes=pii.scrub(record.notes),
    )


def _details() -> tuple[Prefetch, Prefetch]:
    return (
        Prefetch("task__purposes", queryset=Purpose.objects.only("id", "task_id", "rule_code")),
        Prefetch("findings", queryset=Finding.objects.only("id", "record_id", "text")),
    )


def page_rows(records: Iterable[Record]) -> list[LedgerRow]:
    """The rows of one page (records already sliced)."""
    items = list(records)
    prefetch_related_objects(items, *_details())
    return [ledger_row(record) for record in items]


def all_rows(records: QuerySet[Record], chunk: int = 2000) -> Iterator[LedgerRow]:
    """Every row, read in chunks (the export)."""
    for record in records.prefetch_related(*_details()).iterator(chunk_size=chunk):
        yield ledger_row(record)
