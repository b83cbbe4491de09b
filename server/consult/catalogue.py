"""Departments and consultation topics, as data (assets/consult/catalogue.json by default).

The file is meant to be edited by a municipality's staff without code: ids are stable keys that
tickets, reservations and audit records carry; names are what residents read (ja/en); ``minutes``
is the typical service time, the wait estimate's prior until real service times are known;
``booths`` are the consultation booths (zones) that serve the department's topics (a topic may
override them). Loading validates everything and names the first problem, so a typo fails at
start, not when a resident picks the topic.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "assets" / "consult" / "catalogue.json"
ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}(\.[a-z][a-z0-9_]{0,31})?$")


class CatalogueError(ValueError):
    """The catalogue file cannot be used; the message names the problem."""


class _Name(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ja: str = Field(min_length=1, max_length=80)
    en: str = Field(min_length=1, max_length=120)


class _Topic(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    name: _Name
    minutes: int = Field(default=20, ge=1, le=240)
    booths: list[str] | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not ID_RE.match(v):
            raise ValueError(f"bad topic id {v!r}")
        return v


class _Department(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    name: _Name
    booths: list[str] = Field(min_length=1)
    topics: list[_Topic] = Field(min_length=1)


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = 1
    about: str = ""
    departments: list[_Department] = Field(min_length=1)


@dataclass(frozen=True)
class Topic:
    id: str
    department: str
    name_ja: str
    name_en: str
    minutes: int
    booths: tuple[str, ...]

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_ja


@dataclass(frozen=True)
class Department:
    id: str
    name_ja: str
    name_en: str
    topics: tuple[str, ...]


@dataclass
class Catalogue:
    departments: dict[str, Department] = field(default_factory=dict)
    topics: dict[str, Topic] = field(default_factory=dict)

    def topics_for_booth(self, booth: str) -> list[Topic]:
        return [t for t in self.topics.values() if booth in t.booths]

    def public(self) -> dict:
        """What the browser shows at the desk (event/HTTP answer): departments with their topics."""
        return {
            "departments": [
                {"id": d.id, "name": {"ja": d.name_ja, "en": d.name_en},
                 "topics": [{"id": t, "name": {"ja": self.topics[t].name_ja, "en": self.topics[t].name_en}, "minutes": self.topics[t].minutes, "booths": list(self.topics[t].booths)} for t in d.topics]}
                for d in self.departments.values()
            ]
        }


def parse_catalogue(data: object, booths: set[str] | None = None) -> Catalogue:
    """Validate ``data`` (the decoded JSON); ``booths`` are the booth zones the layout has."""
    try:
        f = _File.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CatalogueError(f"catalogue: {where}: {first['msg']}") from None
    cat = Catalogue()
    for d in f.departments:
        if d.id in cat.departments:
            raise CatalogueError(f"catalogue: department {d.id!r} twice")
        ids = []
        for t in d.topics:
            if t.id in cat.topics:
                raise CatalogueError(f"catalogue: topic {t.id!r} twice")
            tb = tuple(t.booths or d.booths)
            unknown = [b for b in tb if booths is not None and b not in booths]
            if unknown:
                raise CatalogueError(f"catalogue: topic {t.id!r} names unknown booth {unknown[0]!r}")
            cat.topics[t.id] = Topic(t.id, d.id, t.name.ja, t.name.en, t.minutes, tb)
            ids.append(t.id)
        cat.departments[d.id] = Department(d.id, d.name.ja, d.name.en, tuple(ids))
    return cat


def load_catalogue(path: Path | None = None, booths: set[str] | None = None) -> Catalogue:
    p = Path(path) if path else DEFAULT_PATH
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise CatalogueError(f"catalogue {p}: {e}") from None
    return parse_catalogue(data, booths)


__all__ = ["Catalogue", "CatalogueError", "DEFAULT_PATH", "Department", "Topic", "load_catalogue", "parse_catalogue"]
