"""The callback workbench (SPEC §5, §6): claims, attempts, records, evidence, sign-off, review.

A task (``callbacks.Task``) is worked by one agent at a time: ``Claim`` holds it (a
partial unique index makes a second live claim of the same task impossible, whatever
the caller). Every try is an ``Attempt`` (EXE-3). The ``Record`` (EXE-5) is the
callback's written result: one ``Section`` per purpose with the answers of its
questionnaire (EXE-4), structured ``Finding`` rows (needs, suggestions, problems:
ISS-1 routes them), ``Evidence`` files with their SHA-256 (EXE-2), the agent's and
the leader's signatures. A signed record is immutable: corrections are
``Amendment`` rows (append-only). ``Review`` rows are the reviewer's queue (REV-1,
REV-2). ``QuestionnaireLink`` is the one-time link of an e-questionnaire (EXE-6).

Attempts, evidence and amendments are append-only in the database (NFR-2, NFR-3).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from huifang.callbacks.choices import Level, TaskKind
from huifang.core.scope import BranchScopedQuerySet
from huifang.workbench.choices import (
    CorrectionStatus,
    EvidenceKind,
    FindingCategory,
    FindingKind,
    LinkChannel,
    Method,
    Outcome,
    RecordStatus,
    ReviewReason,
    ReviewStatus,
)


class Questionnaire(models.Model):
    """A versioned questionnaire (附表, EXE-4), installed as data; never edited, only superseded.

    ``definition`` is ``{"title", "source", "sections": [{"title", "items": [item]}]}``;
    an item is ``{"id", "text", "type": "check"|"text"|"score"|"choice"|"yesno",
    "required": bool, "options": [...], "script": "标准话术"}``. A ``check`` item is
    answered "matches" or "differs" with a note (EXE-4).
    """

    code = models.CharField(_("问卷代码"), max_length=16)
    version = models.PositiveIntegerField(_("版本"))
    title = models.CharField(_("名称"), max_length=200)
    source = models.CharField(_("来源"), max_length=200)
    definition = models.JSONField(_("内容"))
    sha256 = models.CharField(_("内容SHA-256"), max_length=64)
    installed_at = models.DateTimeField(_("安装时间"))

    class Meta:
        ordering = ["code", "-version"]
        verbose_name = _("回访问卷")
        verbose_name_plural = _("回访问卷")
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="uniq_questionnaire_version")
        ]

    def __str__(self) -> str:
        return f"{self.code} v{self.version}"


class Claim(models.Model):
    """An agent holds a task (the queue's "next task"); at most one live claim per task."""

    task = models.ForeignKey(
        "callbacks.Task", on_delete=models.PROTECT, db_constraint=False, related_name="claims"
    )
    staff = models.ForeignKey(
        "org.Staff", verbose_name=_("回访人员"), on_delete=models.PROTECT, db_constraint=False,
        related_name="+",
    )  # fmt: skip
    claimed_at = models.DateTimeField(_("领取时间"))
    released_at = models.DateTimeField(_("释放时间"), null=True, blank=True)
    release_reason = models.CharField(_("释放原因"), max_length=32, blank=True)

    class Meta:
        ordering = ["-claimed_at", "-id"]
        verbose_name = _("任务领取")
        verbose_name_plural = _("任务领取")
        constraints = [
            models.UniqueConstraint(
                fields=["task"],
                condition=models.Q(released_at__isnull=True),
                name="one_live_claim_per_task",
            )
        ]
        indexes = [
            models.Index(
                fields=["staff"], condition=models.Q(released_at__isnull=True), name="live_claims"
            )
        ]

    def __str__(self) -> str:
        return f"{self.task_id} ← {self.staff_id}"


class Attempt(models.Model):
    """One try to reach the client (EXE-3): time, method, outcome; append-only."""

    task = models.ForeignKey(
        "callbacks.Task", on_delete=models.PROTECT, db_constraint=False, related_name="attempts"
    )
    staff = models.ForeignKey(
        "org.Staff", verbose_name=_("回访人员"), on_delete=models.PROTECT, db_constraint=False,
        related_name="+",
    )  # fmt: skip
    at = models.DateTimeField(_("时间"))
    method = models.CharField(_("方式"), max_length=16, choices=Method.choices)
    outcome = models.CharField(_("结果"), max_length=16, choices=Outcome.choices)
    call_id = models.CharField(_("呼叫编号"), max_length=64, blank=True)
    note = models.TextField(_("备注"), blank=True)
    channel = models.CharField(_("来源"), max_length=16, default="ui")  # ui | api | questionnaire
    retry_after = models.DateTimeField(_("再次回访时间"), null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("回访尝试")
        verbose_name_plural = _("回访尝试")
        indexes = [models.Index(fields=["task", "at"])]
        constraints = [  # one attempt per call-center call (the API is idempotent on it)
            models.UniqueConstraint(
                fields=["task", "call_id"],
                condition=~models.Q(call_id=""),
                name="uniq_attempt_call",
            )
        ]

    def __str__(self) -> str:
        return f"{self.task_id} {self.at:%Y-%m-%d %H:%M} {self.outcome}"


class RecordQuerySet(BranchScopedQuerySet["Record"]):
    branch_field = "branch"


class Record(models.Model):
    """回访记录 (EXE-5): the written result of one task, signed by agent and leader.

    ``content_sha256`` is the hash of the signed content (sections, findings, notes,
    evidence hashes); a signed record never changes after it, corrections are
    ``Amendment`` rows. ``outcome`` is ``completed`` or ``unreachable`` (EXE-3).
    """

    task = models.OneToOneField(
        "callbacks.Task", on_delete=models.PROTECT, db_constraint=False, related_name="record"
    )
    number = models.CharField(_("记录编号"), max_length=40, unique=True)
    branch = models.ForeignKey(
        "org.Unit", verbose_name=_("营业部"), on_delete=models.PROTECT, db_constraint=False,
        related_name="+",
    )  # fmt: skip
    client = models.ForeignKey(
        "clients.Client", verbose_name=_("客户"), on_delete=models.PROTECT, null=True, blank=True,
        db_constraint=False, related_name="callback_records",
    )  # fmt: skip
    target_staff = models.ForeignKey(
        "org.Staff", verbose_name=_("回访对象(员工)"), on_delete=models.PROTECT, null=True,
        blank=True, db_constraint=False, related_name="+",
    )  # fmt: skip
    level = models.CharField(_("级别"), max_length=16, choices=Level.choices)
    kind = models.CharField(_("类型"), max_length=16, choices=TaskKind.choices)
    method = models.CharField(_("回访方式"), max_length=16, choices=Method.choices)
    outcome = models.CharField(_("结果"), max_length=16, default="completed")
    status = models.CharField(
        _("状态"), max_length=16, choices=RecordStatus.choices, default=RecordStatus.DRAFT
    )
    callback_date = models.DateField(_("回访日期"))
    notes = models.TextField(_("回访记录说明"), blank=True)
    banned_phrases = models.JSONField(_("疑似服务忌语"), default=list, blank=True)
    problem_handling = models.TextField(_("问题处理情况"), blank=True)
    feedback_date = models.DateField(_("反馈日期"), null=True, blank=True)
    agent = models.ForeignKey(
        "org.Staff", verbose_name=_("回访人"), on_delete=models.PROTECT, db_constraint=False,
        related_name="+",
    )  # fmt: skip
    agent_signed_at = models.DateTimeField(_("回访人签字时间"), null=True, blank=True)
    leader = models.ForeignKey(
        "org.Staff", verbose_name=_("负责人"), on_delete=models.PROTECT, null=True, blank=True,
        db_constraint=False, related_name="+",
    )  # fmt: skip
    leader_role = models.CharField(_("负责人角色"), max_length=32, blank=True)
    leader_signed_at = models.DateTimeField(_("负责人签字时间"), null=True, blank=True)
    archived_by = models.ForeignKey(
        "org.Staff", verbose_name=_("归档人"), on_delete=models.PROTECT, null=True, blank=True,
        db_constraint=False, related_name="+",
    )  # fmt: skip
    archived_at = models.DateTimeField(_("归档时间"), null=True, blank=True)
    content_sha256 = models.CharField(_("签字内容SHA-256"), max_length=64, blank=True)
    retention_until = models.DateField(_("保存期限"), null=True, blank=True)
    source = models.CharField(_("来源"), max_length=16, default="ui")  # ui | api | questionnaire
    created_at = models.DateTimeField(_("创建时间"))

    objects = RecordQuerySet.as_manager()

    class Meta:
        ordering = ["-callback_date", "-id"]
        verbose_name = _("回访记录")
        verbose_name_plural = _("回访记录")
        indexes = [
            models.Index(fields=["branch", "callback_date"]),
            models.Index(fields=["agent", "status"]),
            models.Index(fields=["status", "leader_signed_at"]),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def signed_by_agent(self) -> bool:
        return self.status != RecordStatus.DRAFT


class Section(models.Model):
    """One section of a record per purpose (CON-4), answering that purpose's questionnaire.

    ``answers`` maps item id to ``{"value": …, "note": "…"}``; ``purpose`` is empty for
    the record's general section (the F1/F2 items every contact covers, EXE-4).
    """

    record = models.ForeignKey(Record, on_delete=models.PROTECT, related_name="sections")
    purpose = models.ForeignKey(
        "callbacks.Purpose", on_delete=models.PROTECT, null=True, blank=True,
        db_constraint=False, related_name="+",
    )  # fmt: skip
    questionnaire = models.ForeignKey(Questionnaire, on_delete=models.PROTECT, related_name="+")
    answers = models.JSONField(_("回答"), default=dict, blank=True)
    position = models.PositiveSmallIntegerField(_("顺序"), default=0)

    class Meta:
        ordering = ["record", "position", "id"]
        verbose_name = _("回访记录分项")
        verbose_name_plural = _("回访记录分项")
        constraints = [
            models.UniqueConstraint(
                fields=["record", "purpose", "questionnaire"], name="uniq_section"
            )
        ]

    def __str__(self) -> str:
        return f"{self.record_id} {self.questionnaire_id}"


class Finding(models.Model):
    """A need, suggestion or problem captured in a record (EXE-4); ISS-1 turns it into an issue."""

    record = models.ForeignKey(Record, on_delete=models.PROTECT, related_name="findings")
    purpose = models.ForeignKey(
        "callbacks.Purpose", on_delete=models.PROTECT, null=True, blank=True,
        db_constraint=False, related_name="+",
    )  # fmt: skip
    kind = models.CharField(_("类别"), max_length=16, choices=FindingKind.choices)
    category = models.CharField(_("事项分类"), max_length=16, choices=FindingCategory.choices)
    text = models.TextField(_("内容"))
    created_at = models.DateTimeField(_("记录时间"))

    class Meta:
        ordering = ["record", "id"]
        verbose_name = _("需求、建议与问题")
        verbose_name_plural = _("需求、建议与问题")

    def __str__(self) -> str:
        return f"{self.record_id} {self.kind}/{self.category}"


class Evidence(models.Model):
    """A trace of a callback (EXE-2): a stored file with its SHA-256, or a call-center call id.

    Append-only; ``retention_until`` (NFR-3) is the earliest day it may be purged.
    """

    task = models.ForeignKey(
        "callbacks.Task", on_delete=models.PROTECT, db_constraint=False, related_name="evidence"
    )
    kind = models.CharField(_("类别"), max_length=32, choices=EvidenceKind.choices)
    file = models.FileField(_("文件"), upload_to="evidence/%Y/%m/", max_length=300, blank=True)
    call_id = models.CharField(_("呼叫编号"), max_length=64, blank=True)
    original_name = models.CharField(_("原文件名"), max_length=255, blank=True)
    content_type = models.CharField(_("内容类型"), max_length=100, blank=True)
    size = models.BigIntegerField(_("大小(字节)"), default=0)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    meta = models.JSONField(_("附加信息"), default=dict, blank=True)
    uploaded_by = models.CharField(_("上传人"), max_length=150)
    uploaded_at = models.DateTimeField(_("上传时间"))
    retention_until = models.DateField(_("保存期限"))

    class Meta:
        ordering = ["task", "id"]
        verbose_name = _("留痕材料")
        verbose_name_plural = _("留痕材料")
        indexes = [models.Index(fields=["task", "kind"])]

    def __str__(self) -> str:
        return f"{self.task_id} {self.kind} {self.sha256[:12]}"


class Amendment(models.Model):
    """A correction appended to a signed record (EXE-5); the record itself never changes."""

    record = models.ForeignKey(Record, on_delete=models.PROTECT, related_name="amendments")
    seq = models.PositiveIntegerField(_("序号"))
    reason = models.TextField(_("更正原因"))
    changes = models.JSONField(_("更正内容"))
    by = models.ForeignKey(
        "org.Staff", verbose_name=_("更正人"), on_delete=models.PROTECT, db_constraint=False,
        related_name="+",
    )  # fmt: skip
    at = models.DateTimeField(_("时间"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)

    class Meta:
        ordering = ["record", "seq"]
        verbose_name = _("记录更正")
        verbose_name_plural = _("记录更正")
        constraints = [models.UniqueConstraint(fields=["record", "seq"], name="uniq_amendment_seq")]

    def __str__(self) -> str:
        return f"{self.record_id} #{self.seq}"


class ReviewQuerySet(BranchScopedQuerySet["Review"]):
    branch_field = "branch"


class Review(models.Model):
    """A reviewer's check of a record (REV-1) or of an unreachable closure (EXE-3); REV-2 company level.

    ``reviewer`` is empty until someone takes it; never the record's agent or leader (CON-1).
    """

    task = models.ForeignKey(
        "callbacks.Task", on_delete=models.PROTECT, db_constraint=False, related_name="reviews"
    )
    record = models.ForeignKey(
        Record, on_delete=models.PROTECT, null=True, blank=True, related_name="reviews"
    )
    branch = models.ForeignKey(
        "org.Unit", verbose_name=_("营业部"), on_delete=models.PROTECT, db_constraint=False,
        related_name="+",
    )  # fmt: skip
    level = models.CharField(_("复核级别"), max_length=16, choices=Level.choices)
    reason = models.CharField(_("原因"), max_length=24, choices=ReviewReason.choices)
    drawn_on = models.DateField(_("抽取日期"))
    draw_key = models.CharField(_("抽样键"), max_length=64, blank=True)  # SHA-256 of the draw
    status = models.CharField(
        _("状态"), max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.PENDING
    )
    reviewer = models.ForeignKey(
        "org.Staff", verbose_name=_("复核员"), on_delete=models.PROTECT, null=True, blank=True,
        db_constraint=False, related_name="+",
    )  # fmt: skip
    findings = models.TextField(_("复核意见"), blank=True)
    decided_at = models.DateTimeField(_("复核时间"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("回访人确认时间"), null=True, blank=True)

    objects = ReviewQuerySet.as_manager()

    class Meta:
        ordering = ["status", "drawn_on", "id"]
        verbose_name = _("复核")
        verbose_name_plural = _("复核")
        constraints = [
            # a rejected unreachable closure may be asked for again after new tries (EXE-3)
            models.UniqueConstraint(
                fields=["task", "reason"],
                condition=~models.Q(status="rejected"),
                name="uniq_review_per_reason",
            )
        ]
        indexes = [models.Index(fields=["branch", "status"])]

    def __str__(self) -> str:
        return f"{self.task_id} {self.reason} {self.status}"


class DataCorrectionQuerySet(BranchScopedQuerySet["DataCorrection"]):
    branch_field = "branch"


class DataCorrection(models.Model):
    """A wrong number found in a callback: the branch corrects the client's data (EXE-3)."""

    task = models.ForeignKey(
        "callbacks.Task", on_delete=models.PROTECT, db_constraint=False, related_name="+"
    )
    client = models.ForeignKey(
        "clients.Client", on_delete=models.PROTECT, null=True, blank=True, db_constraint=False,
        related_name="+",
    )  # fmt: skip
    branch = models.ForeignKey(
        "org.Unit", verbose_name=_("营业部"), on_delete=models.PROTECT, db_constraint=False,
        related_name="+",
    )  # fmt: skip
    attempt = models.ForeignKey(Attempt, on_delete=models.PROTECT, related_name="+")
    reported_by = models.CharField(_("报告人"), max_length=150)
    reported_at = models.DateTimeField(_("报告时间"))
    status = models.CharField(
        _("状态"), max_length=8, choices=CorrectionStatus.choices, default=CorrectionStatus.OPEN
    )
    resolved_by = models.CharField(_("处理人"), max_length=150, blank=True)
    resolved_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    note = models.TextField(_("说明"), blank=True)

    objects = DataCorrectionQuerySet.as_manager()

    class Meta:
        ordering = ["status", "-reported_at"]
        verbose_name = _("资料更正任务")
        verbose_name_plural = _("资料更正任务")
        constraints = [
            models.UniqueConstraint(
                fields=["task"],
                condition=models.Q(status="open"),
                name="one_open_correction_per_task",
            )
        ]

    def __str__(self) -> str:
        return f"{self.task_id} {self.status}"


class QuestionnaireLink(models.Model):
    """A one-time, expiring e-questionnaire link (EXE-6); only the token's SHA-256 is kept."""

    task = models.ForeignKey(
        "callbacks.Task", on_delete=models.PROTECT, db_constraint=False, related_name="+"
    )
    token_sha256 = models.CharField(max_length=64, unique=True)
    channel = models.CharField(_("发送方式"), max_length=8, choices=LinkChannel.choices)
    address_masked = models.CharField(_("发送地址"), max_length=100)
    created_by = models.CharField(_("发送人"), max_length=150)
    created_at = models.DateTimeField(_("创建时间"))
    expires_at = models.DateTimeField(_("失效时间"))
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    send_error = models.TextField(_("发送错误"), blank=True)
    used_at = models.DateTimeField(_("使用时间"), null=True, blank=True)
    used_ip = models.CharField(_("IP"), max_length=64, blank=True)
    used_device = models.CharField(_("设备"), max_length=300, blank=True)
    revoked_at = models.DateTimeField(_("作废时间"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("电子问卷链接")
        verbose_name_plural = _("电子问卷链接")

    def __str__(self) -> str:
        return f"{self.task_id} {self.channel} {self.created_at:%Y-%m-%d}"


def answer_value(answers: dict[str, Any], item_id: str) -> Any:
    """The value given for ``item_id`` (``None`` when unanswered)."""
    entry = answers.get(item_id)
    return entry.get("value") if isinstance(entry, dict) else entry
