"""Roles and data scopes of SPEC §0."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    AGENT = "agent", _("回访专员")
    REVIEWER = "reviewer", _("复核员")
    BRANCH_OPS = "branch_ops", _("营业部营运总监")
    BRANCH_MARKETING = "branch_marketing", _("营业部营销总监")
    BRANCH_MANAGER = "branch_manager", _("营业部负责人")
    ADVISER = "adviser", _("理财服务人员")
    REGIONAL = "regional", _("分公司督导")
    HQ_SERVICE = "hq_service", _("总部客户服务中心")
    DEPARTMENT = "department", _("总部职能部门")
    COMPLIANCE = "compliance", _("合规/风控")
    ADMIN = "admin", _("系统管理员")


class ScopeKind(models.TextChoices):
    BRANCH = "branch", _("本机构")
    REGION = "region", _("本分公司")
    ALL = "all", _("全公司")


# Roles whose natural scope is the whole company (SPEC §0: "HQ roles see all").
HQ_ROLES = frozenset({Role.HQ_SERVICE, Role.DEPARTMENT, Role.COMPLIANCE, Role.ADMIN})
# Roles that may see a client's full ID number or mobile after giving a reason (CLI-4).
PII_REVEAL_ROLES = frozenset(
    {Role.AGENT, Role.BRANCH_OPS, Role.BRANCH_MANAGER, Role.HQ_SERVICE, Role.COMPLIANCE}
)
