"""Who is calling, and what their role lets them do. Pure: built from rows, decided without I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

USER, ADMIN, SUPER_ADMIN = 1, 2, 3

# The role actions this server checks (Zabbix's names; ZA §1.3 step 3, plus token management).
ACTIONS = (
    "close_problems",
    "acknowledge_problems",
    "add_problem_comments",
    "change_severity",
    "suppress_problems",
    "change_problem_ranking",
    "manage_api_tokens",
)

API_MODE_DENY, API_MODE_ALLOW = 0, 1


@dataclass(frozen=True)
class RoleRules:
    actions_default_access: bool = True
    actions: tuple[tuple[str, bool], ...] = ()
    """Per-action overrides of the default access, as (name, allowed)."""
    api_access: bool = True
    api_mode: int = API_MODE_DENY
    api_methods: tuple[str, ...] = ()
    """Method masks: `event.acknowledge`, `event.*`, `*.get`, `*`."""

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, int, str]]) -> RoleRules:
        """From `role_rule` rows of (name, value_int, value_str)."""
        default_access, api_access, api_mode = True, True, API_MODE_DENY
        actions: list[tuple[str, bool]] = []
        methods: list[tuple[int, str]] = []
        for name, value_int, value_str in rows:
            if name == "actions.default_access":
                default_access = bool(value_int)
            elif name.startswith("actions."):
                actions.append((name[len("actions.") :], bool(value_int)))
            elif name == "api.access":
                api_access = bool(value_int)
            elif name == "api.mode":
                api_mode = value_int
            elif name.startswith("api.method."):
                methods.append((int(name.rsplit(".", 1)[1]), value_str))
        return cls(default_access, tuple(sorted(actions)), api_access, api_mode, tuple(m for _, m in sorted(methods)))

    def to_rows(self) -> list[tuple[str, int, str]]:
        rows = [("actions.default_access", int(self.actions_default_access), "")]
        rows += [(f"actions.{name}", int(allowed), "") for name, allowed in self.actions]
        rows += [("api.access", int(self.api_access), ""), ("api.mode", self.api_mode, "")]
        rows += [(f"api.method.{i}", 0, mask) for i, mask in enumerate(self.api_methods)]
        return rows

    def allows_action(self, action: str) -> bool:
        return dict(self.actions).get(action, self.actions_default_access)

    def allows_method(self, method: str) -> bool:
        """`method` is the canonical lower-case name."""
        if not self.api_access:
            return False
        listed = any(fnmatchcase(method, mask.lower()) for mask in self.api_methods)
        return listed if self.api_mode == API_MODE_ALLOW else not listed


@dataclass(frozen=True)
class Caller:
    userid: int
    username: str
    type: int
    roleid: int
    rules: RoleRules
    sessionid: str | None = None
    tokenid: int | None = None

    @property
    def is_super_admin(self) -> bool:
        return self.type == SUPER_ADMIN

    @property
    def viewer(self) -> int | None:
        """Whose rights filter what this caller sees: its userid, or None for a super admin (no filter)."""
        return None if self.is_super_admin else self.userid

    def may(self, action: str) -> bool:
        return self.rules.allows_action(action)
