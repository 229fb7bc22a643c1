from django.db import models
from django.utils.translation import gettext_lazy as _


class BatchStatus(models.TextChoices):
    RUNNING = "running", _("导入中")
    COMMITTED = "committed", _("已导入")
    REJECTED = "rejected", _("已拒绝")
    REPLACED = "replaced", _("已被替换")
    FAILED = "failed", _("失败")


class ArchiveState(models.TextChoices):
    NONE = "none", _("无")
    STAGED = "staged", _("待发布")
    PUBLISHED = "published", _("已发布")
