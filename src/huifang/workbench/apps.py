from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_save


def _forget_memo(**_kwargs: Any) -> None:
    """A questionnaire installed now (a new version, an order's SPC-1 form) is read at once."""
    from huifang.core import memo

    memo.clear()


class WorkbenchConfig(AppConfig):
    name = "huifang.workbench"
    label = "workbench"
    verbose_name = "回访工作台"

    def ready(self) -> None:
        post_save.connect(_forget_memo, sender="workbench.Questionnaire", dispatch_uid="wb-memo")
