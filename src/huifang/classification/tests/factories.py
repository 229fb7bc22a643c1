"""Factories for classification rows (factory_boy); the policy version is the default one."""

from __future__ import annotations

import datetime as dt

import factory

from huifang.classification.choices import ChangeReason, RatingKind
from huifang.classification.models import (
    AdviserAssignment,
    ClassChange,
    ClassificationRun,
    ClientClass,
    YearlyVisit,
)
from huifang.clients.tests.factories import ClientFactory
from huifang.org.choices import Position
from huifang.org.tests.factories import StaffFactory
from huifang.policy.services import policy_default_ensure

AT = dt.datetime(2026, 1, 5, 20, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


class ClassificationRunFactory(factory.django.DjangoModelFactory):
    """An annual rating of 2026 under the default policy."""

    class Meta:
        model = ClassificationRun

    kind = RatingKind.ANNUAL
    rating_date = dt.date(2026, 1, 5)
    statistical_date = dt.date(2025, 12, 31)
    commission_year = 2025
    period = "2026"
    policy_version = factory.LazyFunction(policy_default_ensure)
    actor = "system:classify"
    started_at = AT


class ClientClassFactory(factory.django.DjangoModelFactory):
    """A client's class under CLS-1."""

    class Meta:
        model = ClientClass

    client = factory.SubFactory(ClientFactory)
    scheme = "CLS-1"
    class_code = "core"
    since = dt.date(2026, 1, 5)
    run = factory.SubFactory(ClassificationRunFactory)
    policy_version = factory.SelfAttribute("run.policy_version")
    reason = ChangeReason.ANNUAL


class ClassChangeFactory(factory.django.DjangoModelFactory):
    """One change of class (CLS-9)."""

    class Meta:
        model = ClassChange

    client = factory.SubFactory(ClientFactory)
    run = factory.SubFactory(ClassificationRunFactory)
    scheme = "CLS-1"
    old_class = ""
    new_class = "core"
    reason = ChangeReason.ANNUAL
    effective_date = dt.date(2026, 1, 5)
    policy_version = factory.SelfAttribute("run.policy_version")
    inputs = '{"assets":300000.00}'


class AdviserAssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AdviserAssignment

    client = factory.SubFactory(ClientFactory)
    adviser = factory.SubFactory(
        StaffFactory, unit=factory.SelfAttribute("..client.branch"), position=Position.ADVISER
    )
    assigned_at = AT
    assigned_by = "manager"


class YearlyVisitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = YearlyVisit

    client = factory.SubFactory(ClientFactory)
    year = 2026
    visits = 1
    last_visited_on = dt.date(2026, 3, 2)
    last_visited_by = "adviser"
