from django.apps import AppConfig


class CallbacksConfig(AppConfig):
    name = "huifang.callbacks"
    label = "callbacks"
    verbose_name = "回访"

    def ready(self) -> None:
        from huifang.audit.services import ChangeSetSpec, register_changeset

        # ``audit verify`` re-hashes each nightly run's task events (NFR-2).
        register_changeset(
            ChangeSetSpec(
                "callbacks.TaskEvent",
                (
                    "id",
                    "run_id",
                    "task_id",
                    "event",
                    "staff_id",
                    "detail",
                    "business_date",
                    "actor",
                ),
            )
        )
