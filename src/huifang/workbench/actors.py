"""Who acts in the workbench: a signed-in user (UI) or an API token's user, with his staff record.

Every service takes an ``Actor``; the UI and the API build it the same way, so the
same rules apply whichever way a callback is worked (issue: "the same services").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from huifang.accounts.models import User
from huifang.org.models import Staff
from huifang.workbench.errors import WorkbenchRefused


@dataclass(frozen=True)
class Actor:
    user: User
    staff: Staff | None
    roles: frozenset[str] = field(default_factory=frozenset)
    channel: str = "ui"  # ui | api | questionnaire

    @property
    def name(self) -> str:
        return self.user.get_username()

    def has(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))

    def need_staff(self) -> Staff:
        if self.staff is None:
            raise WorkbenchRefused("no_staff", "当前用户未关联员工,不能办理回访", status=403)
        return self.staff


def actor_of(user: Any, channel: str = "ui") -> Actor:
    """The actor for ``user`` (roles read once)."""
    staff = getattr(user, "staff", None)
    return Actor(user=user, staff=staff, roles=frozenset(user.roles()), channel=channel)
