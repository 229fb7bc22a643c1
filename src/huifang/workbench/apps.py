from django.apps import AppConfig


class WorkbenchConfig(AppConfig):
    name = "huifang.workbench"
    label = "workbench"
    verbose_name = "回访工作台"
