from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "huifang.core"
    label = "core"
    verbose_name = "核心"

    def ready(self) -> None:
        from huifang.core import checks  # noqa: F401 - registers the platform checks
