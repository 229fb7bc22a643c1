from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("huifang.accounts.urls")),
    path("", include("huifang.clients.urls")),
    path("feeds/", include("huifang.feeds.urls")),
    path("calendar/", include("huifang.calendars.urls")),
    path("policy/", include("huifang.policy.urls")),
    path("", include("huifang.classification.urls")),
    path("callbacks/", include("huifang.callbacks.urls")),
    path("api/", include("huifang.api.urls")),
    path("workbench/", include("huifang.workbench.urls")),
    path("q/", include("huifang.workbench.public_urls")),
    path("issues/", include("huifang.issues.urls")),
    path("orders/", include("huifang.orders.urls")),
    path("evaluation/", include("huifang.evaluation.urls")),
    path("reports/", include("huifang.reports.urls")),
    path("evidence-pack/", include("huifang.evidencepack.urls")),
]
