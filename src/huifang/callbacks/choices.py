"""Codes of plans, tasks and their events (SPEC §4, §12)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.TextChoices):
    """CON-6: company-level (call center) or branch-level callbacks."""

    COMPANY = "company", _("公司级")
    BRANCH = "branch", _("营业部级")


class TaskKind(models.TextChoices):
    """Compliance callbacks (回访专员) or service callbacks (客户服务人员)."""

    COMPLIANCE = "compliance", _("合规回访")
    SERVICE = "service", _("服务回访")


class TaskStatus(models.TextChoices):
    """SPEC §12 ``tasks`` export statuses."""

    OPEN = "open", _("待分配")
    ASSIGNED = "assigned", _("已分配")
    IN_PROGRESS = "in_progress", _("进行中")
    SIGNED = "signed", _("已签署")
    REVIEWED = "reviewed", _("已复核")
    UNREACHABLE = "unreachable", _("无法联系")
    CANCELLED = "cancelled", _("已取消")


OPEN_STATUSES = (TaskStatus.OPEN, TaskStatus.ASSIGNED, TaskStatus.IN_PROGRESS)


class TaskEventKind(models.TextChoices):
    """What happened to a task (the append-only history, one change set per run)."""

    CREATED = "created", _("创建")
    PURPOSE_ADDED = "purpose_added", _("合并回访目的")
    ASSIGNED = "assigned", _("分配")
    REASSIGNED = "reassigned", _("离职改派")
    UNASSIGNED = "unassigned", _("无可分配人员")
    OVERDUE = "overdue", _("逾期")


class RunStatus(models.TextChoices):
    RUNNING = "running", _("运行中")
    DONE = "done", _("完成")
