from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "huifang.orders"
    label = "orders"
    verbose_name = "专项回访与回访计划"
