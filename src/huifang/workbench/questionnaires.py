"""Questionnaires (附表) as data (EXE-4): install, pick per purpose, validate answers.

The definitions live as JSON beside this module (``questionnaires/*.json``) and are
installed by the data migration ``0003_questionnaires`` (and again, idempotently, by
``install_defaults()``). A definition is never edited in the database: a changed
file installs a new version (the SHA-256 of its canonical JSON differs), and records
keep pointing at the version they were answered with.

Codes and sources:

- ``F1`` 新开户客户回访记录 (000 附表1; 000 实施细则 第五条1: restate the staff's powers
  and forbidden acts, remind of market risk), ``F2`` 存量客户回访纪录 (000 附表2).
  Both cover 004 第九条: verify key client data and updates; satisfaction with
  research, front-office staff (attitude, competence), systems (function, security);
  promotion of the firm's services and products.
- ``F3`` 客户回访纪录(专项) (000 附表3; 004 第十条): base items; the ordering
  department's items are added later as a new version.
- ``F4`` / ``F5`` 客户档案 机构 / 个人 (000 附表4/5).
- ``F-PROD`` (000 代销细则 第六条), ``F-BRK`` (004 经纪人 第八条 1–7), ``F-MRG``
  (002 第八条、第十三条), ``F-IB`` (000 投行办法 第八条 1–7).
- ``retention`` (DEP-1, 004 离职人员客户回访规定) and ``complaint`` (CMP-1) have small
  questionnaires of their own.

The policy's other form codes map onto these (``FORM_MAP``): ``archive`` → F4 for
an institution, F5 otherwise; ``scorecard`` (MRG-8 supervisor callbacks of margin
clients) → F-MRG, whose section 三 scores the service staff; ``adviser_items``
(ADV-1) → F2 (its satisfaction items cover the advisory service); ``operation_check``
(SPC-2) → F3 (004 第十条1 operation confirmation); ``chosen`` (PLAN-1) → F3.

``for_purpose`` reads the purpose's rule in the purpose's policy version and takes
the first of its forms at the most specific level: a specific form (F-*, F4/F5,
retention, complaint) before the generic special form F3 before the general F1/F2
(which the record's general section covers anyway, ``general_code``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from importlib import resources
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from huifang.callbacks.models import Purpose, Task
    from huifang.workbench.models import Questionnaire

GENERAL_NEW = "F1"
GENERAL_EXISTING = "F2"
GENERAL = frozenset({GENERAL_NEW, GENERAL_EXISTING})
GENERIC = frozenset({"F3"})
ARCHIVE_INSTITUTION = "F4"
ARCHIVE_INDIVIDUAL = "F5"

# Policy form code (policy.kinds.Form) → questionnaire code; "archive" depends on the client.
FORM_MAP: dict[str, str] = {
    "F1": "F1",
    "F2": "F2",
    "F3": "F3",
    "F4": "F4",
    "F5": "F5",
    "F-PROD": "F-PROD",
    "F-BRK": "F-BRK",
    "F-MRG": "F-MRG",
    "F-IB": "F-IB",
    "retention": "retention",
    "complaint": "complaint",
    "scorecard": "F-MRG",
    "adviser_items": "F2",
    "operation_check": "F3",
    "chosen": "F3",
}

ITEM_TYPES = frozenset({"check", "text", "score", "choice", "yesno"})
CHECK_VALUES = frozenset({"matches", "differs"})
YES = frozenset({"yes", "true", "1", "是"})
NO = frozenset({"no", "false", "0", "否"})
MAX_TEXT = 5000


# --- definitions -------------------------------------------------------------------------


def canonical(definition: dict[str, Any]) -> str:
    """The canonical JSON of a definition (sorted keys, no spaces): what is hashed."""
    return json.dumps(definition, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def definition_sha256(definition: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(definition).encode("utf-8")).hexdigest()


def load_definitions() -> list[dict[str, Any]]:
    """The JSON definitions shipped with the package, sorted by code."""
    folder = resources.files("huifang.workbench").joinpath("questionnaires")
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".json"):
            found.append(json.loads(entry.read_text(encoding="utf-8")))
    for definition in found:
        _check_definition(definition)
    return sorted(found, key=lambda d: d["code"])


def _check_definition(definition: dict[str, Any]) -> None:
    code = definition.get("code", "?")
    ids: set[str] = set()
    for item in iter_items(definition):
        if item["type"] not in ITEM_TYPES:
            raise ValueError(f"{code}: item {item['id']} has unknown type {item['type']}")
        if item["id"] in ids:
            raise ValueError(f"{code}: duplicate item id {item['id']}")
        ids.add(item["id"])
        if item["type"] in {"choice", "score"} and not item.get("options"):
            raise ValueError(f"{code}: item {item['id']} needs options")


def install_defaults(apps: Any = None) -> list[Questionnaire]:
    """Install the shipped definitions (EXE-4); idempotent, a changed one becomes a new version.

    ``apps`` is the migration's app registry (historical models, no audit); called
    from code, each new version is audited.
    """
    from huifang.core import clock

    if apps is not None:
        model: Any = apps.get_model("workbench", "Questionnaire")
    else:
        from huifang.workbench.models import Questionnaire as model

    installed = []
    for definition in load_definitions():
        sha = definition_sha256(definition)
        latest = model.objects.filter(code=definition["code"]).order_by("-version").first()
        if latest is not None and latest.sha256 == sha:
            continue
        row = model.objects.create(
            code=definition["code"],
            version=(latest.version + 1) if latest is not None else 1,
            title=definition["title"],
            source=definition.get("source", ""),
            definition=definition,
            sha256=sha,
            installed_at=clock.now(),
        )
        installed.append(row)
        if apps is None:
            _audit_install(row)
    return installed


def _audit_install(row: Questionnaire) -> None:
    from huifang.audit.context import current_or_none, system_context
    from huifang.audit.services import audit_record

    def write() -> None:
        audit_record(
            action="questionnaire.install",
            object_type="workbench.Questionnaire",
            object_id=str(row.pk),
            after={"code": row.code, "version": row.version, "sha256": row.sha256},
        )

    if current_or_none() is None:
        with system_context("questionnaires"):
            write()
    else:
        write()


def current(code: str) -> Questionnaire:
    """The newest installed version of ``code`` (raises ``Questionnaire.DoesNotExist``).

    Read once per request (``core.memo``; a questionnaire saved in the request clears it)."""
    from huifang.core import memo
    from huifang.workbench.models import Questionnaire

    found = memo.get_or_compute(
        ("questionnaire.current", code),
        lambda: Questionnaire.objects.filter(code=code).order_by("-version").first(),
    )
    if found is None:
        raise Questionnaire.DoesNotExist(f"questionnaire {code} is not installed")
    return found


# --- which questionnaire -------------------------------------------------------------------


def _rule_forms(purpose: Purpose) -> list[str]:
    from huifang.policy import kinds
    from huifang.policy.selectors import rule_params

    version = purpose.policy_version
    params = rule_params(version, purpose.rule_code)
    if params is None:  # the rule was disabled later in that version's life: read it anyway
        rule = version.rules.filter(code=purpose.rule_code).first()
        params = kinds.parse(rule.kind, rule.params) if rule is not None else None
    forms = getattr(params, "forms", None)
    return list(forms) if forms else []


def questionnaire_code(form: str, *, institution: bool = False) -> str | None:
    """The questionnaire code of a policy form code (None when it has none)."""
    if form == "archive":
        return ARCHIVE_INSTITUTION if institution else ARCHIVE_INDIVIDUAL
    return FORM_MAP.get(form)


def _rank(code: str) -> int:
    if code in GENERAL:
        return 2
    if code in GENERIC:
        return 1
    return 0


def _is_institution(purpose: Purpose) -> bool:
    from huifang.clients.choices import ClientType

    client = purpose.task.client if purpose.task.client_id else None
    return client is not None and client.client_type != ClientType.INDIVIDUAL


def _ordered_code(purpose: Purpose) -> str | None:
    """The questionnaire an order named in the purpose's facts, when it is installed (SPC-1 …)."""
    from huifang.workbench.models import Questionnaire

    code = purpose.facts_dict.get("questionnaire")
    if not isinstance(code, str) or not code:
        return None
    return code if Questionnaire.objects.filter(code=code).exists() else None


def codes_for_purpose(purpose: Purpose) -> list[str]:
    """Every questionnaire code the purpose's rule names, in the rule's order, without repeats.

    A purpose given by an order (SPC-1, PLAN-1, IB-1, MRG-8) names its questionnaire in its
    facts (``questionnaire``: an SPC-1 order's own ``SPC<id>``, PLAN-1's chosen form); when
    that code is installed it is the purpose's only code.
    """
    ordered = _ordered_code(purpose)
    if ordered is not None:
        return [ordered]
    institution = _is_institution(purpose)
    codes: list[str] = []
    for form in _rule_forms(purpose):
        code = questionnaire_code(form, institution=institution)
        if code is not None and code not in codes:
            codes.append(code)
    return codes


def for_purpose(purpose: Purpose) -> Questionnaire:
    """The questionnaire of a purpose (EXE-4): its rule's most specific form; F2 otherwise."""
    from huifang.workbench.models import Questionnaire

    candidates = sorted(enumerate(codes_for_purpose(purpose)), key=lambda p: (_rank(p[1]), p[0]))
    for _position, code in candidates:
        try:
            return current(code)
        except Questionnaire.DoesNotExist:
            continue
    return current(GENERAL_EXISTING)


def general_code(task: Task, purposes: list[Purpose] | None = None) -> str:
    """F1 when the task serves a new-account rule (NEW-*), else F2 (EXE-4).

    ``purposes``: the task's purposes if the caller has read them."""
    for purpose in task.purposes.all() if purposes is None else purposes:
        if purpose.rule_id.startswith("NEW-") or purpose.rule_code.startswith("NEW-"):
            return GENERAL_NEW
    return GENERAL_EXISTING


# --- answers ---------------------------------------------------------------------------------


def _definition(questionnaire: Questionnaire | dict[str, Any]) -> dict[str, Any]:
    if isinstance(questionnaire, dict):
        return questionnaire
    return questionnaire.definition  # type: ignore[no-any-return]


def iter_items(questionnaire: Questionnaire | dict[str, Any]) -> Iterator[dict[str, Any]]:
    for section in _definition(questionnaire).get("sections", []):
        yield from section.get("items", [])


def items_by_id(questionnaire: Questionnaire | dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["id"]: item for item in iter_items(questionnaire)}


def _entry(raw: Any) -> tuple[Any, str]:
    """(value, note) of one answer: ``{"value", "note"}`` or a bare value."""
    if isinstance(raw, dict):
        note = raw.get("note", "")
        return raw.get("value"), note if isinstance(note, str) else ""
    return raw, ""


def is_blank(value: Any) -> bool:
    return value is None or value == "" or value == []


def _yesno(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        low = value.strip().lower()
        if low in YES:
            return True
        if low in NO:
            return False
    return None


def _score(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _check_value(item: dict[str, Any], value: Any, note: str) -> str | None:
    """The error of one non-blank answer, None when it is good."""
    label = item["text"]
    kind = item["type"]
    if kind == "check":
        if value not in CHECK_VALUES:
            return _("“%(item)s”只能填“相符”或“不符”。") % {"item": label}
        if value == "differs" and not note.strip():
            return _("“%(item)s”与资料不符,须说明不符之处(EXE-4)。") % {"item": label}
    elif kind == "yesno":
        if _yesno(value) is None:
            return _("“%(item)s”只能回答“是”或“否”。") % {"item": label}
    elif kind == "score":
        score = _score(value)
        scale = [int(o) for o in item.get("options") or [1, 2, 3, 4, 5]]
        low, high = min(scale), max(scale)
        if score is None or not low <= score <= high:
            return _("“%(item)s”的评分须在%(low)s至%(high)s分之间。") % {
                "item": label,
                "low": low,
                "high": high,
            }
    elif kind == "choice":
        options = [str(o) for o in item.get("options", [])]
        chosen = value if item.get("multiple") and isinstance(value, list) else [value]
        if (
            not chosen
            or any(str(c) not in options for c in chosen)
            or any(not isinstance(c, str | int) for c in chosen)
        ):
            return _("“%(item)s”的选项无效。") % {"item": label}
    elif kind == "text":
        if not isinstance(value, str):
            return _("“%(item)s”须填写文字。") % {"item": label}
        if len(value) > MAX_TEXT:
            return _("“%(item)s”过长(最多%(max)s字)。") % {"item": label, "max": MAX_TEXT}
    return None


def validate(questionnaire: Questionnaire | dict[str, Any], answers: dict[str, Any]) -> list[str]:
    """Chinese errors of the answers (empty when good); blank answers are not errors here."""
    items = items_by_id(questionnaire)
    errors: list[str] = []
    if not isinstance(answers, dict):
        return [_("回答格式错误。")]
    for item_id, raw in answers.items():
        item = items.get(str(item_id))
        if item is None:
            errors.append(_("问卷中没有项目“%(id)s”。") % {"id": item_id})
            continue
        if isinstance(raw, dict) and "note" in raw and not isinstance(raw["note"], str):
            errors.append(_("“%(item)s”的说明须为文字。") % {"item": item["text"]})
            continue
        value, note = _entry(raw)
        if is_blank(value):
            continue
        error = _check_value(item, value, note)
        if error:
            errors.append(error)
    return errors


def missing_required(
    questionnaire: Questionnaire | dict[str, Any], answers: dict[str, Any]
) -> list[str]:
    """Ids of the required items left unanswered, in questionnaire order."""
    answers = answers if isinstance(answers, dict) else {}
    missing = []
    for item in iter_items(questionnaire):
        if not item.get("required"):
            continue
        value, _note = _entry(answers.get(item["id"]))
        if is_blank(value):
            missing.append(item["id"])
    return missing
