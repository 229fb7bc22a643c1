from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "huifang.accounts"
    label = "accounts"
    verbose_name = "用户与角色"

    def ready(self) -> None:
        from huifang.accounts import checks, signals  # noqa: F401 - registers receivers and checks
