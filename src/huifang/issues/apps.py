"""问题与投诉 (SPEC §7, issue 8)."""

from django.apps import AppConfig


class IssuesConfig(AppConfig):
    name = "huifang.issues"
    label = "issues"
    verbose_name = "问题与投诉"

    def ready(self) -> None:
        from django.core.signals import request_started

        from huifang.issues import ticker

        request_started.connect(ticker.on_request, dispatch_uid="huifang.issues.ticker")
