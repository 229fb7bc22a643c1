"""Pure functions of classification: packages, entitlements, balanced adviser assignment.

Plain values in, plain values out; the parameters come from the policy version.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from huifang.policy.kinds import ClassStandard, ServicePackage, ServicePackages


def class_labels(standard: ClassStandard | None) -> dict[str, str]:
    """Class code → label of a standard."""
    return {c.code: c.label for c in standard.classes} if standard else {}


def package_for(
    packages: ServicePackages, class_code: str, *, new_account_this_year: bool
) -> ServicePackage | None:
    """The highest package serving the class, or the year's new accounts (CLS-6)."""
    found = None
    for package in packages.packages:  # lowest first: a later match is a higher package
        if class_code in package.classes or (
            new_account_this_year and package.new_accounts_of_year
        ):
            found = package
    return found


@dataclass(frozen=True)
class Entitlement:
    package: str
    text: str


def entitlements(packages: ServicePackages, package: ServicePackage) -> list[Entitlement]:
    """Every entitlement of a package, those of the packages it includes first (CLS-6)."""
    by_code = {p.code: p for p in packages.packages}
    chain: list[ServicePackage] = []
    current: ServicePackage | None = package
    while current is not None and current not in chain:
        chain.append(current)
        current = by_code.get(current.includes) if current.includes else None
    return [Entitlement(p.name, text) for p in reversed(chain) for text in p.entitlements]


def balanced_assignment(clients: Sequence[str], loads: Mapping[str, int]) -> dict[str, str]:
    """Each client to the adviser with the least work so far; ties go to the lower staff id (CLS-7).

    ``loads`` holds every adviser who may receive clients, with his current number
    of clients; clients are handed out in the order given.
    """
    if not loads:
        return {}
    heap = [(load, staff) for staff, load in loads.items()]
    heapq.heapify(heap)
    assigned: dict[str, str] = {}
    for client in clients:
        load, staff = heapq.heappop(heap)
        assigned[client] = staff
        heapq.heappush(heap, (load + 1, staff))
    return assigned


def workloads(advisers: Iterable[str], served: Iterable[str]) -> dict[str, int]:
    """How many clients each adviser serves (``served``: one adviser id per client)."""
    loads = dict.fromkeys(advisers, 0)
    for staff in served:
        if staff in loads:
            loads[staff] += 1
    return loads
