"""The calendar upload form (NFR-1)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

MAX_CALENDAR_BYTES = 1024 * 1024  # a year is ~15 KB; anything near this is not a calendar


class CalendarUploadForm(forms.Form):
    """A CSV ``date,is_working_day,is_trading_day,note`` with whole years."""

    file = forms.FileField(
        label=_("日历文件 (CSV)"),
        help_text=_("UTF-8 编码，表头 date,is_working_day,is_trading_day,note；每个年份须完整"),
    )

    file_name = "calendar.csv"

    def clean_file(self) -> bytes:
        """The file's bytes; its name is kept in ``file_name`` for the problem report."""
        upload = self.cleaned_data["file"]
        if upload.size > MAX_CALENDAR_BYTES:
            raise forms.ValidationError(_("文件过大，日历文件不应超过 1 MB"))
        self.file_name = upload.name or self.file_name
        return bytes(upload.read())
