"""The screens of orders under /orders/ (issue 8)."""

from django.urls import path

from huifang.orders import views

app_name = "orders"
urlpatterns = [
    path("", views.OrderListView.as_view(), name="list"),
    path("new/", views.OrderCreateView.as_view(), name="new"),
    path("scorecards/", views.ScorecardView.as_view(), name="scorecards"),
    path("<int:pk>/", views.OrderDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.OrderEditView.as_view(), name="edit"),
    path("<int:pk>/targets/upload/", views.TargetUploadView.as_view(), name="upload"),
    path("<int:pk>/targets/filter/", views.TargetFilterView.as_view(), name="filter"),
    path("<int:pk>/targets/staff/", views.StaffPlanView.as_view(), name="staff_plan"),
    path("<int:pk>/issue/", views.OrderIssueView.as_view(), name="issue"),
    path("<int:pk>/close/", views.OrderCloseView.as_view(), name="close"),
    path("<int:pk>/progress/", views.OrderProgressView.as_view(), name="progress"),
]
