from django.apps import AppConfig


class FeedsConfig(AppConfig):
    name = "huifang.feeds"
    label = "feeds"
    verbose_name = "数据导入"
