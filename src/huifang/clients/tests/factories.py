"""Factories for clients and their change history (factory_boy).

``ClientFactory`` takes the personal data as plain parameters (``id_number``,
``mobile``, ``phone``, ``email``, ``address``) and stores them the way the import
does: one ciphertext of ``pii.pack`` in ``Client.pii``, keyed hashes and masks.
``id_number`` defaults to a valid 18-character ID card number (GB 11643).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory

from huifang.clients.choices import (
    AccountEventType,
    ClientStatus,
    ClientType,
    IdType,
    MarginEventType,
    ProductRiskLevel,
    ProductType,
)
from huifang.clients.models import (
    PII_FIELDS,
    AccountEvent,
    Client,
    ClientChange,
    MarginEvent,
    ProductPurchase,
)
from huifang.core import pii
from huifang.org.tests.factories import UnitFactory

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_card_number(n: int, *, area: str = "110101", birth: dt.date = dt.date(1980, 1, 1)) -> str:
    """The ``n``-th valid ID card number (GB 11643 check character) for ``area`` and ``birth``."""
    body = f"{area}{birth:%Y%m%d}{n % 1000:03d}"
    check = _ID_CHECK[sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True)) % 11]
    return body + check


def mobile_number(n: int) -> str:
    """The ``n``-th mainland mobile number, ``13800000001`` …"""
    return f"138{n % 10**8:08d}"


def _pii_packed(o: object) -> str | None:
    return pii.pack([getattr(o, name) for name in PII_FIELDS])


class ClientFactory(factory.django.DjangoModelFactory):
    """An individual client ``K0000001`` … of a new branch, with encrypted PII."""

    class Meta:
        model = Client
        django_get_or_create = ("client_id",)

    class Params:
        id_number = factory.Sequence(lambda n: id_card_number(n + 1))
        mobile = factory.Sequence(lambda n: mobile_number(n + 1))
        phone = None
        email = None
        address = None

    client_id = factory.Sequence(lambda n: f"K{n + 1:07d}")
    name = factory.Sequence(lambda n: f"客户{n + 1}")
    client_type = ClientType.INDIVIDUAL
    branch = factory.SubFactory(UnitFactory)
    open_date = dt.date(2020, 3, 2)
    fund_account = factory.LazyAttribute(lambda o: "F" + o.client_id[1:])
    id_type = IdType.ID_CARD
    status = ClientStatus.NORMAL

    pii = factory.LazyAttribute(lambda o: pii.encrypt(_pii_packed(o)))
    pii_digest = factory.LazyAttribute(lambda o: pii.keyed_hash(_pii_packed(o)) or "")
    id_number_hash = factory.LazyAttribute(lambda o: pii.keyed_hash(o.id_number) or "")
    mobile_hash = factory.LazyAttribute(lambda o: pii.keyed_hash(o.mobile) or "")
    id_number_masked = factory.LazyAttribute(lambda o: pii.mask_id_number(o.id_number))
    mobile_masked = factory.LazyAttribute(lambda o: pii.mask_mobile(o.mobile))


class ClientChangeFactory(factory.django.DjangoModelFactory):
    """One changed field of a client (CLI-5); personal fields must be given masked."""

    class Meta:
        model = ClientChange

    client = factory.SubFactory(ClientFactory)
    field = "risk_level"
    old_value = "C2"
    new_value = "C3"
    effective_date = dt.date(2026, 10, 13)
    changed_at = factory.LazyFunction(
        lambda: dt.datetime(2026, 10, 13, 20, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    )
    actor = "import"


class ImportBatchFactory(factory.django.DjangoModelFactory):
    """A committed import batch, the source of feed events."""

    class Meta:
        model = "feeds.ImportBatch"

    business_date = factory.Sequence(lambda n: dt.date(2026, 1, 1) + dt.timedelta(days=n))
    status = "committed"
    content_sha256 = factory.Sequence(lambda n: f"{n:064x}")
    token = factory.Sequence(lambda n: f"{n:032x}")
    actor = "import"
    started_at = factory.LazyFunction(
        lambda: dt.datetime(2026, 10, 13, 20, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    )


class ProductPurchaseFactory(factory.django.DjangoModelFactory):
    """A purchase of a sold product (the fact behind PROD-* callbacks)."""

    class Meta:
        model = ProductPurchase

    purchase_id = factory.Sequence(lambda n: f"P{n + 1:07d}")
    client = factory.SubFactory(ClientFactory)
    product_code = "SF0001"
    product_name = "稳健一号集合资产管理计划"
    product_type = ProductType.ASSET_MANAGEMENT
    product_risk_level = ProductRiskLevel.R3
    amount = Decimal("300000.00")
    business_date = dt.date(2026, 10, 13)
    batch = factory.SubFactory(ImportBatchFactory)


class MarginEventFactory(factory.django.DjangoModelFactory):
    """A margin-trading event (MRG-*)."""

    class Meta:
        model = MarginEvent

    event_id = factory.Sequence(lambda n: f"M{n + 1:07d}")
    client = factory.SubFactory(ClientFactory)
    event_type = MarginEventType.MARGIN_CALL
    business_date = dt.date(2026, 10, 13)


class AccountEventFactory(factory.django.DjangoModelFactory):
    """An important account operation (SPC-2)."""

    class Meta:
        model = AccountEvent

    event_id = factory.Sequence(lambda n: f"A{n + 1:07d}")
    client = factory.SubFactory(ClientFactory)
    event_type = AccountEventType.PASSWORD_RESET
    business_date = dt.date(2026, 10, 13)
