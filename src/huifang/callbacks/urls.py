from django.urls import path

from huifang.callbacks.views import (
    PlanDetailView,
    PlanListView,
    TaskDetailView,
    TaskListView,
    VerificationListView,
    VerificationUploadView,
)

app_name = "callbacks"
urlpatterns = [
    path("plans/", PlanListView.as_view(), name="plans"),
    path("plans/<int:pk>/", PlanDetailView.as_view(), name="plan"),
    path("tasks/", TaskListView.as_view(), name="tasks"),
    path("tasks/<int:pk>/", TaskDetailView.as_view(), name="task"),
    path("verification/", VerificationListView.as_view(), name="verification"),
    path("verification/upload/", VerificationUploadView.as_view(), name="verification_upload"),
]
