"""Codes of the workbench (SPEC §5, §6): methods, attempt outcomes, evidence kinds, record states."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Method(models.TextChoices):
    """EXE-1: how a callback is made (the policy's ``methods`` use the same codes)."""

    PHONE = "phone", _("电话")
    VISIT = "visit", _("上门拜访")
    MEETING = "meeting", _("座谈会")
    LETTER = "letter", _("信函")
    EMAIL = "email", _("电子邮件")
    SMS = "sms", _("短信")
    QUESTIONNAIRE = "questionnaire", _("电子问卷")
    WECHAT = "wechat", _("微信")


class Outcome(models.TextChoices):
    """EXE-3: the outcome of one try."""

    CONNECTED = "connected", _("已接通")
    NO_ANSWER = "no_answer", _("无人接听")
    BUSY = "busy", _("占线")
    WRONG_NUMBER = "wrong_number", _("号码错误")
    REFUSED = "refused", _("拒绝回访")
    CALL_BACK_LATER = "call_back_later", _("约定稍后回访")


FAILED_OUTCOMES = frozenset(
    {Outcome.NO_ANSWER, Outcome.BUSY, Outcome.WRONG_NUMBER, Outcome.REFUSED}
)


class EvidenceKind(models.TextChoices):
    """EXE-2: what is kept as the trace (留痕) of a callback."""

    RECORDING = "recording", _("通话录音")
    CALL_ID = "call_id", _("呼叫中心录音编号")
    SIGNED_RECORD = "signed_record", _("客户与员工签字/盖章的记录扫描件")
    REPLY_LETTER = "reply_letter", _("客户签字回函")
    POSTAL_RECEIPT = "postal_receipt", _("邮寄回执")
    ENVELOPE = "envelope", _("信封")
    EMAIL_COPY = "email_copy", _("往来邮件打印件")
    SMS_LOG = "sms_log", _("短信及回复记录")
    QUESTIONNAIRE_ANSWERS = "questionnaire_answers", _("电子问卷答卷(时间、IP、设备)")
    CHAT_LOG = "chat_log", _("微信记录")
    VIDEO = "video", _("音视频")
    OTHER = "other", _("其他")


class RecordStatus(models.TextChoices):
    """EXE-5: a record is drafted, signed by the agent, then by the leader; service records archived."""

    DRAFT = "draft", _("草稿")
    AGENT_SIGNED = "agent_signed", _("回访人已签字")
    SIGNED = "signed", _("负责人已签字")
    ARCHIVED = "archived", _("已归档")


class FindingKind(models.TextChoices):
    """EXE-4: needs, suggestions and problems captured as structured items (ISS-1 routes them)."""

    NEED = "need", _("需求")
    SUGGESTION = "suggestion", _("建议")
    PROBLEM = "problem", _("问题")


class FindingCategory(models.TextChoices):
    """What a need, suggestion or problem is about; the issue routing table (ISS-1) keys on it."""

    ACCOUNT = "account", _("账户与资料")
    TRADING = "trading", _("交易与系统")
    PRODUCT = "product", _("产品销售")
    STAFF_CONDUCT = "staff_conduct", _("员工执业行为")
    FEES = "fees", _("佣金与费用")
    RESEARCH = "research", _("研究与咨询")
    SERVICE = "service", _("客户服务")
    MARGIN = "margin", _("融资融券")
    COMPLAINT = "complaint", _("投诉")
    OTHER = "other", _("其他")


class ReviewReason(models.TextChoices):
    """REV-1/REV-2: why a record is in a reviewer's queue."""

    SAMPLE = "sample", _("10%抽检")
    PROBLEM = "problem", _("发现问题")
    UNREACHABLE = "unreachable", _("无法联系结案")
    BANNED_PHRASE = "banned_phrase", _("疑似服务忌语")
    COMPANY_SPOT_CHECK = "company_spot_check", _("总部抽检营业部")


class ReviewStatus(models.TextChoices):
    PENDING = "pending", _("待复核")
    PASSED = "passed", _("复核通过")
    FINDINGS = "findings", _("发现问题,已退回")
    APPROVED = "approved", _("批准无法联系结案")
    REJECTED = "rejected", _("不批准结案")


class LinkChannel(models.TextChoices):
    SMS = "sms", _("短信")
    EMAIL = "email", _("电子邮件")


class CorrectionStatus(models.TextChoices):
    OPEN = "open", _("待更正")
    DONE = "done", _("已更正")
