"""The screens of evaluation under /evaluation/ (REV-3, REV-4, REV-5, RPT-3)."""

from django.urls import path

from huifang.evaluation import views

app_name = "evaluation"
urlpatterns = [
    path("", views.EvaluationListView.as_view(), name="list"),
    path("compute/", views.EvaluationComputeView.as_view(), name="compute"),
    path("publish/", views.EvaluationPublishView.as_view(), name="publish"),
    path("<int:pk>/", views.EvaluationDetailView.as_view(), name="detail"),
    path("closing/", views.ClosingBranchView.as_view(), name="closing"),
    path("closing/submit/", views.ClosingSubmitView.as_view(), name="closing_submit"),
    path("closing/hq/", views.ClosingOverviewView.as_view(), name="closing_hq"),
    path("scorecards/", views.ScorecardView.as_view(), name="scorecards"),
]
