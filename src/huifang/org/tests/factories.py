"""Factories for regions, units and staff (factory_boy)."""

from __future__ import annotations

import factory

from huifang.org.choices import Position, UnitKind
from huifang.org.models import Region, Staff, Unit


class RegionFactory(factory.django.DjangoModelFactory):
    """A region (分公司) ``R01``, ``R02`` …"""

    class Meta:
        model = Region
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"R{n + 1:02d}")
    name = factory.LazyAttribute(lambda o: f"{o.code} 分公司")


class UnitFactory(factory.django.DjangoModelFactory):
    """A branch (营业部) ``B001`` … in a new region; pass ``unit_kind`` for an HQ unit."""

    class Meta:
        model = Unit
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"B{n + 1:03d}")
    name = factory.LazyAttribute(lambda o: f"{o.code} 营业部")
    region = factory.SubFactory(RegionFactory)
    unit_kind = UnitKind.BRANCH


class StaffFactory(factory.django.DjangoModelFactory):
    """An active staff member ``E00001`` … of a new branch; an agent unless told otherwise."""

    class Meta:
        model = Staff
        django_get_or_create = ("staff_id",)

    staff_id = factory.Sequence(lambda n: f"E{n + 1:05d}")
    name = factory.Sequence(lambda n: f"员工{n + 1}")
    unit = factory.SubFactory(UnitFactory)
    position = Position.AGENT
