"""Client measures read from the Parquet archive in DuckDB (SPEC §1, §3).

The archive keeps one partition per business date
(``archive/<file>/date=YYYY-MM-DD/part-0.parquet``). Partitions are chosen here by
their date (a directory name we wrote), so a query reads only the files it needs;
the file names go into the SQL as escaped literals, every value a rule supplies
goes in as a ``?`` parameter.

- clients: the latest row of each client on or before the rating date; rated =
  opened on or before the statistical date and not closed on the rating date.
- assets: the latest snapshot on or before the statistical date; a client absent
  from it keeps his last known snapshot (older partitions are read for him only).
- commission_year: the year row of the commission year where present, else the sum
  of its months; the latest copy of each (client, period) wins.
- trading_*: sums of ``trade_amount`` over the months up to the statistical date.
- days_since_trade: from the later of ``last_trade_date`` and the last archived
  trade (up to a year back) — else from the opening — to the statistical date.

Money measures of a client without rows are 0 (no assets, no commission).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from huifang.core import duck

DAY = '"date"'  # the partition date column (hive partitioning)
# Money measures keep the importer's type (64-bit): a client's yearly sums fit 18 digits.
MONEY = "DECIMAL(18, 2)"

# Every measure a class condition may name, with the SQL column that holds it.
MEASURE_COLUMNS: dict[str, str] = {
    "assets": "assets",
    "commission_year": "commission_year",
    "trading_month": "trading_month",
    "trading_month_max": "trading_month_max",
    "trading_12m": "trading_12m",
    "days_since_trade": "days_since_trade",
    "days_since_open": "days_since_open",
}
# Extra facts stored with each change beside the measures (CLS-9 "inputs").
CONTEXT_COLUMNS = {"assets": ("assets_date",)}


def partitions(
    root: Path, name: str, *, start: dt.date | None, end: dt.date
) -> list[tuple[dt.date, Path]]:
    """The archived partitions of ``name`` dated within [start, end], oldest first."""
    return [
        (day, path)
        for day, path in duck.archived(root, name)
        if (start is None or day >= start) and day <= end
    ]


def scan(paths: Sequence[Path], columns: str) -> str:
    """``columns`` of the given archive files, the partition date as column ``date``."""
    return f"(SELECT {columns} FROM {duck.read_parquet(paths)})"


@dataclass(frozen=True)
class Scope:
    """Which clients a rating looks at."""

    rating_date: dt.date
    statistical_date: dt.date
    commission_year: int
    opened_from: dt.date | None = None
    client_id: str | None = None


class Inputs:
    """Builds ``rated`` and ``measured`` (one row per rated client) in one DuckDB connection.

    ``rated`` is materialised (counts and candidates read it again); every measure is
    a common table expression of the one statement that builds ``measured``, which
    also evaluates the caller's ``extra`` columns (the compiled class standards).
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, root: Path, scope: Scope) -> None:
        self.con, self.root, self.scope = con, root, scope

    def _files(self, name: str, start: dt.date | None, end: dt.date) -> list[Path]:
        return [path for _, path in partitions(self.root, name, start=start, end=end)]

    def _client_filter(self) -> tuple[str, list[Any]]:
        if self.scope.client_id is None:
            return "", []
        return " AND client_id = ?", [self.scope.client_id]

    def build(
        self, measures: Iterable[str], extra: Sequence[tuple[str, str, list[Any]]] = ()
    ) -> None:
        """``rated`` and ``measured``; ``extra`` = (name, SQL over the measures, parameters)."""
        wanted = set(measures)
        self._rated()
        parts = ["r.client_id"]
        joins: list[str] = []
        ctes: list[str] = []
        params: list[Any] = []
        if "assets" in wanted:
            sql, values = self._assets()
            ctes.append(f"m_assets AS ({sql})")
            params += values
            parts += ["coalesce(a.assets, 0) AS assets", "a.assets_date"]
            joins.append("LEFT JOIN m_assets a USING (client_id)")
        if "commission_year" in wanted:
            sql, values = self._commissions()
            ctes.append(f"m_commission AS ({sql})")
            params += values
            parts.append("coalesce(c.commission_year, 0) AS commission_year")
            joins.append("LEFT JOIN m_commission c USING (client_id)")
        if wanted & {"trading_month", "trading_month_max", "trading_12m"}:
            sql, values = self._trading()
            ctes.append(f"m_trading AS ({sql})")
            params += values
            trading = ("trading_month", "trading_month_max", "trading_12m")
            parts += [f"coalesce(t.{m}, 0) AS {m}" for m in trading]
            joins.append("LEFT JOIN m_trading t USING (client_id)")
        stat = self.scope.statistical_date
        inner: list[Any] = []
        if "days_since_trade" in wanted:
            sql, values = self._last_trade()
            ctes.append(f"m_last_trade AS ({sql})")
            params += values
            parts.append(
                "date_diff('day', greatest(CASE WHEN r.last_trade_date <= ? THEN r.last_trade_date END, "
                "lt.last_trade, r.open_date), ?::DATE) AS days_since_trade"
            )
            inner += [stat, stat]
            joins.append("LEFT JOIN m_last_trade lt USING (client_id)")
        if "days_since_open" in wanted:
            parts.append("date_diff('day', r.open_date, ?::DATE) AS days_since_open")
            inner.append(stat)
        outer = ["m.*"] + [f"({sql}) AS {name}" for name, sql, _values in extra]
        params += [value for _name, _sql, values in extra for value in values] + inner
        with_ = f"WITH {', '.join(ctes)} " if ctes else ""
        duck.run(
            self.con,
            f"CREATE OR REPLACE TEMP TABLE measured AS {with_}SELECT {', '.join(outer)} "
            f"FROM (SELECT {', '.join(parts)} FROM rated r {' '.join(joins)}) m",
            params,
        )
        if "assets" in wanted:
            self._older_assets(extra)

    def _older_assets(self, extra: Sequence[tuple[str, str, list[Any]]]) -> None:
        """Clients absent from the latest snapshot keep their last known one (then re-ranked).

        The main statement joins the latest snapshot only; older partitions are read
        afterwards, and only for the clients it left without a snapshot — usually none,
        so the common case costs one count.
        """
        found = partitions(self.root, "assets", start=None, end=self.scope.statistical_date)
        older = [path for _, path in found[:-1]]
        if not older:
            return
        missing = "SELECT client_id FROM measured WHERE assets_date IS NULL"
        if self.con.execute(f"SELECT count(*) FROM ({missing})").fetchall()[0][0] == 0:
            return
        where, params = self._client_filter()
        duck.run(
            self.con,
            "CREATE OR REPLACE TEMP TABLE m_older AS "
            f"SELECT client_id, arg_max(total_assets, {DAY}) AS assets, max({DAY}) AS assets_date "
            f"FROM {scan(older, f'client_id, total_assets, {DAY}')} "
            f"WHERE client_id IN ({missing}){where} GROUP BY client_id",
            params,
        )
        duck.run(
            self.con,
            "UPDATE measured SET assets = o.assets, assets_date = o.assets_date "
            "FROM m_older o WHERE measured.client_id = o.client_id",
        )
        if extra:  # the class ranks read the assets: evaluate them again for these clients
            sets = ", ".join(f"{name} = ({sql})" for name, sql, _values in extra)
            values = [value for _name, _sql, vals in extra for value in vals]
            duck.run(
                self.con,
                f"UPDATE measured SET {sets} WHERE client_id IN (SELECT client_id FROM m_older)",
                values,
            )

    def _rated(self) -> None:
        files = self._files("clients", None, self.scope.rating_date)
        if not files:
            duck.run(self.con, "CREATE OR REPLACE TEMP TABLE rated (client_id VARCHAR, open_date DATE, "
                     "last_trade_date DATE)")  # fmt: skip
            return
        columns = "client_id, open_date, close_date, status, last_trade_date"
        where, params = self._client_filter()
        if len(files) == 1:
            latest = f"SELECT {columns} FROM {scan(files, columns)} WHERE true{where}"
        else:  # day 1 carries everyone, later days the new and changed rows: the latest wins
            fields = ", ".join(f"{c} := {c}" for c in columns.split(", ")[1:])
            latest = (
                f"SELECT client_id, unnest(arg_max(struct_pack({fields}), {DAY})) "
                f"FROM {scan(files, f'{columns}, {DAY}')} WHERE true{where} GROUP BY client_id"
            )
        opened = " AND open_date >= ?" if self.scope.opened_from else ""
        params += [self.scope.statistical_date, self.scope.rating_date]
        params += [self.scope.opened_from] if self.scope.opened_from else []
        duck.run(
            self.con,
            "CREATE OR REPLACE TEMP TABLE rated AS SELECT client_id, open_date, last_trade_date "
            f"FROM ({latest}) WHERE open_date <= ? AND coalesce(status, 'normal') <> 'closed' "
            f"AND (close_date IS NULL OR close_date > ?){opened}",
            params,
        )

    def _assets(self) -> tuple[str, list[Any]]:
        """The latest snapshot on or before the statistical date (older ones: ``_older_assets``)."""
        found = partitions(self.root, "assets", start=None, end=self.scope.statistical_date)
        if not found:
            return (
                "SELECT NULL::VARCHAR AS client_id, NULL::DECIMAL(18, 2) AS assets, NULL::DATE AS assets_date WHERE false",
                [],
            )
        day, latest = found[-1]
        where, params = self._client_filter()
        source = f"SELECT client_id, total_assets FROM {scan([latest], 'client_id, total_assets')} WHERE true{where}"
        sql = f"SELECT client_id, total_assets AS assets, ?::DATE AS assets_date FROM ({source})"
        return sql, [day, *params]

    def _commissions(self) -> tuple[str, list[Any]]:
        """The commission year: its year row where present, else the sum of its months."""
        year = str(self.scope.commission_year)
        files = self._files("commissions", dt.date(int(year), 1, 1), self.scope.rating_date)
        if not files:
            return (
                "SELECT NULL::VARCHAR AS client_id, NULL::DECIMAL(18, 2) AS commission_year WHERE false",
                [],
            )
        where, params = self._client_filter()
        source = scan(files, f"client_id, period, net_commission AS amount, {DAY}")
        rows = f"SELECT client_id, period, amount FROM {source} WHERE (period = ? OR period LIKE ?){where}"
        if len(files) > 1:  # a (client, period) sent again later: the latest copy counts
            rows = (
                f"SELECT client_id, period, arg_max(amount, {DAY}) AS amount FROM {source} "
                f"WHERE (period = ? OR period LIKE ?){where} GROUP BY client_id, period"
            )
        sql = (
            "SELECT client_id, CAST(coalesce(max(amount) FILTER (WHERE period = ?), "
            f"sum(amount) FILTER (WHERE period <> ?)) AS {MONEY}) AS commission_year "
            f"FROM ({rows}) GROUP BY client_id"
        )
        return sql, [year, year, year, f"{year}-%", *params]

    def _trading(self) -> tuple[str, list[Any]]:
        """Monthly traded amounts over the 12 months to the statistical date."""
        stat = self.scope.statistical_date
        start = (stat.replace(day=1) - dt.timedelta(days=335)).replace(day=1)
        files = self._files("trades", start, stat)
        if not files:
            empty = ", ".join(
                f"NULL::{MONEY} AS {m}"
                for m in ("trading_month", "trading_month_max", "trading_12m")
            )
            return f"SELECT NULL::VARCHAR AS client_id, {empty} WHERE false", []
        where, params = self._client_filter()
        monthly = (
            f"SELECT client_id, date_trunc('month', {DAY}) AS month, sum(trade_amount) AS amount "
            f"FROM {scan(files, f'client_id, trade_amount, {DAY}')} WHERE true{where} GROUP BY ALL"
        )
        sql = (
            f"SELECT client_id, CAST(sum(amount) FILTER (WHERE month = ?) AS {MONEY}) AS trading_month, "
            f"CAST(max(amount) AS {MONEY}) AS trading_month_max, CAST(sum(amount) AS {MONEY}) AS trading_12m "
            f"FROM ({monthly}) GROUP BY client_id"
        )
        return sql, [stat.replace(day=1), *params]

    def _last_trade(self) -> tuple[str, list[Any]]:
        """The last archived trade of each client, up to a year before the statistical date."""
        stat = self.scope.statistical_date
        files = self._files("trades", stat - dt.timedelta(days=366), stat)
        if not files:
            return "SELECT NULL::VARCHAR AS client_id, NULL::DATE AS last_trade WHERE false", []
        where, params = self._client_filter()
        source = scan(files, f"client_id, {DAY}")
        return (
            f"SELECT client_id, max({DAY}) AS last_trade FROM {source} WHERE true{where} GROUP BY client_id",
            params,
        )
