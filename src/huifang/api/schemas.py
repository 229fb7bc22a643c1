"""Request and response schemas of the API (SPEC §1 ``margin_events`` / ``account_events``).

The request fields are the §1 columns with their codes and limits; unknown fields
are refused (a margin event with an ``amount`` is a mistake worth a 422). A time
without a zone is Asia/Shanghai, as in the feeds.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Schema
from pydantic import ConfigDict, Field, field_validator

from huifang.clients.choices import AccountEventType, MarginEventType
from huifang.core.clock import SHANGHAI

Key = Field(min_length=1, max_length=64, pattern=r"^\S+$")
ClientKey = Field(min_length=1, max_length=32, pattern=r"^\S+$")


class EventIn(Schema):
    model_config = ConfigDict(extra="forbid")

    event_id: str = Key
    client_id: str = ClientKey
    event_time: dt.datetime | None = None
    detail: str = Field("", max_length=1000)

    @field_validator("event_time")
    @classmethod
    def _local(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=SHANGHAI)
        return value


class MarginEventIn(EventIn):
    """A margin-trading event (§1 ``margin_events``): MRG-3 margin call, MRG-4 forced liquidation …"""

    event_type: MarginEventType
    security_code: str = Field("", max_length=16)


class AccountEventIn(EventIn):
    """An important account operation (§1 ``account_events``): SPC-2."""

    event_type: AccountEventType
    amount: Decimal | None = Field(None, ge=0, max_digits=18, decimal_places=2)
    staff_id: str | None = Field(None, min_length=1, max_length=32)


class PurposeOut(Schema):
    rule_id: str
    rule_code: str
    key: str
    due_date: dt.date


class TaskOut(Schema):
    task_id: int
    level: str
    kind: str
    status: str
    due_date: dt.date
    assignee: str | None
    unassigned_reason: str
    purposes: list[PurposeOut]


class EventOut(Schema):
    event_id: str
    kind: str
    created: bool = Field(description="False when the same event was posted before")
    business_date: dt.date
    rules: list[str] = Field(description="the event rules of the policy in force it triggers")
    tasks: list[TaskOut]


class ErrorOut(Schema):
    detail: str
