"""The default routing table (ISS-1) and the append-only issue log.

Categories map to the head-office units seeded by the synthetic organisation
(``huifang.synth.org.HQ_UNITS``); a deployment whose ``branches`` feed names other
codes has compliance edit the table. A unit that does not exist leaves the issue
unrouted (compliance's list), never dropped. ``issues_issuestep`` refuses UPDATE and
DELETE by trigger, like the workbench's append-only tables (NFR-2).
"""

from django.db import migrations

DEFAULT_ROUTES = {
    "account": "HQOP",  # 运营管理部
    "trading": "HQIT",  # 信息技术部
    "product": "HQPD",  # 产品部
    "staff_conduct": "HQCP",  # 合规部
    "fees": "HQRT",  # 零售业务部
    "research": "HQRT",
    "service": "HQCC",  # 总部客户服务中心
    "margin": "HQCR",  # 信用交易部
    "complaint": "HQCC",
    "other": "HQRT",
}
TABLES = ("issues_issuestep",)


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    RoutingRule = apps.get_model("issues", "RoutingRule")
    for category, unit in DEFAULT_ROUTES.items():
        RoutingRule.objects.get_or_create(category=category, defaults={"department_id": unit})


def unseed(apps, schema_editor):  # type: ignore[no-untyped-def]
    apps.get_model("issues", "RoutingRule").objects.filter(updated_at__isnull=True).delete()


def install(apps, schema_editor):  # type: ignore[no-untyped-def]
    from huifang.audit.triggers import install_sql

    for table in TABLES:
        for sql in install_sql(schema_editor.connection.vendor, table):
            schema_editor.execute(sql, params=None)


def remove(apps, schema_editor):  # type: ignore[no-untyped-def]
    from huifang.audit.triggers import drop_sql

    for table in TABLES:
        for sql in drop_sql(schema_editor.connection.vendor, table):
            schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("issues", "0001_initial"), ("audit", "0002_append_only_triggers")]
    operations = [migrations.RunPython(seed, unseed), migrations.RunPython(install, remove)]
