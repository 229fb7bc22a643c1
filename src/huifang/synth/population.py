"""The client population: numeric state per client and the ``clients`` rows built from it.

State that changes over the feed days (status, adviser, risk level, assets …) is
kept in flat numpy arrays (~60 bytes a client). Everything static — names, ID
numbers, addresses — is recomputed from the client index when a row is written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from huifang.synth import data
from huifang.synth.arrays import (
    BoolArray,
    FloatArray,
    IntArray,
    Keyed,
    add_years,
    ascii_matrix,
    bools,
    coded_ids,
    dates,
    digits,
    epoch_day,
    fixed_strings,
    join,
    numbers,
    pick,
    to_weekday,
    with_nulls,
    ymd,
)
from huifang.synth.org import Org, Pool

NONE = np.iinfo(np.int32).min
NORMAL, DORMANT, FROZEN, CLOSED = 0, 1, 2, 3
STATUSES = ("normal", "dormant", "frozen", "closed")
RISK_LEVELS = ("C1", "C2", "C3", "C4", "C5")
ID_TYPES = ("id_card", "passport", "hk_macau_permit", "taiwan_permit", "business_license")

AGE_BANDS = ((18.1, 30), (30, 40), (40, 50), (50, 60), (60, 70), (70, 80), (80, 90.9))
AGE_WEIGHTS = (0.17, 0.25, 0.22, 0.17, 0.115, 0.055, 0.02)
GB11643_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
GB11643_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
GB32100_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
GB32100_WEIGHTS = np.array(
    [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28], dtype=np.int64
)
GB11714_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
FIRST_OPEN = epoch_day(dt.date(2005, 1, 4))
MARGIN_START = epoch_day(dt.date(2010, 3, 31))
YEAR = 365.2425


@dataclass(frozen=True)
class Pools:
    """The staff a client can be linked to, per branch, on some date."""

    sales: Pool  # introducers: marketing and advisers
    brokers: Pool
    advisers: Pool
    ops: Pool


def pools(org: Org, exclude: frozenset[int] = frozenset()) -> Pools:
    return Pools(
        org.pool({"marketing", "adviser"}, exclude),
        org.pool({"broker"}, exclude),
        org.pool({"adviser"}, exclude),
        org.pool({"ops"}, exclude),
    )


class _Flat:
    """Consecutive groups of a flat table (the districts of each city) for vectorised picks."""

    def __init__(self, sizes: list[int]) -> None:
        self.count = np.array(sizes, dtype=np.int64)
        self.start = np.concatenate([[0], np.cumsum(self.count)[:-1]]).astype(np.int64)

    def pick(self, group: IntArray, u: FloatArray) -> IntArray:
        counts = self.count[group]
        return self.start[group] + np.minimum((u * counts).astype(np.int64), counts - 1)


_DISTRICTS = [d for c in data.CITIES for d in c.districts]
_DISTRICT_CODES = np.array([int(code) for code, _ in _DISTRICTS], dtype=np.int64)
_DISTRICT_NAMES = [name for _, name in _DISTRICTS]
_DISTRICT_CITY = np.array(
    [i for i, c in enumerate(data.CITIES) for _ in c.districts], dtype=np.int64
)
_CITY_DISTRICTS = _Flat([len(c.districts) for c in data.CITIES])
_POSTCODES = np.array([int(c.postcode) for c in data.CITIES], dtype=np.int64)


class Population:
    """Every client's state; clients ``0..base-1`` exist on day 1, later ones are opened daily."""

    def __init__(self, keyed: Keyed, org: Org, *, start: int, base: int, capacity: int) -> None:
        self.keyed, self.org, self.start, self.base = keyed, org, start, base
        self.size = 0
        cum = np.cumsum(np.exp(keyed.normal("branch.size", np.arange(len(org.branches))) * 0.5))
        self._branch_cum = cum / cum[-1]
        i32 = np.int32
        self.branch = np.zeros(capacity, i32)
        self.inst = np.zeros(capacity, np.bool_)
        self.open_day = np.zeros(capacity, i32)
        self.birth = np.zeros(capacity, i32)
        self.status = np.zeros(capacity, np.int8)
        self.close_day = np.full(capacity, NONE, i32)
        self.margin = np.zeros(capacity, np.bool_)
        self.credit_day = np.full(capacity, NONE, i32)
        self.risk = np.zeros(capacity, np.int8)
        self.risk_day = np.zeros(capacity, i32)
        self.introducer = np.full(capacity, -1, i32)
        self.broker = np.full(capacity, -1, i32)
        self.adviser = np.full(capacity, -1, i32)
        self.last_trade = np.full(capacity, NONE, i32)
        self.assets = np.zeros(capacity, np.float64)
        self.agent = np.zeros(capacity, np.bool_)
        self.agent_version = np.zeros(capacity, np.int8)
        self.mobile_version = np.zeros(capacity, np.int8)
        self.advisory = np.zeros(capacity, np.bool_)

    # --- creating clients -----------------------------------------------------

    def add(self, count: int, staff: Pools, opened: int | None = None) -> IntArray:
        """Create ``count`` clients: existing ones (``opened`` None) or opened on that day."""
        idx = np.arange(self.size, self.size + count, dtype=np.int64)
        self.size += count
        k, s = self.keyed, idx
        self.inst[s] = k.uniform("type", idx) < 0.03
        self.branch[s] = np.searchsorted(self._branch_cum, k.uniform("branch", idx), side="right")
        self.birth[s] = self._birth(idx)
        if opened is None:
            self._existing(idx)
        else:
            self._opened(idx, opened)
        self._staff_links(idx, staff, new=opened is not None)
        inst, big = self.inst[s], self.assets[s] >= 250_000
        self.risk[s] = (
            np.where(
                inst,
                k.choice("risk.inst", idx, (0, 0, 3, 4.5, 2.5)),
                k.choice("risk", idx, (5, 15, 40, 28, 12)),
            )
            + 1
        )
        old = self.birth[s] <= add_years(np.full(len(idx), self.start, np.int64), -75)
        p_agent = np.where(inst, 0.7, np.where(old, 0.05, 0.002))
        self.agent[s] = k.uniform("agent", idx) < p_agent
        self.advisory[s] = (opened is None) & (
            k.uniform("advisory", idx) < np.where(big, 0.10, 0.022)
        )
        return idx

    def _birth(self, idx: IntArray) -> IntArray:
        k = self.keyed
        band = k.choice("age.band", idx, AGE_WEIGHTS)
        lo = np.array([b[0] for b in AGE_BANDS])[band]
        hi = np.array([b[1] for b in AGE_BANDS])[band]
        age = lo + k.uniform("age", idx) * (hi - lo)
        return self.start - (age * YEAR).astype(np.int64)

    def _existing(self, idx: IntArray) -> None:
        """Clients opened before the first business date, with a history."""
        k, s, today = self.keyed, idx, self.start
        span = today - 1 - FIRST_OPEN
        spread = k.uniform("open.u", idx) * span
        recent = -np.log1p(-k.uniform("open.e", idx)) * 5 * YEAR
        back = np.minimum(np.where(k.uniform("open.mix", idx) < 0.35, spread, recent), span)
        open_day = to_weekday(today - 1 - back.astype(np.int64))
        adult = add_years(self.birth[s].astype(np.int64), 18)
        late = ~self.inst[s] & (open_day < adult)
        open_day = np.where(
            late,
            adult + (k.uniform("open.late", idx) * (today - 1 - adult)).astype(np.int64),
            open_day,
        )
        self.open_day[s] = open_day
        self._status(idx, open_day.astype(np.int64))
        self._assets(idx)
        self._margin(idx)
        risk_back = np.where(
            k.uniform("risk.age", idx) < 0.88,
            k.uniform("risk.d1", idx) * 730,
            730 + k.uniform("risk.d2", idx) * 365,
        )
        self.risk_day[s] = np.maximum(to_weekday(today - 1 - risk_back.astype(np.int64)), open_day)

    def _status(self, idx: IntArray, open_day: IntArray) -> None:
        k, s, today = self.keyed, idx, self.start
        u = k.uniform("status", idx)
        status = np.select([u < 0.008, u < 0.015, u < 0.075], [CLOSED, FROZEN, DORMANT], NORMAL)
        status = np.where((status == DORMANT) & (open_day > today - 200), NORMAL, status)
        close = open_day + (k.uniform("close", idx) * (today - 1 - open_day)).astype(np.int64)
        close = np.maximum(to_weekday(close), open_day)
        expo = -np.log1p(-k.uniform("trade.e", idx))
        r = k.uniform("trade.r", idx)
        recent = today - 1 - (expo * 12).astype(np.int64)
        older = today - 1 - (90 + k.uniform("trade.u", idx) * 630).astype(np.int64)
        normal_last = np.where(r < 0.75, recent, np.where(r < 0.9, older, NONE))
        dormant_last = np.where(r < 0.85, today - 181 - (expo * 500).astype(np.int64), NONE)
        last = np.select(
            [status == NORMAL, status == DORMANT, status == FROZEN],
            [normal_last, dormant_last, today - 1 - (expo * 200).astype(np.int64)],
            close - (expo * 60).astype(np.int64),
        )
        last = np.where(last == NONE, NONE, to_weekday(last))
        self.last_trade[s] = np.where(last < open_day, NONE, last)
        self.status[s] = status
        self.close_day[s] = np.where(status == CLOSED, close, NONE)

    def _assets(self, idx: IntArray) -> None:
        """A mixture of lognormals: empty, tiny, mass and wealthy accounts (CLS-1 mix)."""
        k, s = self.keyed, idx
        comp = k.choice("assets.mix", idx, (0.02, 0.25, 0.70, 0.03))
        mu = np.array([0.0, np.log(3000), 10.91, 14.22])[comp]
        sigma = np.array([0.0, 1.5, 0.95, 1.2])[comp]
        value = np.where(comp == 0, 0.0, np.exp(mu + sigma * k.normal("assets", idx)))
        status = self.status[s]
        value = np.where(status == DORMANT, value * 0.3, value)
        self.assets[s] = np.where(status == CLOSED, 0.0, np.round(value, 2))

    def _margin(self, idx: IntArray) -> None:
        k, s, today = self.keyed, idx, self.start
        open_day = self.open_day[s].astype(np.int64)
        assets = self.assets[s]
        eligible = (open_day <= today - 180) & (self.status[s] == NORMAL) & (assets >= 50_000)
        chance = np.where(assets >= 500_000, 0.6, 0.09)
        margin = eligible & (k.uniform("margin", idx) < chance)
        first = np.maximum(open_day + 180, MARGIN_START)
        credit = first + (k.uniform("credit", idx) * (today - 1 - first)).astype(np.int64)
        self.margin[s] = margin
        self.credit_day[s] = np.where(margin, to_weekday(credit), NONE)

    def _opened(self, idx: IntArray, day: int) -> None:
        """Accounts opened on ``day``: normal, assessed today, mostly empty or small."""
        k, s = self.keyed, idx
        self.open_day[s] = day
        self.risk_day[s] = day
        self.status[s] = NORMAL
        funded = k.uniform("new.funded", idx) < 0.5
        value = np.exp(np.log(30_000) + 1.3 * k.normal("new.assets", idx))
        self.assets[s] = np.where(funded, np.round(value, 2), 0.0)

    def _staff_links(self, idx: IntArray, staff: Pools, *, new: bool) -> None:
        """Introducer (~60 %), broker (~15 %, more for new accounts) and adviser (VIP/core)."""
        k, s = self.keyed, idx
        branch = self.branch[s].astype(np.int64)
        u = k.uniform("link", idx)
        via_broker = u < (0.25 if new else 0.15)
        broker = np.where(via_broker, staff.brokers.pick(branch, k.uniform("link.broker", idx)), -1)
        sales = staff.sales.pick(branch, k.uniform("link.sales", idx))
        broker_intro = np.where(k.uniform("link.self", idx) < 0.7, broker, -1)
        by_sales = ~via_broker & (u < (0.75 if new else 0.65))
        self.broker[s] = broker
        self.introducer[s] = np.where(via_broker, broker_intro, np.where(by_sales, sales, -1))
        sized = self.assets[s] >= 250_000
        served = k.uniform("link.adv", idx) < np.where(sized, 0.85, 0.05)
        self.adviser[s] = np.where(
            served, staff.advisers.pick(branch, k.uniform("link.adviser", idx)), -1
        )

    # --- queries ----------------------------------------------------------------

    def is_open(self, idx: IntArray, day: int) -> BoolArray:
        """Opened on or before ``day`` and not closed."""
        return (self.open_day[idx] <= day) & (self.status[idx] != CLOSED)

    def age_on(self, idx: IntArray, day: int) -> FloatArray:
        return (day - self.birth[idx].astype(np.int64)) / YEAR

    # --- rows ---------------------------------------------------------------------

    def client_table(self, idx: IntArray) -> pa.Table:
        """Full ``clients`` rows (every optional column) for ``idx``."""
        return pa.table(_ClientRows(self, idx).columns())


class _ClientRows:
    """Builds the columns of ``clients`` for one set of clients."""

    def __init__(self, pop: Population, idx: IntArray) -> None:
        self.pop, self.idx, self.k = pop, idx, pop.keyed
        self.n = len(idx)
        self.inst = pop.inst[idx]
        self.person = ~self.inst
        self.branch = pop.branch[idx].astype(np.int64)
        self.city = pop.org.branch_city[self.branch]
        self.male = self.k.uniform("gender", idx) < 0.54

    def columns(self) -> dict[str, pa.Array]:
        pop, idx, person = self.pop, self.idx, self.person
        id_type = self._id_type()
        return {
            "client_id": coded_ids("C", idx + 1, 8),
            "name": self._names(),
            "client_type": pick(("individual", "institution"), self.inst.astype(np.int64)),
            "branch_code": pick([b.code for b in pop.org.branches], self.branch),
            "open_date": dates(pop.open_day[idx]),
            "fund_account": fixed_strings(
                ascii_matrix(digits(self.branch + 1, 4), digits(idx + 1, 8), rows=self.n)
            ),
            "id_type": pick(ID_TYPES, id_type),
            "id_number": self._id_numbers(id_type),
            "birth_date": dates(pop.birth[idx], person),
            "gender": pick(("F", "M"), self.male.astype(np.int64), person),
            "mobile": self._mobile(),
            "phone": self._phone(),
            "email": self._email(),
            **self._address(),
            "status": pick(STATUSES, pop.status[idx].astype(np.int64)),
            "introducer_staff_id": _staff_ids(pop.introducer[idx]),
            "broker_staff_id": _staff_ids(pop.broker[idx]),
            "adviser_staff_id": _staff_ids(pop.adviser[idx]),
            "risk_level": pick(RISK_LEVELS, pop.risk[idx].astype(np.int64) - 1),
            "risk_assessed_on": dates(pop.risk_day[idx]),
            "has_margin_account": bools(pop.margin[idx]),
            "credit_open_date": _optional_dates(pop.credit_day[idx]),
            "online_trading": bools(self.k.uniform("online", idx) < np.where(self.inst, 0.7, 0.85)),
            "bank_transfer": bools(self.k.uniform("bank", idx) < 0.96),
            **self._agent(),
            "close_date": _optional_dates(pop.close_day[idx]),
            "last_trade_date": _optional_dates(pop.last_trade[idx]),
            "advisory_contract": bools(pop.advisory[idx]),
        }

    def _names(self) -> pa.Array:
        k, idx = self.k, self.idx
        people = person_names(k, "name", idx, self.male)
        city = pick([c.name for c in data.CITIES], self.city)
        firm = join(
            city,
            pick(data.FIRM_WORDS, k.integers("firm.1", idx, len(data.FIRM_WORDS))),
            pick(data.FIRM_WORDS, k.integers("firm.2", idx, len(data.FIRM_WORDS))),
            pick(data.INDUSTRIES, k.integers("firm.kind", idx, len(data.INDUSTRIES))),
            pick(
                ("有限公司", "股份有限公司"), (k.uniform("firm.form", idx) < 0.1).astype(np.int64)
            ),
        )
        return pc.if_else(pa.array(self.inst), firm, people)

    def _id_type(self) -> IntArray:
        u = self.k.uniform("id.type", self.idx)
        person_type = np.select([u < 0.994, u < 0.997, u < 0.9985], [0, 2, 3], 1)
        return np.where(self.inst, 4, person_type)

    def _region(self, stream: str, home_share: float) -> IntArray:
        """A division code: mostly a district of the branch's city, else anywhere."""
        k, idx = self.k, self.idx
        home = _CITY_DISTRICTS.pick(self.city, k.uniform(stream + ".home", idx))
        anywhere = k.integers(stream + ".any", idx, len(_DISTRICTS))
        return np.where(k.uniform(stream, idx) < home_share, home, anywhere)

    def _id_numbers(self, id_type: IntArray) -> pa.Array:
        k, idx, n = self.k, self.idx, self.n
        region = _DISTRICT_CODES[self._region("id.region", 0.7)]
        seq = 2 * k.integers("id.seq", idx, 500) + self.male
        card = id_card_numbers(region, self.pop.birth[idx].astype(np.int64), seq)
        serial = digits(k.integers("id.serial", idx, 10**8), 8)
        passport = fixed_strings(ascii_matrix("E", serial, rows=n))
        hk = fixed_strings(ascii_matrix("H", serial, rows=n))
        taiwan = fixed_strings(serial)
        licence = credit_codes(region, k.integers("id.org", idx, 10**8))
        out = card
        for code, values in ((1, passport), (2, hk), (3, taiwan), (4, licence)):
            out = pc.if_else(pa.array(id_type == code), values, out)
        return out

    def _mobile(self) -> pa.Array:
        k, idx = self.k, self.idx
        version = self.pop.mobile_version[idx].astype(np.int64)
        bits = k.bits("mobile", idx * 131 + version)
        prefix = np.array(data.MOBILE_PREFIXES, dtype=np.int64)[
            (bits % np.uint64(len(data.MOBILE_PREFIXES))).astype(np.int64)
        ]
        rest = ((bits >> np.uint64(16)) % np.uint64(10**8)).astype(np.int64)
        has = k.uniform("mobile.has", idx) < np.where(self.inst, 0.5, 0.98)
        return fixed_strings(ascii_matrix(digits(prefix, 3), digits(rest, 8), rows=self.n), has)

    def _phone(self) -> pa.Array:
        k, idx = self.k, self.idx
        area = pick([c.area_code for c in data.CITIES], self.city)
        local = numbers(k.integers("phone.n", idx, 89_999_999, 20_000_000))
        has = k.uniform("phone.has", idx) < np.where(self.inst, 0.8, 0.2)
        return with_nulls(join(area, "-", local), has)

    def _email(self) -> pa.Array:
        k, idx = self.k, self.idx
        qq = join(numbers(k.integers("email.qq", idx, 3_000_000_000, 100_000)), "@qq.com")
        user = join(
            pick(data.PINYIN, k.integers("email.py", idx, len(data.PINYIN))),
            numbers(k.integers("email.n", idx, 10_000)),
            "@",
            pick(data.EMAIL_DOMAINS, k.integers("email.dom", idx, len(data.EMAIL_DOMAINS))),
        )
        has = k.uniform("email.has", idx) < np.where(self.inst, 0.6, 0.25)
        return with_nulls(pc.if_else(pa.array(k.uniform("email.kind", idx) < 0.5), qq, user), has)

    def _address(self) -> dict[str, pa.Array]:
        k, idx = self.k, self.idx
        district = self._region("addr", 0.85)
        city = _DISTRICT_CITY[district]
        has = k.uniform("addr.has", idx) < np.where(self.inst, 0.98, 0.6)
        room = join(
            numbers(k.integers("addr.bld", idx, 30, 1)),
            "栋",
            numbers(k.integers("addr.fl", idx, 33, 1) * 100 + k.integers("addr.rm", idx, 9, 1)),
            "室",
        )
        floor = join(numbers(k.integers("addr.ofl", idx, 40, 1)), "楼")
        address = join(
            pick([c.prefix for c in data.CITIES], city),
            pick(_DISTRICT_NAMES, district),
            pick(data.ROADS, k.integers("addr.road", idx, len(data.ROADS))),
            numbers(k.integers("addr.no", idx, 2000, 1)),
            "号",
            pc.if_else(pa.array(self.inst), floor, room),
        )
        post = (
            _POSTCODES[city]
            + (district - _CITY_DISTRICTS.start[city]) * 10
            + k.integers("addr.pc", idx, 9)
        )
        return {
            "address": with_nulls(address, has),
            "postcode": fixed_strings(digits(post, 6), has),
        }

    def _agent(self) -> dict[str, pa.Array]:
        k, idx, pop = self.k, self.idx, self.pop
        has = pop.agent[idx]
        key = idx * 131 + pop.agent_version[idx].astype(np.int64)
        male = k.uniform("agent.gender", key) < 0.5
        until = pop.start + k.integers("agent.until", key, 1100, -200)
        until = np.maximum(until, pop.open_day[idx].astype(np.int64) + 365)
        return {
            "agent_name": with_nulls(person_names(k, "agent", key, male), has),
            "agent_scope": pick(
                data.AGENT_SCOPES, k.integers("agent.scope", key, len(data.AGENT_SCOPES)), has
            ),
            "agent_until": dates(until, has),
        }


def _staff_ids(staff: IntArray) -> pa.Array:
    values = staff.astype(np.int64)
    return coded_ids("S", values + 1, 6, values >= 0)


def _optional_dates(days: IntArray) -> pa.Array:
    return dates(np.where(days == NONE, 0, days), days != NONE)


def person_names(k: Keyed, stream: str, idx: IntArray, male: BoolArray) -> pa.Array:
    """Chinese personal names: a weighted surname and one or two given characters."""
    surname = pick(data.SURNAMES, k.choice(stream + ".sur", idx, data.SURNAME_WEIGHTS))
    male_arr = pa.array(male)

    def given(part: str, extra: tuple[str, ...]) -> pa.Array:
        m = pick(
            extra + data.GIVEN_MALE,
            k.integers(f"{stream}.{part}", idx, len(extra) + len(data.GIVEN_MALE)),
        )
        f = pick(
            extra + data.GIVEN_FEMALE,
            k.integers(f"{stream}.{part}", idx, len(extra) + len(data.GIVEN_FEMALE)),
        )
        return pc.if_else(male_arr, m, f)

    first = given("g1", data.GIVEN_NEUTRAL)
    single = pa.array(k.uniform(stream + ".len", idx) < 0.3)
    first = pc.if_else(single, pa.scalar("", pa.string()), first)
    return join(surname, first, given("g2", ()))


def id_card_numbers(region: IntArray, birth: IntArray, seq: IntArray) -> pa.Array:
    """18-character resident ID numbers with the GB 11643 check digit."""
    year, month, day = ymd(birth)
    n = len(region)
    body = ascii_matrix(
        digits(region, 6), digits(year, 4), digits(month, 2), digits(day, 2), digits(seq, 3), rows=n
    )
    total = (body.astype(np.int64) - 48) @ GB11643_WEIGHTS
    check = GB11643_CHECK[total % 11]
    return fixed_strings(np.hstack([body, check[:, None]]))


def credit_codes(region: IntArray, organisation: IntArray) -> pa.Array:
    """Unified social credit codes (GB 32100) of enterprises, with a GB 11714 organisation code."""
    n = len(region)
    org = digits(organisation, 8)
    org_sum = (org.astype(np.int64) - 48) @ GB11714_WEIGHTS
    org_check = 11 - org_sum % 11
    org_char = np.where(
        org_check == 10, ord("X"), np.where(org_check == 11, ord("0"), org_check + 48)
    )
    body = ascii_matrix("91", digits(region, 6), org, org_char.astype(np.uint8)[:, None], rows=n)
    alphabet = np.frombuffer(GB32100_ALPHABET.encode(), dtype=np.uint8)
    lookup = np.zeros(128, dtype=np.int64)
    lookup[alphabet] = np.arange(len(alphabet))
    total = lookup[body] @ GB32100_WEIGHTS
    check = alphabet[(31 - total % 31) % 31]
    return fixed_strings(np.hstack([body, check[:, None]]))
