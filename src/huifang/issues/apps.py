from django.apps import AppConfig


class IssuesConfig(AppConfig):
    name = "huifang.issues"
    label = "issues"
    verbose_name = "问题与投诉"
