from django.apps import AppConfig


class ClassificationConfig(AppConfig):
    name = "huifang.classification"
    label = "classification"
    verbose_name = "客户分类"

    def ready(self) -> None:
        from huifang.audit.services import ChangeSetSpec, register_changeset

        # ``audit verify`` re-hashes each run's class changes (CLS-9, NFR-2).
        register_changeset(
            ChangeSetSpec(
                "classification.ClassChange",
                (
                    "id",
                    "run_id",
                    "client_id",
                    "scheme",
                    "old_class",
                    "new_class",
                    "reason",
                    "effective_date",
                    "policy_version_id",
                    "inputs",
                ),
            )
        )
