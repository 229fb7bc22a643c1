"""Our own calendar table (NFR-1): later years, and corrections that win over the packages."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CalendarDay(models.Model):
    """One date as the State Council and the exchange published it."""

    date = models.DateField(_("日期"), primary_key=True)
    is_working_day = models.BooleanField(_("工作日"))
    is_trading_day = models.BooleanField(_("交易日"))
    note = models.CharField(_("说明"), max_length=100, blank=True)
    loaded_at = models.DateTimeField(_("载入时间"), auto_now=True)
    loaded_by = models.CharField(_("载入人"), max_length=150, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("日历日")
        verbose_name_plural = _("日历日")

    def __str__(self) -> str:
        return self.date.isoformat()
