"""The synthetic organisation: regions, branches, head-office units and staff.

A few thousand rows at most, so plain Python with one seeded ``random.Random``.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from huifang.synth import data
from huifang.synth.arrays import IntArray

# (code, name, unit_kind, positions) of the head-office units, region R00 总部.
HQ_UNITS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("HQCC", "总部客户服务中心", "call_center", ("manager", "other", "other", "ops")),
    ("HQCR", "信用交易部", "credit", ("manager", "ops", "ops", "service", "service")),
    ("HQMK", "市场部", "market", ("manager", "other", "other")),
    ("HQIB", "投行质控部", "ib_qc", ("manager", "other", "other")),
    ("HQCP", "合规部", "compliance", ("manager", "other", "other", "other")),
    ("HQOP", "运营管理部", "department", ("manager", "ops", "other")),
    ("HQRT", "零售业务部", "department", ("manager", "other")),
    ("HQPD", "产品部", "department", ("manager", "other")),
    ("HQIT", "信息技术部", "department", ("manager", "other", "other")),
)

# Every branch has at least these; extras go to the sales side.
BRANCH_CORE: tuple[str, ...] = (
    "manager",
    "marketing",
    "marketing",
    "marketing",
    "broker",
    "broker",
    "adviser",
    "adviser",
    "service",
    "service",
    "agent",
    "ops",
    "ops",
    "other",
)
BRANCH_EXTRA: tuple[str, ...] = ("marketing", "marketing", "broker", "adviser", "service")


@dataclass
class Unit:
    """A row of ``branches``."""

    code: str
    name: str
    region_code: str
    region_name: str
    kind: str
    city: int


@dataclass
class StaffMember:
    """A row of ``staff``."""

    staff_id: str
    name: str
    branch_code: str
    position: str
    hire_date: dt.date
    unit: int
    leave_date: dt.date | None = None
    broker_cert_no: str | None = None
    qualification: str | None = None
    phone: str | None = None
    client_id: str | None = None


@dataclass
class Pool:
    """Staff indices per branch: ``flat[start[b]:start[b] + count[b]]``."""

    flat: IntArray
    start: IntArray
    count: IntArray

    def pick(self, branch: IntArray, u: np.ndarray) -> IntArray:
        """One staff index per row (uniform), -1 where the branch has none."""
        counts = self.count[branch]
        offset = self.start[branch] + np.minimum((u * counts).astype(np.int64), counts - 1)
        safe = np.clip(offset, 0, max(len(self.flat) - 1, 0))
        chosen = self.flat[safe] if len(self.flat) else np.zeros(len(branch), np.int64)
        return np.where(counts > 0, chosen, -1)


@dataclass
class Org:
    """Units and staff; ``branches`` are the units of kind ``branch`` in code order."""

    units: list[Unit]
    branches: list[Unit]
    staff: list[StaffMember]
    branch_city: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))

    def pool(self, positions: set[str], exclude: frozenset[int] = frozenset()) -> Pool:
        """The staff of each branch holding one of ``positions``."""
        index = {u.code: i for i, u in enumerate(self.branches)}
        members: list[list[int]] = [[] for _ in self.branches]
        for i, s in enumerate(self.staff):
            if s.position in positions and s.branch_code in index and i not in exclude:
                members[index[s.branch_code]].append(i)
        count = np.array([len(m) for m in members], dtype=np.int64)
        start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
        flat = np.array([i for m in members for i in m], dtype=np.int64)
        return Pool(flat, start, count)


def build_org(*, branches: int, seed: int, start: dt.date) -> Org:
    """Regions of about four branches each, the head office, and ~15 staff per branch."""
    rng = random.Random(f"{seed}:org")
    units = _hq_units() + _branches(branches, rng)
    branch_units = [u for u in units if u.kind == "branch"]
    staff = _staff(units, rng, start)
    org = Org(units, branch_units, staff)
    org.branch_city = np.array([u.city for u in branch_units], dtype=np.int64)
    return org


def _hq_units() -> list[Unit]:
    return [Unit(code, name, "R00", "总部", kind, 0) for code, name, kind, _ in HQ_UNITS]


def _branches(count: int, rng: random.Random) -> list[Unit]:
    regions = max(1, round(count / 4))
    width = max(3, len(str(count)))
    used: set[str] = set()
    out: list[Unit] = []
    for b in range(count):
        region = b * regions // count
        city = region % len(data.CITIES)
        suffix = "" if region < len(data.CITIES) else "第二"
        region_name = f"{data.CITIES[city].name}{suffix}分公司"
        # Most branches sit in the region's city, some in the next cities of the list.
        branch_city = (
            city if rng.random() < 0.7 else (city + rng.randrange(1, 4)) % len(data.CITIES)
        )
        name = _branch_name(data.CITIES[branch_city].name, rng, used)
        out.append(
            Unit(
                f"B{b + 1:0{width}d}",
                name,
                f"R{region + 1:02d}",
                region_name,
                "branch",
                branch_city,
            )
        )
    return out


def _branch_name(city: str, rng: random.Random, used: set[str]) -> str:
    for _ in range(40):
        name = f"{city}{rng.choice(data.ROADS)}营业部"
        if name not in used:
            used.add(name)
            return name
    n = 2
    while f"{city}第{n}营业部" in used:
        n += 1
    used.add(f"{city}第{n}营业部")
    return f"{city}第{n}营业部"


def _staff(units: list[Unit], rng: random.Random, start: dt.date) -> list[StaffMember]:
    branch_plan: list[tuple[int, str]] = []
    for u_index, unit in enumerate(units):
        if unit.kind == "branch":
            extra = [rng.choice(BRANCH_EXTRA) for _ in range(rng.randrange(0, 4))]
            branch_plan += [(u_index, p) for p in (*BRANCH_CORE, *extra)]
    # The call center holds about a tenth of all staff, nearly all of them agents.
    call_center_agents = max(6, round(len(branch_plan) / 9))
    hq_plan: list[tuple[int, str]] = []
    for u_index, (code, _, _, positions) in enumerate(HQ_UNITS):
        agents = ["agent"] * call_center_agents if code == "HQCC" else []
        hq_plan += [(u_index, p) for p in (*positions, *agents)]
    plan = hq_plan + branch_plan
    return [_member(i, units[u], u, pos, rng, start) for i, (u, pos) in enumerate(plan)]


def _member(
    i: int, unit: Unit, u_index: int, position: str, rng: random.Random, start: dt.date
) -> StaffMember:
    years = (
        rng.expovariate(1 / 5)
        if position in {"marketing", "broker", "agent"}
        else rng.expovariate(1 / 8)
    )
    hire = start - dt.timedelta(days=45 + int(min(years, 20) * 365))
    while hire.weekday() >= 5:
        hire -= dt.timedelta(days=1)
    member = StaffMember(
        staff_id=f"S{i + 1:06d}",
        name=person_name(rng),
        branch_code=unit.code,
        position=position,
        hire_date=hire,
        unit=u_index,
        phone=f"1{rng.choice(data.MOBILE_PREFIXES) % 100:02d}{rng.randrange(10**8):08d}"
        if rng.random() < 0.9
        else None,
    )
    if position == "broker":
        member.broker_cert_no = f"S{rng.randrange(10**4):04d}{hire:%y%m}{rng.randrange(10**5):05d}"
    if position == "adviser":
        member.qualification = "investment_consulting"
    return member


def person_name(rng: random.Random) -> str:
    """A Chinese personal name."""
    surname = rng.choices(data.SURNAMES, weights=data.SURNAME_WEIGHTS)[0]
    chars = data.GIVEN_MALE if rng.random() < 0.5 else data.GIVEN_FEMALE
    if rng.random() < 0.3:
        return surname + rng.choice(chars)
    return surname + rng.choice(data.GIVEN_NEUTRAL + chars) + rng.choice(chars)


def units_table(org: Org) -> pa.Table:
    """``branches``: every unit, head office first."""
    return pa.table(
        {
            "branch_code": [u.code for u in org.units],
            "name": [u.name for u in org.units],
            "region_code": [u.region_code for u in org.units],
            "region_name": [u.region_name for u in org.units],
            "unit_kind": [u.kind for u in org.units],
        }
    )


def staff_table(members: list[StaffMember]) -> pa.Table:
    """``staff`` rows for the given members."""

    def col(name: str) -> list[object]:
        return [getattr(m, name) for m in members]

    return pa.table(
        {
            "staff_id": pa.array(col("staff_id"), pa.string()),
            "name": pa.array(col("name"), pa.string()),
            "branch_code": pa.array(col("branch_code"), pa.string()),
            "position": pa.array(col("position"), pa.string()),
            "hire_date": pa.array(col("hire_date"), pa.date32()),
            "leave_date": pa.array(col("leave_date"), pa.date32()),
            "broker_cert_no": pa.array(col("broker_cert_no"), pa.string()),
            "qualification": pa.array(col("qualification"), pa.string()),
            "phone": pa.array(col("phone"), pa.string()),
            "client_id": pa.array(col("client_id"), pa.string()),
        }
    )
