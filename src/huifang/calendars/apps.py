from django.apps import AppConfig


class CalendarsConfig(AppConfig):
    name = "huifang.calendars"
    label = "calendars"
    verbose_name = "工作日历"
