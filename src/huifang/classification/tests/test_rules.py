"""Pure functions of classification: packages and entitlements (CLS-6), balanced advisers (CLS-7)."""

from __future__ import annotations

from huifang.classification.rules import (
    balanced_assignment,
    entitlements,
    package_for,
    workloads,
)
from huifang.policy import kinds
from huifang.policy.defaults import SERVICE_PACKAGES


def packages() -> kinds.ServicePackages:
    parsed = kinds.parse("service_packages", SERVICE_PACKAGES)
    assert isinstance(parsed, kinds.ServicePackages)
    return parsed


def test_each_class_gets_its_package_and_new_accounts_get_cailutong() -> None:
    found = {code: package_for(packages(), code, new_account_this_year=False) for code in
             ("vip", "core", "potential", "ordinary")}  # fmt: skip
    assert {k: v.name if v else None for k, v in found.items()} == {
        "vip": "财务通", "core": "财富通", "potential": "财路通", "ordinary": None}  # fmt: skip
    new = package_for(packages(), "ordinary", new_account_this_year=True)
    assert new is not None and new.name == "财路通"
    vip_new = package_for(packages(), "vip", new_account_this_year=True)
    assert vip_new is not None and vip_new.name == "财务通"  # the higher package wins


def test_a_package_includes_the_lower_ones() -> None:
    package = package_for(packages(), "vip", new_account_this_year=False)
    assert package is not None
    items = entitlements(packages(), package)
    assert [e.package for e in items][:4] == ["财路通"] * 4
    assert items[-1].package == "财务通" and "税务顾问服务" in [e.text for e in items]
    assert len(items) == 4 + 5 + 4


def test_assignment_goes_to_the_least_loaded_adviser() -> None:
    assigned = balanced_assignment(["K1", "K2", "K3", "K4", "K5"], {"S1": 3, "S2": 0, "S3": 1})
    assert assigned == {"K1": "S2", "K2": "S2", "K3": "S3", "K4": "S2", "K5": "S3"}
    loads = workloads(["S1", "S2", "S3"], ["S1"] * 3 + ["S3"] + list(assigned.values()))
    assert max(loads.values()) - min(loads.values()) <= 1


def test_nobody_to_assign_to_assigns_nothing() -> None:
    assert balanced_assignment(["K1"], {}) == {}
