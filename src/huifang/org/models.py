"""Regions, units (branches and head-office units) and staff (SPEC §0, §1).

Natural keys from the feeds are the primary keys, so the bulk importer writes
codes straight into foreign-key columns without a lookup.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from huifang.core.fields import KeyField
from huifang.core.scope import BranchScopedQuerySet
from huifang.org.choices import MARKETING_SEQUENCE, Position, UnitKind


class Region(models.Model):
    """分公司: a group of branches under one supervisor."""

    code = KeyField(_("分公司代码"), max_length=32, primary_key=True)
    name = models.CharField(_("名称"), max_length=200)

    class Meta:
        ordering = ["code"]
        verbose_name = _("分公司")
        verbose_name_plural = _("分公司")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class UnitQuerySet(BranchScopedQuerySet["Unit"]):
    branch_field = "code"


class Unit(models.Model):
    """A row of the ``branches`` feed: a branch or a head-office unit (``unit_kind``)."""

    code = KeyField(_("机构代码"), max_length=32, primary_key=True)
    name = models.CharField(_("名称"), max_length=200)
    region = models.ForeignKey(
        Region, verbose_name=_("分公司"), on_delete=models.PROTECT, null=True, blank=True
    )
    unit_kind = models.CharField(
        _("机构类型"), max_length=16, choices=UnitKind.choices, default=UnitKind.BRANCH
    )

    objects = UnitQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("机构")
        verbose_name_plural = _("机构")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def is_branch(self) -> bool:
        return self.unit_kind == UnitKind.BRANCH


class StaffQuerySet(BranchScopedQuerySet["Staff"]):
    branch_field = "unit"

    def active(self, on: object | None = None) -> StaffQuerySet:
        """Staff without a leave date, or leaving after ``on``."""
        if on is None:
            return self.filter(leave_date__isnull=True)
        return self.filter(models.Q(leave_date__isnull=True) | models.Q(leave_date__gt=on))


class Staff(models.Model):
    """A staff member (员工) of a unit, from the ``staff`` feed."""

    staff_id = KeyField(_("员工号"), max_length=32, primary_key=True)
    name = models.CharField(_("姓名"), max_length=100)
    unit = models.ForeignKey(
        Unit, verbose_name=_("所属机构"), on_delete=models.PROTECT, db_constraint=False
    )
    position = models.CharField(_("岗位"), max_length=16, choices=Position.choices)
    hire_date = models.DateField(_("入职日期"), null=True, blank=True)
    leave_date = models.DateField(_("离职日期"), null=True, blank=True)
    broker_cert_no = models.CharField(_("经纪人证书号"), max_length=64, blank=True)
    qualification = models.CharField(_("资格"), max_length=64, blank=True)
    phone = models.TextField(_("电话(密文)"), null=True, blank=True)  # noqa: DJ001 NULL = none held
    client = models.ForeignKey(
        "clients.Client",
        verbose_name=_("本人客户号"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_constraint=False,
        related_name="staff_self",
    )
    source_batch = models.ForeignKey(
        "feeds.ImportBatch", on_delete=models.PROTECT, null=True, blank=True, db_constraint=False
    )

    objects = StaffQuerySet.as_manager()

    class Meta:
        ordering = ["staff_id"]
        verbose_name = _("员工")
        verbose_name_plural = _("员工")
        indexes = [models.Index(fields=["unit", "position"])]

    def __str__(self) -> str:
        return f"{self.staff_id} {self.name}"

    @property
    def in_marketing_sequence(self) -> bool:
        """CON-2: marketing, broker and adviser staff never do compliance callbacks."""
        return self.position in MARKETING_SEQUENCE
