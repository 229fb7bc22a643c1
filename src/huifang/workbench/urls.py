"""The workbench screens under ``/workbench/`` (SPEC §5, §6)."""

from django.urls import path

from huifang.workbench import views

app_name = "workbench"
urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("next/", views.NextTaskView.as_view(), name="next"),
    path("returned/<int:pk>/acknowledge/", views.AcknowledgeView.as_view(), name="acknowledge"),
    path("task/<int:pk>/", views.TaskWorkView.as_view(), name="task"),
    path("task/<int:pk>/attempt/", views.AttemptView.as_view(), name="attempt"),
    path("task/<int:pk>/upload/", views.UploadView.as_view(), name="upload"),
    path("task/<int:pk>/call-id/", views.CallIdView.as_view(), name="call_id"),
    path("task/<int:pk>/answers/", views.AnswersView.as_view(), name="answers"),
    path("task/<int:pk>/unreachable/", views.UnreachableView.as_view(), name="unreachable"),
    path("task/<int:pk>/send-link/", views.SendLinkView.as_view(), name="send_link"),
    path("task/<int:pk>/sign/", views.SignView.as_view(), name="sign"),
    path("task/<int:pk>/release/", views.ReleaseView.as_view(), name="release"),
    path("task/<int:pk>/reassign/", views.ReassignView.as_view(), name="reassign"),
    path("evidence/<int:pk>/", views.EvidenceDownloadView.as_view(), name="evidence"),
    path("sign/", views.SignListView.as_view(), name="sign_list"),
    path("record/<int:pk>/", views.RecordView.as_view(), name="record"),
    path("record/<int:pk>/sign/", views.LeaderSignView.as_view(), name="leader_sign"),
    path("record/<int:pk>/archive/", views.ArchiveView.as_view(), name="archive"),
    path("record/<int:pk>/amend/", views.AmendView.as_view(), name="amend"),
    path("review/", views.ReviewListView.as_view(), name="reviews"),
    path("review/<int:pk>/", views.ReviewView.as_view(), name="review"),
    path("review/<int:pk>/decide/", views.ReviewDecideView.as_view(), name="review_decide"),
    path(
        "review/<int:pk>/unreachable/",
        views.ReviewUnreachableView.as_view(),
        name="review_unreachable",
    ),
    path("corrections/", views.CorrectionListView.as_view(), name="corrections"),
    path("corrections/<int:pk>/done/", views.CorrectionDoneView.as_view(), name="correction_done"),
]
