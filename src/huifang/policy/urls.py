from django.urls import path

from huifang.policy.views import (
    PolicyIndexView,
    PolicyRuleEditView,
    PolicyVersionApproveView,
    PolicyVersionDetailView,
    PolicyVersionDiffView,
    PolicyVersionDiscardView,
    PolicyVersionDraftView,
    PolicyVersionEditView,
)

app_name = "policy"
urlpatterns = [
    path("", PolicyIndexView.as_view(), name="index"),
    path("versions/<int:pk>/", PolicyVersionDetailView.as_view(), name="version"),
    path("versions/<int:pk>/diff/", PolicyVersionDiffView.as_view(), name="diff"),
    path("versions/<int:pk>/draft/", PolicyVersionDraftView.as_view(), name="draft"),
    path("versions/<int:pk>/edit/", PolicyVersionEditView.as_view(), name="edit"),
    path("versions/<int:pk>/approve/", PolicyVersionApproveView.as_view(), name="approve"),
    path("versions/<int:pk>/discard/", PolicyVersionDiscardView.as_view(), name="discard"),
    path("rules/<int:pk>/edit/", PolicyRuleEditView.as_view(), name="rule_edit"),
]
