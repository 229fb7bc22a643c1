from django.apps import AppConfig


class EvidencepackConfig(AppConfig):
    name = "huifang.evidencepack"
    label = "evidencepack"
    verbose_name = "证据包"
