"""Codes of the monthly closing (REV-3) and the branch evaluation (REV-4)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ClosingState(models.TextChoices):
    """Where a branch stands with one month's closing (REV-3), as HQ sees it on a given day."""

    ON_TIME = "on_time", _("按时报送")
    LATE = "late", _("逾期报送")
    PENDING = "pending", _("待报送(报送期内)")
    MISSING = "missing", _("未报送(已过报送期)")
    NOT_DUE = "not_due", _("月份未结束")


class Criterion(models.TextChoices):
    """The criteria of a branch evaluation (REV-4, ISS-5), in the order the pages show them."""

    COVERAGE = "coverage", _("应回访完成率")
    TIMELINESS = "timeliness", _("回访及时率")
    REVIEW = "review", _("复核通过率")
    ISSUES = "issues", _("问题处理时限达标率")
    CLOSING = "closing", _("月结按时报送率")
