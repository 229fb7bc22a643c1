"""The default policy (SPEC §3 and §4) as version 1, approved, effective 2026-01-01, author "system".

The document is frozen beside this file (``0003_default_policy.json``); a test keeps it
equal to ``huifang.policy.defaults.default_document()``.
"""

from django.db import migrations


def install(apps, schema_editor):  # type: ignore[no-untyped-def]
    from huifang.core import clock
    from huifang.policy.install import frozen_default_document, install_document

    install_document(
        apps.get_model("policy", "Policy"),
        apps.get_model("policy", "PolicyVersion"),
        apps.get_model("policy", "Rule"),
        frozen_default_document(),
        now=clock.now(),
        note="默认制度，由数据迁移安装",
    )


class Migration(migrations.Migration):
    dependencies = [("policy", "0002_frozen_versions")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
