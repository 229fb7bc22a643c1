from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "huifang.accounts"
    label = "accounts"
    verbose_name = "用户与角色"
