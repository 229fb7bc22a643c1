"""Monthly closings (REV-3) and branch evaluations (REV-4, ISS-5).

- ``MonthlyClosing``: a branch submits last month's signed records to HQ within the
  first 10 working days (004 §15). The row fixes what was submitted: how many
  records and a SHA-256 over their numbers and signed-content hashes. Rows are
  append-only (database triggers): a later correction is a new row flagged
  ``correction`` that points at the row it supersedes; whether the month was closed
  on time is decided by the first submission alone.
- ``Evaluation``: HQ's evaluation of one branch for one period (004 §6, §16; 002 §18):
  each criterion's score with the raw figures it came from, the weighted total,
  the responsible agents' part, and when it was published against its due date.
  A draft may be recomputed; a published evaluation never changes.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from huifang.core.scope import BranchScopedQuerySet


class MonthlyClosingQuerySet(BranchScopedQuerySet["MonthlyClosing"]):
    branch_field = "branch"

    def firsts(self) -> MonthlyClosingQuerySet:
        """The first submission of each branch and month (the one that counts for REV-3)."""
        return self.filter(correction=False)


class MonthlyClosing(models.Model):
    """月度回访记录报送 (REV-3): one submission of a branch's signed records of one month.

    ``records_sha256`` is the SHA-256 of the lines ``"{number}\\t{content_sha256}\\n"`` of
    the branch's signed branch-level records of the month, sorted by number (see
    ``closing.records_digest``); anyone can recompute it from the ledger.
    """

    branch = models.ForeignKey(
        "org.Unit", verbose_name=_("营业部"), on_delete=models.PROTECT, db_constraint=False,
        related_name="+",
    )  # fmt: skip
    month = models.CharField(_("所属月份"), max_length=7)  # YYYY-MM
    window_end = models.DateField(_("报送截止日"))
    submitted_at = models.DateTimeField(_("报送时间"))
    submitted_by = models.CharField(_("报送人"), max_length=150)
    record_count = models.PositiveIntegerField(_("记录数"))
    records_sha256 = models.CharField(_("记录清单SHA-256"), max_length=64)
    late = models.BooleanField(_("逾期"))
    correction = models.BooleanField(_("更正报送"), default=False)
    supersedes = models.ForeignKey(
        "self", verbose_name=_("更正的报送"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    note = models.TextField(_("说明"), blank=True)

    objects = MonthlyClosingQuerySet.as_manager()

    class Meta:
        ordering = ["-month", "branch", "submitted_at", "id"]
        verbose_name = _("月度报送")
        verbose_name_plural = _("月度报送")
        constraints = [
            models.UniqueConstraint(
                fields=["branch", "month"],
                condition=models.Q(correction=False),
                name="one_first_closing_per_branch_month",
            )
        ]
        indexes = [models.Index(fields=["month", "branch"])]

    def __str__(self) -> str:
        return f"{self.branch_id} {self.month}{' (更正)' if self.correction else ''}"


class EvaluationQuerySet(BranchScopedQuerySet["Evaluation"]):
    branch_field = "branch"

    def published(self) -> EvaluationQuerySet:
        return self.filter(published_at__isnull=False)

    def drafts(self) -> EvaluationQuerySet:
        return self.filter(published_at__isnull=True)


class Evaluation(models.Model):
    """营业部回访工作考核 (REV-4): one branch, one period, scores by criterion and a total.

    ``scores`` maps each criterion to ``{"weight", "score", "figures"}`` (``score`` is
    a percentage, ``null`` when the period gave nothing to count); ``agents`` is a
    list of ``{"staff_id", "name", "score", "figures"}``, the responsible agents'
    part. ``as_of`` is the day the figures were counted on: work due up to the day
    before it (at most ``period_end``) counts. ``weights`` are the weights used.
    """

    period = models.CharField(_("考核期间"), max_length=16)
    period_start = models.DateField(_("期间开始"))
    period_end = models.DateField(_("期间结束"))
    branch = models.ForeignKey(
        "org.Unit", verbose_name=_("营业部"), on_delete=models.PROTECT, db_constraint=False,
        related_name="+",
    )  # fmt: skip
    as_of = models.DateField(_("数据截至"))
    weights = models.JSONField(_("权重"), default=dict)
    scores = models.JSONField(_("各项得分"), default=dict)
    total = models.DecimalField(_("总分"), max_digits=5, decimal_places=1, null=True, blank=True)
    agents = models.JSONField(_("回访人员考核"), default=list, blank=True)
    computed_at = models.DateTimeField(_("计算时间"))
    computed_by = models.CharField(_("计算人"), max_length=150)
    publish_due = models.DateField(_("应发布日期"), null=True, blank=True)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    published_by = models.CharField(_("发布人"), max_length=150, blank=True)
    published_late = models.BooleanField(_("逾期发布"), default=False)

    objects = EvaluationQuerySet.as_manager()

    class Meta:
        ordering = ["-period_end", "period", "branch"]
        verbose_name = _("营业部考核")
        verbose_name_plural = _("营业部考核")
        constraints = [
            models.UniqueConstraint(fields=["period", "branch"], name="uniq_evaluation_period")
        ]

    def __str__(self) -> str:
        return f"{self.period} {self.branch_id}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    def score_rows(self) -> list[dict[str, Any]]:
        """The criteria in display order, each with its code."""
        from huifang.evaluation.choices import Criterion

        return [
            {"code": code, "label": label, **self.scores[code]}
            for code, label in Criterion.choices
            if code in self.scores
        ]
