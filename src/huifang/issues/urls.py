"""The screens of issues under /issues/ (SPEC §7)."""

from django.urls import path

from huifang.issues import views

app_name = "issues"
urlpatterns = [
    path("", views.IssueListView.as_view(), name="list"),
    path("inbox/", views.IssueInboxView.as_view(), name="inbox"),
    path("register/", views.IssueRegisterView.as_view(), name="register"),
    path("routing/", views.RoutingView.as_view(), name="routing"),
    path("<int:pk>/", views.IssueDetailView.as_view(), name="detail"),
    path("<int:pk>/answer/", views.IssueAnswerView.as_view(), name="answer"),
    path("<int:pk>/feedback/", views.IssueFeedbackView.as_view(), name="feedback"),
    path("<int:pk>/close/", views.IssueCloseView.as_view(), name="close"),
    path("<int:pk>/route/", views.IssueRouteView.as_view(), name="route"),
    path("<int:pk>/reassign/", views.IssueReassignView.as_view(), name="reassign"),
]
