"""Codes of orders (SPEC §4: SPC-1, PLAN-1, IB-1, MRG-8): which plan rule, and the order's state."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class OrderRule(models.TextChoices):
    """The plan rules an order gives purposes of (policy kind ``plan_callback``)."""

    SPC_1 = "SPC-1", _("专项回访(SPC-1)")
    PLAN_1 = "PLAN-1", _("其他回访计划(PLAN-1)")
    IB_1 = "IB-1", _("投行业务客户回访(IB-1)")
    MRG_8 = "MRG-8", _("督导回访·服务人员评分(MRG-8)")


class OrderStatus(models.TextChoices):
    """draft (targets being set) → issued (one purpose per target) → closed."""

    DRAFT = "draft", _("草稿")
    ISSUED = "issued", _("已下达")
    CLOSED = "closed", _("已结束")
