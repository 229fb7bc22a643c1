"""Codes of issues (SPEC §7): where an issue comes from, its kind, its status and its steps."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Source(models.TextChoices):
    """ISS-1 (a callback finding) or ISS-6 (a complaint or inquiry registered from any channel)."""

    FINDING = "finding", _("回访发现")
    COMPLAINT = "complaint", _("投诉")
    INQUIRY = "inquiry", _("咨询")


class Channel(models.TextChoices):
    """ISS-6: complaints come from any channel."""

    CALLBACK = "callback", _("回访")
    PHONE = "phone", _("电话")
    COUNTER = "counter", _("柜台")
    EMAIL = "email", _("电子邮件")
    LETTER = "letter", _("信函")
    ONLINE = "online", _("网上")
    REGULATOR = "regulator", _("监管转办")


class IssueKind(models.TextChoices):
    """The finding kinds of EXE-4 plus complaint and inquiry (ISS-6)."""

    PROBLEM = "problem", _("问题")
    NEED = "need", _("需求")
    SUGGESTION = "suggestion", _("建议")
    COMPLAINT = "complaint", _("投诉")
    INQUIRY = "inquiry", _("咨询")


class IssueStatus(models.TextChoices):
    """open (waiting for a department) → routed → answered → feedback → closed."""

    OPEN = "open", _("待分派")
    ROUTED = "routed", _("已分派")
    ANSWERED = "answered", _("已答复")
    FEEDBACK = "feedback", _("反馈中")
    CLOSED = "closed", _("已办结")


class StepKind(models.TextChoices):
    """One line of an issue's append-only log."""

    REGISTERED = "registered", _("登记")
    ROUTED = "routed", _("分派")
    REASSIGNED = "reassigned", _("转交")
    ANSWERED = "answered", _("部门答复")
    FEEDBACK_BRANCH = "feedback_branch", _("反馈营业部负责人")
    FEEDBACK_AGENT = "feedback_agent", _("反馈回访人/经办人")
    FEEDBACK_CLIENT = "feedback_client", _("反馈客户")
    CLOSED = "closed", pgettext_lazy("issue status", "办结")
    WARNED = "warned", _("到期预警")
    ESCALATED = "escalated", _("超时升级")


# ISS-3: the answer goes back to all three before the issue may close.
FEEDBACK_STEPS = (StepKind.FEEDBACK_BRANCH, StepKind.FEEDBACK_AGENT, StepKind.FEEDBACK_CLIENT)


class Escalation(models.IntegerChoices):
    """ISS-5: a breach escalates to the department head, then to compliance."""

    NONE = 0, _("未升级")
    DEPARTMENT_HEAD = 1, _("部门负责人")
    COMPLIANCE = 2, _("合规部")
