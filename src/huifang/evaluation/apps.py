from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "huifang.evaluation"
    label = "evaluation"
    verbose_name = "月结与考核"
