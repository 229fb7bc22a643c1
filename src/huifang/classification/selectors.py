"""Reads of classification: a client's classes and history, advisers, the export (SPEC §3, §12).

User-facing reads go through ``visible_to(user)``; the export is the auditors'
command and reads everything.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from huifang.classification.choices import ChangeReason
from huifang.classification.models import (
    AdviserAssignment,
    ClassChange,
    ClassificationRun,
    ClientClass,
    YearlyVisit,
)
from huifang.classification.rules import Entitlement, class_labels, entitlements, package_for
from huifang.clients.models import Client
from huifang.core import clock
from huifang.org.choices import Position
from huifang.org.models import Staff, Unit
from huifang.policy import kinds
from huifang.policy.models import PolicyVersion, Rule
from huifang.policy.rules import PRIMARY_STANDARD, citation_text
from huifang.policy.selectors import rule_params, version_in_force_or_none

HISTORY_LIMIT = 100


StandardInfo = tuple[str, str, dict[str, str]]  # title, citation text, class labels


class Standards:
    """The class standards of the versions a page cites, read once per version."""

    def __init__(self) -> None:
        self._seen: dict[int, dict[str, StandardInfo]] = {}

    def of(self, version_id: int) -> dict[str, StandardInfo]:
        if version_id not in self._seen:
            found = {}
            for rule in Rule.objects.filter(version_id=version_id, kind="class_standard"):
                standard = kinds.parse(rule.kind, rule.params)
                assert isinstance(standard, kinds.ClassStandard)
                labels = class_labels(standard)
                found[rule.code] = (rule.title, citation_text(rule.spec_id, rule.citation), labels)
            self._seen[version_id] = found
        return self._seen[version_id]

    def info(self, version_id: int, scheme: str) -> StandardInfo:
        return self.of(version_id).get(scheme, (scheme, "", {}))

    def label(self, version_id: int, scheme: str, code: str) -> str:
        """The label a version gives a class code ("VIP客户（一类）"), else the code."""
        return self.info(version_id, scheme)[2].get(code, code) if code else "—"


@dataclass(frozen=True)
class VisitDue:
    """The home visits a client is owed in a year and those he received (CLS-7)."""

    year: int
    required: int
    done: int
    last_visited_on: dt.date | None
    citation: str

    @property
    def fulfilled(self) -> bool:
        return self.done >= self.required


def visits_required(classes: dict[str, str], coverage: kinds.AdviserCoverage) -> int:
    """Visits a year owed by a client of these classes (scheme → code); 0 if none."""
    return max(
        (v.visits_per_year for v in coverage.visits if classes.get(v.standard) in v.classes),
        default=0,
    )


def visit_due(*, client: Client, year: int) -> VisitDue | None:
    """What the client is owed this year by his current classes, None when nothing."""
    version = version_in_force_or_none()
    coverage = rule_params(version, "CLS-7") if version else None
    if not isinstance(coverage, kinds.AdviserCoverage) or version is None:
        return None
    classes = dict(ClientClass.objects.filter(client=client).values_list("scheme", "class_code"))
    required = visits_required(classes, coverage)
    if not required:
        return None
    visit = YearlyVisit.objects.filter(client=client, year=year).first()
    rule = version.rules.get(code="CLS-7")
    return VisitDue(
        year,
        required,
        visit.visits if visit else 0,
        visit.last_visited_on if visit else None,
        citation_text(rule.spec_id, rule.citation),
    )


@dataclass(frozen=True)
class ClassRow:
    """One current class of a client, as the client page shows it."""

    scheme_title: str
    citation: str
    label: str
    row: ClientClass


@dataclass(frozen=True)
class HistoryRow:
    change: ClassChange
    scheme_title: str
    old_label: str
    new_label: str
    inputs: list[tuple[str, str]]


@dataclass
class ClassPanel:
    """Everything the client page shows of classification (CLS-1, 6, 7, 9)."""

    classes: list[ClassRow] = field(default_factory=list)
    history: list[HistoryRow] = field(default_factory=list)
    package_name: str = ""
    package_citation: str = ""
    entitlements: list[Entitlement] = field(default_factory=list)
    adviser: Staff | None = None
    adviser_required: bool = False
    adviser_citation: str = ""
    visit: VisitDue | None = None


INPUT_LABELS = {
    **kinds.MEASURE_LABELS,
    "statistical_date": "统计日",
    "commission_year_of": "佣金年度",
    "assets_date": "资产快照日",
}


def _inputs(change: ClassChange) -> list[tuple[str, str]]:
    """The run's dates, then the measures the standard used (CLS-9)."""
    run = change.run
    facts = [(INPUT_LABELS["statistical_date"], run.statistical_date.isoformat()),
             (INPUT_LABELS["commission_year_of"], str(run.commission_year))]  # fmt: skip
    values = json.loads(change.inputs, parse_float=Decimal) if change.inputs else {}
    return facts + [(INPUT_LABELS.get(k, k), _shown(v)) for k, v in values.items()]


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    return f"{value:,.2f}" if isinstance(value, Decimal) else str(value)


def client_class_panel(*, user: Any, client: Client) -> ClassPanel:
    """The client's classes, package, adviser, this year's visit and class history."""
    panel = ClassPanel()
    standards = Standards()
    rows = ClientClass.objects.visible_to(user).filter(client=client).order_by("scheme")
    for row in rows.select_related("policy_version"):
        title, citation, _labels = standards.info(row.policy_version_id, row.scheme)
        label = standards.label(row.policy_version_id, row.scheme, row.class_code)
        panel.classes.append(ClassRow(title, citation, label, row))
    changes = (
        ClassChange.objects.visible_to(user)
        .filter(client=client)
        .select_related("policy_version", "run")
    )
    for change in changes.order_by("-effective_date", "-id")[:HISTORY_LIMIT]:
        version_id = change.policy_version_id
        panel.history.append(
            HistoryRow(
                change,
                standards.info(version_id, change.scheme)[0],
                standards.label(version_id, change.scheme, change.old_class),
                standards.label(version_id, change.scheme, change.new_class),
                _inputs(change),
            )
        )
    _service(panel, client, {row.row.scheme: row.row.class_code for row in panel.classes})
    panel.visit = visit_due(client=client, year=clock.today().year)
    return panel


def _service(panel: ClassPanel, client: Client, classes: dict[str, str]) -> None:
    version = version_in_force_or_none()
    if version is None:
        return
    packages = rule_params(version, "CLS-6")
    if isinstance(packages, kinds.ServicePackages):
        new = client.open_date.year == clock.today().year
        package = package_for(
            packages, classes.get(PRIMARY_STANDARD, ""), new_account_this_year=new
        )
        if package is not None:
            panel.package_name = package.name
            panel.entitlements = entitlements(packages, package)
            rule = version.rules.get(code="CLS-6")
            panel.package_citation = citation_text(rule.spec_id, rule.citation)
    coverage = rule_params(version, "CLS-7")
    if isinstance(coverage, kinds.AdviserCoverage):
        panel.adviser_required = classes.get(coverage.standard, "") in coverage.adviser_classes
        rule = version.rules.get(code="CLS-7")
        panel.adviser_citation = citation_text(rule.spec_id, rule.citation)
    panel.adviser = effective_adviser(client)


def _active(staff: Staff | None, branch_code: str, today: dt.date) -> bool:
    return (
        staff is not None
        and staff.unit_id == branch_code
        and (staff.leave_date is None or staff.leave_date > today)
    )


def effective_adviser(client: Client) -> Staff | None:
    """The named adviser: the branch's assignment, else the feed's adviser of the same branch."""
    today = clock.today()
    assignment = AdviserAssignment.objects.select_related("adviser").filter(client=client).first()
    if assignment is not None and _active(assignment.adviser, client.branch_id, today):
        return assignment.adviser
    feed = client.adviser
    return feed if _active(feed, client.branch_id, today) else None


@dataclass(frozen=True)
class AdviserLoad:
    staff: Staff
    clients: int


@dataclass
class BranchAdvisers:
    """A branch's advisers with their workload and the VIP/core clients lacking one (CLS-7)."""

    branch: Unit
    advisers: list[AdviserLoad]
    lacking: list[tuple[Client, str]]
    served: int
    citation: str = ""
    unvisited: list[tuple[Client, str]] = field(default_factory=list)
    unvisited_count: int = 0


def branch_advisers(*, branch: Unit) -> BranchAdvisers:
    """Who serves the branch's VIP and core clients, and who has no named adviser."""
    today = clock.today()
    advisers = list(
        Staff.objects.filter(unit=branch, position=Position.ADVISER)
        .active(today)
        .order_by("staff_id")
    )
    version = version_in_force_or_none()
    coverage = rule_params(version, "CLS-7") if version else None
    if not isinstance(coverage, kinds.AdviserCoverage):
        return BranchAdvisers(branch, [AdviserLoad(a, 0) for a in advisers], [], 0)
    rows = (
        ClientClass.objects.filter(
            client__branch=branch, scheme=coverage.standard, class_code__in=coverage.adviser_classes
        )
        .select_related("client__adviser", "client__adviser_assignment__adviser", "policy_version")
        .order_by("client_id")
    )
    loads = dict.fromkeys((a.staff_id for a in advisers), 0)
    lacking = []
    standards = Standards()
    for row in rows:
        staff = _effective(row.client, today)
        if staff is None:
            lacking.append(
                (row.client, standards.label(row.policy_version_id, row.scheme, row.class_code))
            )
        elif staff.staff_id in loads:
            loads[staff.staff_id] += 1
    rule = version.rules.get(code="CLS-7") if version else None
    state = BranchAdvisers(
        branch,
        [AdviserLoad(a, loads[a.staff_id]) for a in advisers],
        lacking,
        sum(loads.values()),
        citation_text(rule.spec_id, rule.citation) if rule else "",
    )
    _unvisited(state, coverage, today.year, standards)
    return state


UNVISITED_LIMIT = 200


def _unvisited(
    state: BranchAdvisers, coverage: kinds.AdviserCoverage, year: int, standards: Standards
) -> None:
    """The branch's clients owed a home visit this year who have not had it (CLS-7)."""
    seen: dict[str, tuple[Client, str]] = {}
    for visit in coverage.visits:
        done = YearlyVisit.objects.filter(
            client=OuterRef("client"), year=year, visits__gte=visit.visits_per_year
        )
        rows = (
            ClientClass.objects.filter(
                client__branch=state.branch, scheme=visit.standard, class_code__in=visit.classes
            )
            .exclude(Exists(done))
            .select_related("client")
            .order_by("client_id")
        )
        for row in rows:
            label = standards.label(row.policy_version_id, row.scheme, row.class_code)
            seen.setdefault(row.client_id, (row.client, label))
    state.unvisited_count = len(seen)
    state.unvisited = [seen[k] for k in sorted(seen)[:UNVISITED_LIMIT]]


def _effective(client: Client, today: dt.date) -> Staff | None:
    assignment = getattr(client, "adviser_assignment", None)
    if assignment is not None and _active(assignment.adviser, client.branch_id, today):
        return assignment.adviser  # type: ignore[no-any-return]
    return client.adviser if _active(client.adviser, client.branch_id, today) else None


def branches_for_advisers(*, user: Any) -> QuerySet[Unit]:
    from huifang.org.choices import UnitKind

    return Unit.objects.visible_to(user).filter(unit_kind=UnitKind.BRANCH).order_by("code")


def recent_runs(limit: int = 20) -> QuerySet[ClassificationRun]:
    return ClassificationRun.objects.select_related("policy_version").order_by("-id")[:limit]


# --- the auditors' export (SPEC §12) -----------------------------------------------------

EXPORT_COLUMNS = ("client_id", "class", "since", "policy_version", "reason")


def class_export_rows(*, chunk_size: int = 5000) -> Iterator[tuple[str, str, dt.date, int, str]]:
    """The primary class of every classified client, sorted by client_id (SPEC §12)."""
    rows = (
        ClientClass.objects.filter(scheme=PRIMARY_STANDARD)
        .exclude(class_code="")
        .order_by("client_id")
        .values_list("client_id", "class_code", "since", "policy_version__number", "reason")
    )
    return rows.iterator(chunk_size=chunk_size)  # type: ignore[return-value]


def reason_label(code: str) -> str:
    return str(ChangeReason(code).label) if code in ChangeReason.values else code


def version_of(pk: int) -> PolicyVersion | None:
    return PolicyVersion.objects.filter(pk=pk).first()
