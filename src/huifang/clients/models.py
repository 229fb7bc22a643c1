"""The client master (CLI-1), its change history (CLI-5) and the feed events kept relationally.

Personal data (CLI-4): the ID number, mobile, phone, e-mail and address are held
in ``pii``, one AES-GCM ciphertext per client (one encryption per row keeps the
import fast); ``id_number_hash`` and ``mobile_hash`` are keyed hashes for exact
search; ``id_number_masked`` and ``mobile_masked`` are the SPEC §12 masks, which
are not personal data, so lists and exports never decrypt.

Daily volumes (assets, flows, trades, commissions) live only in the Parquet
archive, where the nightly rules read them in DuckDB. Low-volume events that tasks
cite as facts (purchases, margin and account events) are also kept here.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from huifang.clients.choices import (
    AccountEventType,
    ClientStatus,
    ClientType,
    Gender,
    IdType,
    MarginEventType,
    ProductRiskLevel,
    ProductType,
    RiskLevel,
)
from huifang.core.fields import KeyField
from huifang.core.scope import BranchScopedQuerySet

# Order of the fields packed into ``Client.pii`` (see huifang.core.pii.pack).
PII_FIELDS = ("id_number", "mobile", "phone", "email", "address")


class ClientQuerySet(BranchScopedQuerySet["Client"]):
    branch_field = "branch"


class Client(models.Model):
    """客户: an individual or institution holding an account at a branch (CLI-1)."""

    client_id = KeyField(_("客户号"), max_length=32, primary_key=True)
    # Indexed for prefix search by migration 0003 (varchar_pattern_ops on PostgreSQL).
    name = models.CharField(_("姓名/名称"), max_length=200)
    client_type = models.CharField(_("客户类型"), max_length=16, choices=ClientType.choices)
    # The importer checks every reference in bulk; per-row FK triggers would only slow COPY.
    branch = models.ForeignKey(
        "org.Unit",
        verbose_name=_("营业部"),
        on_delete=models.PROTECT,
        db_constraint=False,
        db_index=False,  # the (branch, open_date) index serves
    )
    open_date = models.DateField(
        _("开户日期")
    )  # (branch, open_date) index; nightly rules use DuckDB
    fund_account = KeyField(_("资金账号"), max_length=32, blank=True, db_index=True)
    id_type = models.CharField(_("证件类型"), max_length=24, choices=IdType.choices, blank=True)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    gender = models.CharField(_("性别"), max_length=1, choices=Gender.choices, blank=True)
    postcode = models.CharField(_("邮编"), max_length=16, blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=ClientStatus.choices, default=ClientStatus.NORMAL
    )
    introducer = models.ForeignKey(
        "org.Staff",
        verbose_name=_("引荐人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_constraint=False,
        db_index=False,  # reverse look-ups run in DuckDB over the archive (DEP-1)
        related_name="introduced_clients",
    )
    broker = models.ForeignKey(
        "org.Staff",
        verbose_name=_("证券经纪人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_constraint=False,
        db_index=False,  # reverse look-ups run in DuckDB over the archive (DEP-1)
        related_name="brokered_clients",
    )
    adviser = models.ForeignKey(
        "org.Staff",
        verbose_name=_("理财服务人员"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_constraint=False,
        related_name="advised_clients",
    )
    risk_level = models.CharField(
        _("风险承受能力"), max_length=2, choices=RiskLevel.choices, blank=True
    )
    risk_assessed_on = models.DateField(_("风险测评日期"), null=True, blank=True)
    has_margin_account = models.BooleanField(_("信用账户"), default=False)
    credit_open_date = models.DateField(_("信用账户开立日期"), null=True, blank=True)
    online_trading = models.BooleanField(_("网上交易"), default=False)
    bank_transfer = models.BooleanField(_("银证转账"), default=False)
    agent_name = models.CharField(_("代理人"), max_length=100, blank=True)
    agent_scope = models.CharField(_("代理权限"), max_length=200, blank=True)
    agent_until = models.DateField(_("代理期限"), null=True, blank=True)
    close_date = models.DateField(_("销户日期"), null=True, blank=True)
    last_trade_date = models.DateField(_("最近交易日"), null=True, blank=True)
    advisory_contract = models.BooleanField(_("投顾签约"), default=False)

    pii = models.TextField(_("个人信息(密文)"), null=True, blank=True)  # noqa: DJ001 NULL = none held
    pii_digest = models.CharField(max_length=64, blank=True)
    id_number_hash = KeyField(max_length=64, blank=True, db_index=True)
    mobile_hash = KeyField(max_length=64, blank=True, db_index=True)
    id_number_masked = models.CharField(_("证件号码"), max_length=64, blank=True)
    mobile_masked = models.CharField(_("手机"), max_length=32, blank=True)

    created_batch = models.ForeignKey(
        "feeds.ImportBatch",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    updated_batch = models.ForeignKey(
        "feeds.ImportBatch",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )

    objects = ClientQuerySet.as_manager()

    class Meta:
        ordering = ["client_id"]
        verbose_name = _("客户")
        verbose_name_plural = _("客户")
        indexes = [models.Index(fields=["branch", "open_date"])]

    def __str__(self) -> str:
        return f"{self.client_id} {self.name}"


class ClientChangeQuerySet(BranchScopedQuerySet["ClientChange"]):
    branch_field = "client__branch"


class ClientChange(models.Model):
    """One changed field of a client (CLI-5): who, when, old, new and the source batch.

    Personal fields keep masked values only.
    """

    client = models.ForeignKey(
        Client, on_delete=models.PROTECT, db_constraint=False, related_name="changes"
    )
    field = models.CharField(_("字段"), max_length=64)
    old_value = models.TextField(_("原值"), blank=True)
    new_value = models.TextField(_("新值"), blank=True)
    effective_date = models.DateField(_("业务日期"))
    changed_at = models.DateTimeField(_("记录时间"))
    actor = models.CharField(_("操作人"), max_length=150)
    batch = models.ForeignKey(
        "feeds.ImportBatch", on_delete=models.PROTECT, null=True, blank=True, db_constraint=False
    )

    objects = ClientChangeQuerySet.as_manager()

    class Meta:
        ordering = ["-effective_date", "-id"]
        verbose_name = _("客户资料变更")
        verbose_name_plural = _("客户资料变更")
        indexes = [models.Index(fields=["client", "effective_date"])]

    def __str__(self) -> str:
        return f"{self.client_id} {self.field} {self.effective_date}"


class ClientEventQuerySet(BranchScopedQuerySet[models.Model]):
    branch_field = "client__branch"


class ProductPurchase(models.Model):
    """A purchase of a sold product (代销金融产品), the fact behind PROD-* callbacks."""

    purchase_id = KeyField(max_length=64, primary_key=True)
    client = models.ForeignKey(
        Client, on_delete=models.PROTECT, db_constraint=False, related_name="purchases"
    )
    product_code = models.CharField(max_length=32)
    product_name = models.CharField(max_length=200)
    product_type = models.CharField(max_length=32, choices=ProductType.choices)
    product_risk_level = models.CharField(max_length=2, choices=ProductRiskLevel.choices)
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    sales_staff = models.ForeignKey(
        "org.Staff",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_constraint=False,
        related_name="+",
    )
    purchase_time = models.DateTimeField(null=True, blank=True)
    has_third_party_adviser = models.BooleanField(default=False)
    amac_registered = models.BooleanField(default=False)
    business_date = models.DateField(db_index=True)
    batch = models.ForeignKey("feeds.ImportBatch", on_delete=models.PROTECT, db_constraint=False)

    objects = ClientEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("产品购买")
        verbose_name_plural = _("产品购买")

    def __str__(self) -> str:
        return f"{self.purchase_id} {self.client_id}"


class MarginEvent(models.Model):
    """A margin-trading event (MRG-*)."""

    event_id = KeyField(max_length=64, primary_key=True)
    client = models.ForeignKey(
        Client, on_delete=models.PROTECT, db_constraint=False, related_name="margin_events"
    )
    event_type = models.CharField(max_length=32, choices=MarginEventType.choices)
    security_code = models.CharField(max_length=16, blank=True)
    detail = models.TextField(blank=True)
    event_time = models.DateTimeField(null=True, blank=True)
    business_date = models.DateField(db_index=True)
    batch = models.ForeignKey(
        "feeds.ImportBatch", on_delete=models.PROTECT, null=True, db_constraint=False
    )

    objects = ClientEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("信用交易事件")
        verbose_name_plural = _("信用交易事件")

    def __str__(self) -> str:
        return f"{self.event_id} {self.client_id}"


class AccountEvent(models.Model):
    """An important account operation (SPC-2)."""

    event_id = KeyField(max_length=64, primary_key=True)
    client = models.ForeignKey(
        Client, on_delete=models.PROTECT, db_constraint=False, related_name="account_events"
    )
    event_type = models.CharField(max_length=32, choices=AccountEventType.choices)
    amount = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    detail = models.TextField(blank=True)
    event_time = models.DateTimeField(null=True, blank=True)
    staff = models.ForeignKey(
        "org.Staff",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_constraint=False,
        related_name="+",
    )
    business_date = models.DateField(db_index=True)
    batch = models.ForeignKey(
        "feeds.ImportBatch", on_delete=models.PROTECT, null=True, db_constraint=False
    )

    objects = ClientEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("账户事件")
        verbose_name_plural = _("账户事件")

    def __str__(self) -> str:
        return f"{self.event_id} {self.client_id}"
