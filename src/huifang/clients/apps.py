from django.apps import AppConfig


class ClientsConfig(AppConfig):
    name = "huifang.clients"
    label = "clients"
    verbose_name = "客户档案"
