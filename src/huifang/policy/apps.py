from django.apps import AppConfig


class PolicyConfig(AppConfig):
    name = "huifang.policy"
    label = "policy"
    verbose_name = "回访与分类制度"
