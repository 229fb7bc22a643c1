"""Every change of an order (SPEC §4: SPC-1, PLAN-1, IB-1, MRG-8); refusals come before writes.

- ``order_create`` / ``order_update``: a draft with the PLAN-1 fields, the SPC-1 questions,
  the rule's level and kind, and ``records_due`` (SPC-1: records back to the department
  within 5 working days after the end, ``add_working_days(ends_on, 5)``; others: the end).
- ``order_targets_from_upload`` / ``order_targets_from_filter`` / ``order_staff_plan`` (MRG-8):
  the draft's targets, replaced all or nothing; a bad line of a list refuses the whole list,
  every bad line reported as ``第 N 行: reason``.
- ``order_issue``: one purpose per target through ``callbacks.adhoc.add_purpose`` (key
  ``<rule>:order<id>:<client_id>``, due ``ends_on``, facts with the order number, title and
  questionnaire code; CON-4 merge and CON-3 cap there); SPC-1's own questions become the
  questionnaire ``SPC<id>`` (F3 plus a section, EXE-4). Idempotent: issuing again only adds
  the purposes still missing.
- ``order_close``.

Every change writes one ``audit_record`` row. Only the ordering roles (``access.ORDER_CREATORS``)
change orders; a department user only the orders of his department.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from huifang.accounts.choices import Role
from huifang.accounts.permissions import user_has_role
from huifang.audit.services import audit_record
from huifang.calendars.service import CalendarYearMissing, add_working_days
from huifang.callbacks import adhoc
from huifang.callbacks.choices import Level, TaskKind
from huifang.clients.choices import ClientStatus, ClientType
from huifang.clients.models import Client
from huifang.core import clock
from huifang.core.errors import Refused
from huifang.core.pii import scrub
from huifang.orders import access, rules, uploads
from huifang.orders.choices import OrderRule, OrderStatus
from huifang.orders.models import Order, OrderTarget
from huifang.org.choices import Position, UnitKind
from huifang.org.models import Staff, Unit
from huifang.policy import kinds
from huifang.policy.selectors import NoPolicyInForce, rule_params, version_in_force
from huifang.workbench import questionnaires
from huifang.workbench.choices import Method
from huifang.workbench.models import Questionnaire

CLASS_SCHEME = "CLS-1"  # the class standard the target filter reads (SPEC §3)
MAX_PER_STAFF = 50
TITLE_MAX = 200
CHUNK = 500


class OrderRefused(Refused):
    """A service refused; nothing was written. ``reasons`` are Chinese sentences for the UI."""


@dataclass(frozen=True)
class OrderFields:
    """What a draft says (PLAN-1: scope, count, time, method, content, purpose, handling)."""

    rule_code: str
    title: str
    ordered_by_unit: Unit
    starts_on: dt.date
    ends_on: dt.date
    level: str = ""  # "" = the rule's level
    kind: str = ""  # "" = the rule's kind
    method: str = ""
    scope: str = ""
    planned_count: int | None = None
    content: str = ""
    purpose: str = ""
    result_handling: str = ""
    questions: list[dict[str, Any]] = field(default_factory=list)  # SPC-1 only
    questionnaire_code: str = ""  # PLAN-1's chosen form; "" = the rule's


@dataclass(frozen=True)
class RuleInfo:
    """What the policy in force says of a plan rule: levels, kinds, methods, form, records back."""

    code: str
    levels: tuple[str, ...]
    kinds: tuple[str, ...]
    methods: tuple[str, ...]
    questionnaire: str
    records_back_days: int | None


@dataclass(frozen=True)
class TargetFilter:
    """Clients by branch, class (CLS-1) and client type; closed accounts never."""

    branches: tuple[str, ...] = ()
    class_code: str = ""
    client_type: str = ""


@dataclass(frozen=True)
class Issued:
    created: int  # new tasks
    merged: int  # purposes added to an open task (CON-4)
    existing: int  # targets that had their purpose already


# --- the policy ----------------------------------------------------------------------------


def rule_info(rule_code: str, *, on: dt.date | None = None) -> RuleInfo:
    """The rule's parameters in the policy in force (refused when absent or disabled)."""
    if rule_code not in OrderRule.values:
        raise OrderRefused("invalid", _("规则 %(rule)s 不能下达") % {"rule": rule_code}, status=400)
    try:
        version = version_in_force(on=on or clock.today())
    except NoPolicyInForce as missing:
        raise OrderRefused("no_policy", str(missing)) from missing
    params = rule_params(version, rule_code)
    if not isinstance(params, kinds.PlanCallback):
        raise OrderRefused("rule_disabled", _("制度 %(v)s 中没有启用的规则 %(rule)s")
                           % {"v": version, "rule": rule_code})  # fmt: skip
    free = rule_code == OrderRule.PLAN_1  # PLAN-1: level and kind "per plan"
    both = params.level == "company_and_branch" or free
    levels = (Level.COMPANY, Level.BRANCH) if both else (params.level,)
    kinds_ = (TaskKind.COMPLIANCE, TaskKind.SERVICE) if free else (params.kind,)
    form = questionnaires.questionnaire_code(params.forms[0]) or questionnaires.GENERAL_EXISTING
    return RuleInfo(rule_code, tuple(map(str, levels)), tuple(map(str, kinds_)),
                    tuple(params.methods), form, params.records_back_within_working_days)  # fmt: skip


def records_due_for(info: RuleInfo, ends_on: dt.date) -> dt.date:
    """SPC-1: ``ends_on`` + the rule's working days to bring the records back; else ``ends_on``."""
    if not info.records_back_days:
        return ends_on
    try:
        return add_working_days(ends_on, info.records_back_days)
    except CalendarYearMissing as missing:
        raise OrderRefused("calendar", str(missing)) from missing


# --- who ------------------------------------------------------------------------------------


def department_units(user: Any) -> set[str]:
    """The units of the user's ``department`` grants (his department); a department user whose
    grant names no unit (company-wide scope) orders for the head-office unit of his staff record."""
    if not user_has_role(user, Role.DEPARTMENT):
        return set()
    grants = [g for g in user.role_grants.all() if g.role == Role.DEPARTMENT]
    units = {grant.unit_id for grant in grants if grant.unit_id}
    staff = getattr(user, "staff", None)
    if not units and staff is not None and staff.unit.unit_kind != UnitKind.BRANCH:
        units.add(staff.unit_id)
    return units


def may_order_for(user: Any, unit: Unit) -> bool:
    """hq_service and compliance order for any head-office unit; a department for its own."""
    if unit.is_branch:
        return False
    if user_has_role(user, Role.HQ_SERVICE, Role.COMPLIANCE):
        return True
    return user_has_role(user, Role.DEPARTMENT) and unit.code in department_units(user)


def may_manage(user: Any, order: Order) -> bool:
    return may_order_for(user, order.ordered_by_unit)


def _require_manager(user: Any, order: Order) -> None:
    if not may_manage(user, order):
        raise PermissionDenied("managing an order needs an ordering role of its department")


def _require_draft(order: Order) -> None:
    if order.status != OrderStatus.DRAFT:
        raise OrderRefused("wrong_state", _("指令已下达,不能再修改"))


# --- drafts ---------------------------------------------------------------------------------


def _checked(user: Any, fields: OrderFields) -> dict[str, Any]:
    """The model values of ``fields`` after every check (refused before anything is written)."""
    info = rule_info(fields.rule_code)
    problems = []
    if not may_order_for(user, fields.ordered_by_unit):
        raise PermissionDenied("ordering for this unit needs its department's role")
    if not fields.title.strip() or len(fields.title) > TITLE_MAX:
        problems.append(_("名称不能为空,最多 %(n)d 个字") % {"n": TITLE_MAX})
    if fields.ends_on < fields.starts_on:
        problems.append(_("结束日期早于开始日期"))
    level, kind = fields.level or info.levels[0], fields.kind or info.kinds[0]
    if level not in info.levels:
        problems.append(_("规则 %(rule)s 不能以该级别下达") % {"rule": info.code})
    if kind not in info.kinds:
        problems.append(_("规则 %(rule)s 不能以该类型下达") % {"rule": info.code})
    if fields.method and (fields.method not in Method.values or
                          (info.methods and fields.method not in info.methods)):  # fmt: skip
        problems.append(_("规则 %(rule)s 不允许该回访方式") % {"rule": info.code})
    if fields.questions and fields.rule_code != OrderRule.SPC_1:
        problems.append(_("只有专项回访(SPC-1)可以附加专项问题"))
    problems += rules.item_problems(fields.questions)
    code = _questionnaire_choice(fields, info, problems)
    if problems:
        raise OrderRefused("invalid", *problems, status=400)
    values = {
        "rule_code": fields.rule_code, "title": scrub(fields.title.strip()),
        "ordered_by_unit": fields.ordered_by_unit, "level": level, "kind": kind,
        "method": fields.method, "scope": scrub(fields.scope), "planned_count": fields.planned_count,
        "content": scrub(fields.content), "purpose": scrub(fields.purpose),
        "result_handling": scrub(fields.result_handling), "questions": fields.questions,
        "questionnaire_code": code, "starts_on": fields.starts_on, "ends_on": fields.ends_on,
        "records_due": records_due_for(info, fields.ends_on),
    }  # fmt: skip
    return values


def _questionnaire_choice(fields: OrderFields, info: RuleInfo, problems: list[str]) -> str:
    """The rule's form; PLAN-1 may choose any installed questionnaire (a "chosen form")."""
    chosen = fields.questionnaire_code
    if not chosen or chosen == info.questionnaire:
        return info.questionnaire
    if fields.rule_code != OrderRule.PLAN_1:
        problems.append(_("规则 %(rule)s 的问卷为 %(code)s") % {"rule": info.code,
                                                            "code": info.questionnaire})  # fmt: skip
    elif chosen.startswith("SPC") or not Questionnaire.objects.filter(code=chosen).exists():
        problems.append(_("问卷 %(code)s 不存在") % {"code": chosen})
    return chosen


def _next_number(today: dt.date) -> str:
    prefix = rules.order_number(today.year, 0)[:-4]
    last = (
        Order.objects.filter(number__startswith=prefix)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    return rules.order_number(today.year, rules.number_sequence(last or "") + 1)


def _audited_values(values: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in values.items() if k != "ordered_by_unit"}
    return {**shown, "ordered_by_unit": values["ordered_by_unit"].code}


def order_create(*, user: Any, fields: OrderFields) -> Order:
    """A new draft order (number ``ZX<year>-<seq>``), audited."""
    values = _checked(user, fields)
    with transaction.atomic():
        order = Order.objects.create(
            number=_next_number(clock.today()), status=OrderStatus.DRAFT,
            created_by=user.get_username(), created_at=clock.now(), **values,
        )  # fmt: skip
        audit_record(action="orders.create", object_type="orders.Order", object_id=str(order.pk),
                     after={"number": order.number, **_audited_values(values)})  # fmt: skip
    return order


def order_update(*, user: Any, order: Order, fields: OrderFields) -> Order:
    """Change a draft (the rule stays); audited with before and after."""
    _require_manager(user, order)
    _require_draft(order)
    if fields.rule_code != order.rule_code:
        raise OrderRefused("invalid", _("草稿的规则不能更改"), status=400)
    values = _checked(user, fields)
    before = {name: getattr(order, name) for name in values if name != "ordered_by_unit"}
    with transaction.atomic():
        Order.objects.filter(pk=order.pk).update(**values)
        order.refresh_from_db()
        audit_record(action="orders.update", object_type="orders.Order", object_id=str(order.pk),
                     before=before, after=_audited_values(values))  # fmt: skip
    return order


# --- targets ---------------------------------------------------------------------------------


def _clients_for(user: Any) -> QuerySet[Client]:
    return Client.objects.all() if access.sees_all(user) else Client.objects.visible_to(user)


def _known_clients(user: Any, ids: Sequence[str]) -> dict[str, Client]:
    wanted = sorted({i for i in ids if i})
    found: dict[str, Client] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        found.update((c.client_id, c) for c in _clients_for(user).filter(client_id__in=chunk))
    return found


def line_problems(user: Any, lines: Sequence[uploads.Line]) -> list[str]:
    """Every bad line: a client unknown (or outside the scope), twice in the file, or closed."""
    known = _known_clients(user, [line.client_id for line in lines])
    seen: dict[str, int] = {}
    problems = []
    for line in lines:
        client = known.get(line.client_id)
        if client is None:
            reason = _("客户号 %(id)s 不存在") % {"id": scrub(line.client_id)}
        elif line.client_id in seen:
            reason = _("客户号 %(id)s 与第 %(line)d 行重复") % {
                "id": line.client_id, "line": seen[line.client_id]}  # fmt: skip
        elif client.status == ClientStatus.CLOSED:
            reason = _("客户号 %(id)s 已销户") % {"id": line.client_id}
        else:
            seen[line.client_id] = line.number
            continue
        problems.append(uploads.line_problem(line.number, reason))
    return problems


def order_targets_from_upload(*, user: Any, order: Order, raw: bytes, name: str = "") -> int:
    """The draft's targets from an uploaded CSV/XLSX of client ids, all or nothing.

    Raises ``OrderRefused("bad_lines", *problems)`` with every bad line (format and content
    together, in file order); nothing is written then.
    """
    _require_manager(user, order)
    _require_draft(order)
    parsed = uploads.parse(raw)
    problems = parsed.problems + line_problems(user, parsed.lines)
    if problems or not parsed.lines:
        raise OrderRefused("bad_lines", *_in_line_order(problems), status=400)
    clients = _known_clients(user, [line.client_id for line in parsed.lines])
    chosen = [(clients[line.client_id], None) for line in parsed.lines]
    return _replace_targets(user, order, chosen, source=f"upload {scrub(name)[:100]}")


def _in_line_order(problems: list[str]) -> list[str]:
    def key(problem: str) -> int:
        digits = "".join(ch if ch.isdigit() else " " for ch in problem.split(":", 1)[0]).split()
        return int(digits[0]) if digits else 0

    return sorted(problems, key=key)


def filtered_clients(user: Any, criteria: TargetFilter) -> QuerySet[Client]:
    """The open accounts of the filter (branch, CLS-1 class, client type) the user may see."""
    clients = _clients_for(user).exclude(status=ClientStatus.CLOSED)
    if criteria.branches:
        clients = clients.filter(branch_id__in=list(criteria.branches))
    if criteria.client_type:
        clients = clients.filter(client_type=criteria.client_type)
    if criteria.class_code:
        from huifang.classification.models import ClientClass

        members = ClientClass.objects.filter(scheme=CLASS_SCHEME, class_code=criteria.class_code)
        clients = clients.filter(client_id__in=members.values("client_id"))
    return clients.order_by("client_id")


def order_targets_from_filter(*, user: Any, order: Order, criteria: TargetFilter) -> int:
    """The draft's targets: every client of the filter (refused above the row cap)."""
    _require_manager(user, order)
    _require_draft(order)
    if criteria.client_type and criteria.client_type not in ClientType.values:
        raise OrderRefused("invalid", _("客户类型无效"), status=400)
    clients = filtered_clients(user, criteria)
    count = clients.count()
    if not count:
        raise OrderRefused("no_targets", _("没有符合条件的客户"), status=400)
    if count > uploads.MAX_ROWS:
        raise OrderRefused("too_many", _("筛选出 %(n)d 位客户,超过上限 %(max)d,请缩小范围")
                           % {"n": count, "max": uploads.MAX_ROWS}, status=400)  # fmt: skip
    source = f"filter {criteria.branches or '*'} {criteria.class_code or '*'} {criteria.client_type or '*'}"
    return _replace_targets(user, order, [(c, None) for c in clients], source=source)


def margin_clients_of(staff: Staff, *, on: dt.date) -> list[str]:
    """The margin clients a service staff member serves (002 §14, §16–17).

    A margin client has a credit account (``has_margin_account``, or a ``credit_open_date``
    on or before ``on``; MRG-7's population). The clients are those whose MRG-7 service
    callbacks were assigned to him; a member without such callbacks yet serves the margin
    clients of his branch (the feeds link no client to a service staff member).
    """
    margin = Client.objects.filter(branch_id=staff.unit_id).exclude(status=ClientStatus.CLOSED)
    margin = margin.filter(Q(has_margin_account=True) | Q(credit_open_date__lte=on))
    served = margin.filter(
        callback_tasks__assignee=staff, callback_tasks__kind=TaskKind.SERVICE,
        callback_tasks__purposes__rule_code="MRG-7",
    )  # fmt: skip
    ids = sorted(set(served.values_list("client_id", flat=True)))
    return ids or sorted(margin.values_list("client_id", flat=True))


def order_staff_plan(*, user: Any, order: Order, staff_ids: Sequence[str], per_staff: int) -> int:
    """MRG-8: the service staff to rate and a reproducible sample of each one's margin clients.

    Every named member must be an active service staff member (客户服务人员) with margin
    clients; a client is drawn for one member only. The draw's seed is the order number.
    """
    _require_manager(user, order)
    _require_draft(order)
    if order.rule_code != OrderRule.MRG_8:
        raise OrderRefused("invalid", _("只有督导回访(MRG-8)按服务人员抽取客户"), status=400)
    if not 1 <= per_staff <= MAX_PER_STAFF:
        raise OrderRefused("invalid", _("每人抽取数须在 1 至 %(n)d 之间") % {"n": MAX_PER_STAFF},
                           status=400)  # fmt: skip
    today = clock.today()
    members, problems = _service_staff(staff_ids, today)
    chosen: list[tuple[Client, Staff | None]] = []
    used: set[str] = set()
    for staff in members:
        pool = [c for c in margin_clients_of(staff, on=today) if c not in used]
        picks = rules.draw(order.number, staff.staff_id, pool, per_staff)
        if not picks:
            problems.append(_("员工 %(id)s 没有可抽取的融资融券客户") % {"id": staff.staff_id})
        used.update(picks)
        clients = Client.objects.in_bulk(picks)
        chosen += [(clients[c], staff) for c in picks]
    if problems or not chosen:
        raise OrderRefused("invalid", *(problems or [_("请至少指定一名服务人员")]), status=400)
    return _replace_targets(user, order, chosen, source=f"staff {len(members)} × {per_staff}")


def _service_staff(staff_ids: Sequence[str], today: dt.date) -> tuple[list[Staff], list[str]]:
    wanted = list(dict.fromkeys(s.strip() for s in staff_ids if s.strip()))
    found = Staff.objects.in_bulk(wanted)
    members, problems = [], []
    for staff_id in wanted:
        staff = found.get(staff_id)
        if staff is None:
            problems.append(_("员工 %(id)s 不存在") % {"id": scrub(staff_id)})
        elif staff.position != Position.SERVICE:
            problems.append(_("员工 %(id)s 不是客户服务人员") % {"id": staff_id})
        elif staff.leave_date is not None and staff.leave_date <= today:
            problems.append(_("员工 %(id)s 已离职") % {"id": staff_id})
        else:
            members.append(staff)
    return members, problems


def _replace_targets(
    user: Any, order: Order, chosen: Sequence[tuple[Client, Staff | None]], *, source: str
) -> int:
    """The draft's targets become ``chosen``; one audit row (count, source, SHA-256 of the ids)."""
    ids = sorted(f"{c.client_id}:{s.staff_id if s else ''}" for c, s in chosen)
    with transaction.atomic():
        # the row lock order_issue takes: an order issued meanwhile keeps its targets
        _require_draft(Order.objects.select_for_update().get(pk=order.pk))
        before = order.targets.count()
        order.targets.all().delete()
        OrderTarget.objects.bulk_create(
            OrderTarget(order=order, client=client, staff=staff, branch_id=client.branch_id)
            for client, staff in chosen
        )
        audit_record(
            action="orders.targets_set", object_type="orders.Order", object_id=str(order.pk),
            before={"count": before},
            after={"count": len(chosen), "source": source,
                   "targets_sha256": hashlib.sha256("\n".join(ids).encode()).hexdigest()},
        )  # fmt: skip
    return len(chosen)


# --- issue and close ----------------------------------------------------------------------------


def spc_questionnaire(order: Order) -> Questionnaire:
    """SPC-1's questionnaire ``SPC<id>``: F3 plus the order's items; a changed one is a new version."""
    code = f"SPC{order.pk}"
    definition = rules.spc_definition(
        questionnaires.current("F3").definition, code=code, number=order.number,
        title=order.title, items=list(order.questions),
    )  # fmt: skip
    sha = questionnaires.definition_sha256(definition)
    latest = Questionnaire.objects.filter(code=code).order_by("-version").first()
    if latest is not None and latest.sha256 == sha:
        return latest
    row = Questionnaire.objects.create(
        code=code, version=(latest.version + 1) if latest else 1, title=definition["title"],
        source=definition["source"], definition=definition, sha256=sha, installed_at=clock.now(),
    )  # fmt: skip
    audit_record(action="questionnaire.install", object_type="workbench.Questionnaire",
                 object_id=str(row.pk),
                 after={"code": row.code, "version": row.version, "sha256": row.sha256,
                        "order": order.number})  # fmt: skip
    return row


def _facts(order: Order, target: OrderTarget, code: str) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "order": order.number, "title": order.title, "questionnaire": code,
        "ordered_by": order.ordered_by_unit.name, "records_due": order.records_due.isoformat(),
    }  # fmt: skip
    if target.client_id and target.staff_id:
        facts["service_staff"] = target.staff_id
    return facts


def order_issue(*, user: Any, order: Order) -> Issued:
    """Give every target one purpose (see the module); a re-issue adds only what is missing."""
    _require_manager(user, order)
    today = clock.today()
    if order.status == OrderStatus.CLOSED:
        raise OrderRefused("wrong_state", _("指令已结束"))
    if order.ends_on < today:
        raise OrderRefused("ended", _("结束日期 %(d)s 已过,不能下达") % {"d": order.ends_on})
    if not order.targets.exists():
        raise OrderRefused("no_targets", _("尚未确定回访对象"))
    rule_info(order.rule_code, on=today)
    actor = user.get_username()
    with transaction.atomic():
        locked = (
            Order.objects.select_for_update().select_related("ordered_by_unit").get(pk=order.pk)
        )
        issued = _issue_locked(locked, today, actor)
    for name in ("status", "issued_by", "issued_at", "questionnaire_code"):
        setattr(order, name, getattr(locked, name))
    return issued


def _issue_locked(order: Order, today: dt.date, actor: str) -> Issued:
    if order.rule_code == OrderRule.SPC_1 and order.questions:
        order.questionnaire_code = spc_questionnaire(order).code
    counts = {"created": 0, "merged": 0, "existing": 0}
    targets = order.targets.select_related("client__branch", "staff__unit").order_by("id")
    for target in targets:
        counts[_issue_one(order, target, today, actor)] += 1
    issued = Issued(counts["created"], counts["merged"], counts["existing"])
    if order.status == OrderStatus.ISSUED and not (issued.created or issued.merged):
        return issued
    if order.status == OrderStatus.DRAFT:
        order.status, order.issued_by, order.issued_at = OrderStatus.ISSUED, actor, clock.now()
    order.save(update_fields=["status", "issued_by", "issued_at", "questionnaire_code"])
    audit_record(action="orders.issue", object_type="orders.Order", object_id=str(order.pk),
                 after={"number": order.number, "rule": order.rule_code,
                        "questionnaire": order.questionnaire_code, "due_date": order.ends_on,
                        "created": issued.created, "merged": issued.merged,
                        "existing": issued.existing})  # fmt: skip
    return issued


def _issue_one(order: Order, target: OrderTarget, today: dt.date, actor: str) -> str:
    """One target's purpose: "created" (new task), "merged" (CON-4) or "existing"."""
    if target.purpose_id:
        return "existing"
    try:
        added = adhoc.add_purpose(
            rule_code=order.rule_code, key=target.purpose_key(order.rule_code), level=order.level,
            kind=order.kind, business_date=today, due_date=order.ends_on,
            facts=_facts(order, target, order.questionnaire_code), actor=actor,
            client=target.client, target_staff=None if target.client_id else target.staff,
        )  # fmt: skip
    except adhoc.PurposeRefused as refused:
        raise OrderRefused("refused", str(refused)) from refused
    OrderTarget.objects.filter(pk=target.pk).update(task=added.task, purpose=added.purpose)
    if not added.created:
        return "existing"
    return "created" if added.new_task else "merged"


def order_close(*, user: Any, order: Order) -> Order:
    """An issued order is closed (its open tasks stay: the purposes are still owed); audited."""
    _require_manager(user, order)
    if order.status != OrderStatus.ISSUED:
        raise OrderRefused("wrong_state", _("只有已下达的指令可以结束"))
    with transaction.atomic():
        now = clock.now()
        Order.objects.filter(pk=order.pk).update(status=OrderStatus.CLOSED, closed_at=now)
        order.status, order.closed_at = OrderStatus.CLOSED, now
        audit_record(action="orders.close", object_type="orders.Order", object_id=str(order.pk),
                     before={"status": OrderStatus.ISSUED}, after={"status": OrderStatus.CLOSED})  # fmt: skip
    return order
