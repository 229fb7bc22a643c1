"""Client codes of SPEC §1."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ClientType(models.TextChoices):
    INDIVIDUAL = "individual", _("个人")
    INSTITUTION = "institution", _("机构")


class ClientStatus(models.TextChoices):
    NORMAL = "normal", _("正常")
    DORMANT = "dormant", _("休眠")
    FROZEN = "frozen", _("冻结")
    CLOSED = "closed", _("销户")


class IdType(models.TextChoices):
    ID_CARD = "id_card", _("居民身份证")
    PASSPORT = "passport", _("护照")
    HK_MACAU_PERMIT = "hk_macau_permit", _("港澳居民来往内地通行证")
    TAIWAN_PERMIT = "taiwan_permit", _("台湾居民来往大陆通行证")
    BUSINESS_LICENSE = "business_license", _("统一社会信用代码")
    OTHER = "other", _("其他")


class Gender(models.TextChoices):
    M = "M", _("男")
    F = "F", _("女")


class RiskLevel(models.TextChoices):
    C1 = "C1", "C1"
    C2 = "C2", "C2"
    C3 = "C3", "C3"
    C4 = "C4", "C4"
    C5 = "C5", "C5"


class ProductRiskLevel(models.TextChoices):
    R1 = "R1", "R1"
    R2 = "R2", "R2"
    R3 = "R3", "R3"
    R4 = "R4", "R4"
    R5 = "R5", "R5"


class ProductType(models.TextChoices):
    TRUST = "trust", _("信托")
    FUND_SPECIAL_ACCOUNT = "fund_special_account", _("基金专户")
    PRIVATE_FUND = "private_fund", _("私募基金")
    ASSET_MANAGEMENT = "asset_management", _("资产管理计划")
    PUBLIC_FUND = "public_fund", _("公募基金")
    OTHER = "other", _("其他")


class MarginEventType(models.TextChoices):
    CREDIT_APPLICATION = "credit_application", _("融资融券申请")
    CREDIT_ACCOUNT_OPENED = "credit_account_opened", _("信用账户开立")
    MARGIN_CALL = "margin_call", _("追加担保物")
    MARGIN_CALL_RESOLVED = "margin_call_resolved", _("追保解除")
    FORCED_LIQUIDATION = "forced_liquidation", _("强制平仓")
    UNDERLYING_MAJOR_EVENT = "underlying_major_event", _("标的证券重大事件")
    RISK_DISCLOSURE = "risk_disclosure", _("风险揭示")
    ABNORMAL_TRADE = "abnormal_trade", _("异常交易")
    CREDIT_CHANGE = "credit_change", _("授信变更")
    COMPLAINT = "complaint", _("投诉")


class AccountEventType(models.TextChoices):
    LARGE_ASSET_CHANGE = "large_asset_change", _("大额资产变动")
    ACCOUNT_CLOSED = "account_closed", _("销户")
    PASSWORD_RESET = "password_reset", _("清密")
    NEW_BUSINESS_OPENED = "new_business_opened", _("新开业务")
    AGENT_CHANGED = "agent_changed", _("代理人变更")
    AGREEMENT_SIGNED = "agreement_signed", _("签署协议")


class FlowKind(models.TextChoices):
    DEPOSIT = "deposit", _("银证转入")
    WITHDRAW = "withdraw", _("银证转出")
    CUSTODY_IN = "custody_in", _("转托管转入")
    CUSTODY_OUT = "custody_out", _("转托管转出")
    DESIGNATE_IN = "designate_in", _("指定交易转入")
    DESIGNATE_OUT = "designate_out", _("指定交易撤出")
