"""Who is connected: one ``Principal`` per socket or HTTP request, set by the server from its
session (cookie) or an API token, never from a field the client sends."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from yakuba.world.zones import Role


class Kind(str, Enum):
    RESIDENT = "resident"  # anonymous visitor: no account
    STAFF = "staff"  # a municipality's staff member, with roles
    ADMIN = "admin"  # runs the installation (datasets, accounts); also staff of its municipality


@dataclass(frozen=True)
class Principal:
    kind: Kind = Kind.RESIDENT
    staff_id: int | None = None  # staff_accounts.id
    municipality: str | None = None  # municipalities.code (全国地方公共団体コード)
    roles: frozenset[str] = field(default_factory=frozenset)
    session_id: str | None = None  # the server-side session this came from (revocable)
    client_key: str | None = None  # a stable key for anonymous rate limits (socket sid, address)
    # Server-issued identity (issue #20), from the session the server wrote at login: the
    # account's display name and department, its municipality's name, and ``verified`` when the
    # server itself established that this person is staff of that (then active) municipality:
    # an account an administrator made, an invitation, or the municipality's identity provider.
    display_name: str | None = None
    municipality_name: str | None = None
    department: str | None = None
    verified: bool = False
    # The salon's code of conduct (issue #20) accepted by this account: read from the database by
    # the server (server/salon/conduct.py), never from the client.
    salon_conduct: bool = False

    @property
    def is_staff(self) -> bool:
        return self.kind in (Kind.STAFF, Kind.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.kind is Kind.ADMIN

    @property
    def world_role(self) -> Role:
        """The role the pure world rules know (zones.may_enter)."""
        return Role.STAFF if self.is_staff else Role.RESIDENT

    @property
    def key(self) -> str:
        """Id for per-principal limits and audit lines: never a name."""
        if self.staff_id is not None:
            return f"staff:{self.staff_id}"
        if self.kind is Kind.ADMIN:
            return "admin:api-token"
        return f"anon:{self.client_key or '-'}"

    @property
    def is_verified_staff(self) -> bool:
        """Staff of a municipality whose identity the server established (the salon's members)."""
        return self.is_staff and self.verified and self.staff_id is not None and self.municipality is not None

    def public(self) -> dict:
        """What the client may be told about itself."""
        return {"kind": self.kind.value, "municipality": self.municipality, "roles": sorted(self.roles)}

    def card(self) -> dict:
        """The identity others see in the salon (name tag, presence board): only what the server
        set; a client has no field that reaches it."""
        return {"staff": self.staff_id, "display_name": self.display_name, "department": self.department,
                "municipality": {"code": self.municipality, "name": self.municipality_name},
                "verified": self.is_verified_staff}


ANONYMOUS = Principal()


def resident(client_key: str | None = None) -> Principal:
    return Principal(kind=Kind.RESIDENT, client_key=client_key)


__all__ = ["ANONYMOUS", "Kind", "Principal", "resident"]
