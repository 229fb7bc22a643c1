"""Admin for our calendar table: read-only, loads go through ``calendar_load`` (NFR-1)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from huifang.calendars.models import CalendarDay


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    """Rows are changed by whole years only (page /calendar/ or ``huifang calendar load``):
    an edited or deleted row would leave a year incomplete or a trading day off work."""

    list_display = ("date", "is_working_day", "is_trading_day", "note", "loaded_at", "loaded_by")
    list_filter = ("is_working_day", "is_trading_day")
    date_hierarchy = "date"
    search_fields = ("note",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: CalendarDay | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: CalendarDay | None = None) -> bool:
        return False
