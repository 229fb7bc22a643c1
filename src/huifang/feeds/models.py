"""Import batches: one feed directory for one business date (SPEC §1)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from huifang.feeds.choices import ArchiveState, BatchStatus


class ImportBatch(models.Model):
    """One attempt to import a feed directory; at most one committed batch per date.

    ``archive_state`` lets a crashed import be finished or undone on the next run:
    a committed batch whose archive is still ``staged`` is published by recovery.
    """

    business_date = models.DateField(_("业务日期"), db_index=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=BatchStatus.choices, default=BatchStatus.RUNNING
    )
    archive_state = models.CharField(
        max_length=16, choices=ArchiveState.choices, default=ArchiveState.NONE
    )
    content_sha256 = models.CharField(_("内容摘要"), max_length=64)
    token = models.CharField(max_length=32, unique=True, help_text="names the archive staging area")
    replaces = models.ForeignKey(
        "self",
        verbose_name=_("替换批次"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    source = models.CharField(_("来源"), max_length=16, default="cli")
    encoding = models.CharField(_("编码"), max_length=16, blank=True)
    actor = models.CharField(_("操作人"), max_length=150)
    files = models.JSONField(_("文件"), default=dict)
    row_counts = models.JSONField(_("行数"), default=dict)
    error_count = models.PositiveIntegerField(_("错误数"), default=0)
    errors = models.TextField(_("错误(前 1000 条)"), blank=True)
    started_at = models.DateTimeField(_("开始时间"))
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    class Meta:
        ordering = ["-business_date", "-id"]
        verbose_name = _("导入批次")
        verbose_name_plural = _("导入批次")
        constraints = [
            models.UniqueConstraint(
                fields=["business_date"],
                condition=models.Q(status="committed"),
                name="one_committed_batch_per_date",
            )
        ]

    def __str__(self) -> str:
        return f"{self.business_date} #{self.pk} {self.status}"
