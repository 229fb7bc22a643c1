from django.urls import path

from huifang.classification.views import (
    AdviserBranchListView,
    AdviserBranchView,
    ClassificationRunListView,
    ClientClassRateView,
    VisitRecordView,
)

app_name = "classification"
urlpatterns = [
    path("classes/runs/", ClassificationRunListView.as_view(), name="runs"),
    path("classes/rate/<str:client_id>/", ClientClassRateView.as_view(), name="rate"),
    path("classes/visit/<str:client_id>/", VisitRecordView.as_view(), name="visit"),
    path("advisers/", AdviserBranchListView.as_view(), name="branches"),
    path("advisers/<str:branch_code>/", AdviserBranchView.as_view(), name="advisers"),
]
