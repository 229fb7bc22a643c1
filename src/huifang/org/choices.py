"""Codes of the organisation feeds (SPEC §1)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class UnitKind(models.TextChoices):
    """``unit_kind``: branches and head-office units share one table."""

    BRANCH = "branch", _("营业部")
    CALL_CENTER = "call_center", _("总部客户服务中心")
    CREDIT = "credit", _("信用交易部")
    MARKET = "market", _("市场部")
    IB_QC = "ib_qc", _("投行质控部")
    DEPARTMENT = "department", _("职能部门")
    COMPLIANCE = "compliance", _("合规部")


class Position(models.TextChoices):
    """``position`` of a staff member; the first three form the marketing sequence (CON-2)."""

    MARKETING = "marketing", _("营销人员")
    BROKER = "broker", _("证券经纪人")
    ADVISER = "adviser", _("理财服务人员")
    SERVICE = "service", _("客户服务人员")
    AGENT = "agent", _("回访专员")
    OPS = "ops", _("营运")
    MANAGER = "manager", _("负责人")
    OTHER = "other", _("其他")


MARKETING_SEQUENCE = frozenset({Position.MARKETING, Position.BROKER, Position.ADVISER})
