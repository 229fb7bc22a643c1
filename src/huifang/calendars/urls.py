from django.urls import path

from huifang.calendars.views import CalendarUploadView, CalendarYearListView

app_name = "calendars"
urlpatterns = [
    path("", CalendarYearListView.as_view(), name="index"),
    path("load/", CalendarUploadView.as_view(), name="load"),
]
