"""Schemas of the call-center API (issue 7 item 9): the workbench worked by a token (SPEC §5, §6).

Requests refuse unknown fields (a typo is a 422, never silently ignored). A time
without a zone is Asia/Shanghai, as in the feeds and the events API. Responses carry
masked personal data only (CLI-4): the client's name keeps its first character, the
mobile its first 3 and last 4 digits (SPEC §12).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from ninja import Schema
from pydantic import ConfigDict, Field, field_validator

from huifang.core.clock import SHANGHAI
from huifang.workbench.choices import FindingCategory, FindingKind, Method, Outcome

CallId = Field(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")
SectionKey = Annotated[str, Field(pattern=r"^[0-9]{1,12}$")]
ItemKey = Annotated[str, Field(min_length=1, max_length=64)]


def _local(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=SHANGHAI)
    return value


class Refusal(Schema):
    """A workbench refusal (``WorkbenchRefused``): a stable code and the Chinese reasons."""

    code: str = Field(description="stable code: call_hours, not_holder, no_evidence, signed …")
    reasons: list[str] = Field(description="中文理由, each naming its SPEC ID")


class Detail(Schema):
    detail: str


# ---------------------------------------------------------------- task out


class ClientOut(Schema):
    client_id: str
    name: str = Field(description="masked: the first character kept (CLI-4)")
    mobile: str = Field(description="masked: first 3 and last 4 digits (SPEC §12)")
    client_type: str
    class_code: str = Field(description="the client's class (CLS-1), empty when unrated")


class TargetStaffOut(Schema):
    """The staff member a broker callback (BRK-4) is about."""

    staff_id: str
    name: str


class PurposeOut(Schema):
    id: int
    rule_id: str
    rule_code: str
    facts: dict[str, Any] = Field(description="the facts that triggered the purpose (CON-4)")
    due_date: dt.date


class ItemOut(Schema):
    id: str
    group: str = Field(description="the questionnaire part the item belongs to")
    text: str
    type: str = Field(description="check | text | score | choice | yesno")
    required: bool
    options: list[Any]
    script: str = Field(description="标准话术")


class SectionOut(Schema):
    section_id: int | None = Field(description="null until the record is opened")
    purpose_id: int | None = Field(description="null for the general section (F1/F2)")
    questionnaire: str
    version: int
    title: str
    items: list[ItemOut]
    answers: dict[str, Any]


class RecordBrief(Schema):
    number: str
    status: str
    method: str


class TaskOut(Schema):
    id: int
    branch: str
    level: str
    kind: str
    status: str
    client: ClientOut | None
    target_staff: TargetStaffOut | None
    purposes: list[PurposeOut]
    sections: list[SectionOut]
    opens_at: dt.datetime | None = Field(description="cooling-off end (PROD-*), if any")
    due_date: dt.date
    retry_after: dt.datetime | None
    overdue_since: dt.date | None
    held: bool = Field(description="whether the token's agent holds the task now")
    record: RecordBrief | None


# ---------------------------------------------------------------- attempts


class AttemptIn(Schema):
    """One try (EXE-3); ``call_id`` makes a repeated post idempotent."""

    model_config = ConfigDict(extra="forbid")

    method: Method
    outcome: Outcome
    call_id: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")
    note: str = Field("", max_length=2000)
    at: dt.datetime | None = None
    retry_after: dt.datetime | None = None

    @field_validator("at", "retry_after")
    @classmethod
    def _zone(cls, value: dt.datetime | None) -> dt.datetime | None:
        return _local(value)


class AttemptOut(Schema):
    id: int
    task_id: int
    at: dt.datetime
    method: str
    outcome: str
    call_id: str
    retry_after: dt.datetime | None
    created: bool = Field(description="False when the same call id was posted before")
    task_status: str
    record: str | None = Field(description="the record's number once a try connected")


# ---------------------------------------------------------------- evidence


class RecordingCallIn(Schema):
    """The call center's recording id instead of a file (EXE-2)."""

    model_config = ConfigDict(extra="forbid")

    call_id: str = CallId


class EvidenceOut(Schema):
    id: int
    task_id: int
    kind: str
    sha256: str
    size: int
    call_id: str
    original_name: str


# ---------------------------------------------------------------- answers, signature


class AnswerIn(Schema):
    model_config = ConfigDict(extra="forbid")

    value: Any = None
    note: str = Field("", max_length=2000)


class FindingIn(Schema):
    """A need, suggestion or problem (EXE-4; ISS-1 routes it)."""

    model_config = ConfigDict(extra="forbid")

    kind: FindingKind
    category: FindingCategory
    text: str = Field(min_length=1, max_length=2000)
    purpose_id: int | None = None


class AnswersIn(Schema):
    """The draft record's answers: ``{section_id: {item_id: {value, note}}}`` (EXE-4)."""

    model_config = ConfigDict(extra="forbid")

    sections: dict[SectionKey, dict[ItemKey, AnswerIn]] = Field(default_factory=dict)
    findings: list[FindingIn] = Field(default_factory=list, max_length=100)
    notes: str = Field("", max_length=10000)
    problem_handling: str = Field("", max_length=10000)
    method: Method | None = None


class FindingOut(Schema):
    kind: str
    category: str
    text: str
    purpose_id: int | None


class RecordSectionOut(Schema):
    section_id: int
    purpose_id: int | None
    questionnaire: str
    answers: dict[str, Any]


class RecordOut(Schema):
    number: str
    task_id: int
    status: str
    method: str
    callback_date: dt.date
    sections: list[RecordSectionOut]
    findings: list[FindingOut]
    notes: str
    problem_handling: str
    banned_phrases: list[str] = Field(description="疑似服务忌语 found in the notes")
    agent_signed_at: dt.datetime | None
    content_sha256: str


class ReleaseOut(Schema):
    task_id: int
    status: str
    released: bool
