"""HTTP request and response bodies.

Requests are parsed with a ``from_...`` classmethod that raises ``ProtocolError`` (code, message,
HTTP status) so a route answers ``{"error": {"code", "message"}}`` with one log line; the messages
are the ones the routes gave before these models existed. Responses are models the routes' JSON
is held to in tests and in docs/protocol.schema.json.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, StrictInt, StrictStr, ValidationError

from yakuba.gis.firespread import FireSpreadError
from yakuba.gis.firespread.montecarlo import MAX_RUNS
from yakuba.gis.firespread.scenarios import MAX_HOURS, MAX_IGNITIONS, Scenario, parse_scenario
from yakuba.gis.pipeline import DATASET_ID_RE, slugify

from .errors import ErrorCode, ProtocolError
from .events import PrincipalOut

MAX_BODY_BYTES = 2 * 1024 * 1024  # JSON request bodies (uploads have their own limit)


def _first_error(e: ValidationError) -> str:
    first = e.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    return (f"{where}: " if where else "") + str(first.get("msg", "invalid"))


def json_body(raw: bytes, max_bytes: int = MAX_BODY_BYTES) -> dict[str, Any]:
    """Decode a JSON object body: too_large, invalid_json; an empty body is ``{}``."""
    if len(raw) > max_bytes:
        raise ProtocolError(ErrorCode.TOO_LARGE, f"request body over {max_bytes} bytes")
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise ProtocolError(ErrorCode.INVALID_JSON, "body is not valid JSON") from None
    except RecursionError:  # thousands of nested brackets: refused, not a 500
        raise ProtocolError(ErrorCode.INVALID_JSON, "body is nested too deeply") from None
    if not isinstance(body, dict):
        raise ProtocolError(ErrorCode.INVALID_JSON, "body must be a JSON object")
    return body


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @classmethod
    def from_body(cls, body: Any):  # -> Self
        """Validate a decoded JSON body; invalid_request with the first problem's path."""
        if not isinstance(body, dict):
            raise ProtocolError(ErrorCode.INVALID_JSON, "body must be a JSON object")
        try:
            return cls.model_validate(body)
        except ValidationError as e:
            raise ProtocolError(ErrorCode.INVALID_REQUEST, _first_error(e)[:200]) from None


# --- errors ---------------------------------------------------------------------------------------
class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: ErrorCode
    message: str


class ErrorBody(BaseModel):
    """Every HTTP error: ``{"error": {"code", "message"}}``."""

    model_config = ConfigDict(extra="forbid")
    error: ErrorDetail


# --- identity ---------------------------------------------------------------------------------
class LoginIn(_Body):
    """POST /api/auth/login. Strict strings: a number is not a user name."""

    model_config = ConfigDict(extra="forbid", strict=True)
    username: Annotated[StrictStr, Field(min_length=1, max_length=100)]
    password: Annotated[StrictStr, Field(min_length=1, max_length=1024)]


class MeOut(BaseModel):
    """The answer of GET /api/auth/me, POST /api/auth/login and /logout: who the session says
    you are (``Principal.public()``) and the CSRF token the page sends back as ``X-CSRF-Token``
    (absent or null without a staff session)."""

    model_config = ConfigDict(extra="forbid")
    principal: PrincipalOut
    csrf: str | None = None


# --- datasets and jobs ------------------------------------------------------------------------
class UploadParams(BaseModel):
    """Query parameters of POST /api/datasets (the body is the archive or the .gml itself)."""

    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=200)]
    id: Annotated[str, Field(pattern=DATASET_ID_RE.pattern)] = Field(description="default: slugify(name)")
    lod: Literal[1, 2] = 1

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> "UploadParams":
        """Other query parameters are ignored (cache busters and the like)."""
        name = (query.get("name") or "").strip()
        if not name:
            raise ProtocolError(ErrorCode.MISSING_NAME, "query parameter 'name' is required")
        if len(name) > 200:
            raise ProtocolError(ErrorCode.INVALID_REQUEST, "name longer than 200 characters")
        ds = query.get("id") or slugify(name)
        if not DATASET_ID_RE.match(ds):
            raise ProtocolError(ErrorCode.INVALID_ID, "dataset id must match " + DATASET_ID_RE.pattern)
        try:
            lod = int(query.get("lod", "1"))
        except ValueError:
            lod = 0
        if lod not in (1, 2):
            raise ProtocolError(ErrorCode.INVALID_LOD, "lod must be 1 or 2")
        return cls(name=name, id=ds, lod=lod)


class AuditQuery(BaseModel):
    """Query of GET /api/audit: ``?kind=booth&before=<id>&limit=100&since=<ISO time>``."""

    model_config = ConfigDict(extra="ignore")  # cache busters and the like
    limit: Annotated[int, Field(ge=1, le=500)] = 100
    before: Annotated[int, Field(ge=1, le=2**62)] = 2**62
    kind: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    since: datetime | None = None

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> "AuditQuery":
        try:
            return cls.model_validate({k: v for k, v in query.items() if v != ""})
        except ValidationError as e:
            raise ProtocolError(ErrorCode.INVALID_REQUEST, _first_error(e)[:200]) from None


class WeatherIn(BaseModel):
    """A preset (最頻, 最悪, ...) and/or explicit values; explicit values override the preset."""

    model_config = ConfigDict(extra="forbid")
    preset: str | None = None
    speed: float | None = Field(None, description="wind speed, m/s")
    direction: float | None = Field(None, description="wind from, degrees clockwise from north")
    humidity: float | None = Field(None, description="relative humidity, %")
    gust: float | None = Field(None, description="peak gust, m/s (firebrands only)")
    name: str | None = None


class MonteCarloIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    runs: Annotated[StrictInt, Field(ge=1, le=MAX_RUNS)]


_SIM_FIELDS = ("weather", "scenario", "ignition", "hours", "seed", "spotting", "montecarlo", "model", "suppression")


class SuppressionIn(BaseModel):
    """Fire brigades as a planning assumption (gis/firespread/suppression.py)."""

    model_config = ConfigDict(extra="forbid")
    delay_min: float = Field(10.0, ge=0, le=180, description="first brigade's arrival after ignition, minutes")
    brigades: StrictInt = Field(5, ge=1, le=200)
    front_m: float = Field(40.0, ge=5, le=200, description="metres of fire front one brigade holds")
    interval_min: float = Field(5.0, ge=0, le=60, description="minutes between arrivals")


class SimulationIn(BaseModel):
    """POST /api/datasets/{id}/simulations. Top-level weather/ignition/hours/seed/spotting
    override the inline scenario's (see gis/firespread/scenarios.py for the scenario document).
    Parse with ``from_body``: the scenario parser's own messages are kept, and the size limits
    answer 413 too_large rather than 400."""

    model_config = ConfigDict(extra="forbid")
    weather: WeatherIn | None = None
    scenario: dict[str, Any] | None = Field(None, description="an inline scenario document")
    ignition: list[str] | str | None = Field(None, description=f"gml:ids alight at t = 0 (at most {MAX_IGNITIONS})")
    hours: float | None = Field(None, gt=0, le=MAX_HOURS)
    seed: float | None = Field(None, ge=0, le=2**32 - 1, description="an integer")
    spotting: bool | None = None
    model: Literal["hamada", "physics"] | None = Field(None, description="spread model (default hamada)")
    suppression: SuppressionIn | None = Field(None, description="fire brigades; absent or null: none")
    montecarlo: MonteCarloIn | None = Field(None, description="burn probability over many runs instead of one run")
    _parsed: Scenario = PrivateAttr(default_factory=Scenario)

    @classmethod
    def from_bytes(cls, raw: bytes) -> "SimulationIn":
        return cls.from_body(json_body(raw))

    @classmethod
    def from_body(cls, body: Any) -> "SimulationIn":
        if not isinstance(body, dict):
            raise ProtocolError(ErrorCode.INVALID_JSON, "body must be a JSON object")
        extra = set(body) - set(_SIM_FIELDS)
        if extra:
            raise ProtocolError(ErrorCode.INVALID_REQUEST, f"unknown field(s) {', '.join(sorted(extra))}")
        doc = body.get("scenario") or {}
        if not isinstance(doc, dict):
            raise ProtocolError(ErrorCode.INVALID_REQUEST, "scenario must be an object")
        doc = dict(doc)
        for k in ("weather", "ignition", "hours", "seed", "spotting", "model", "suppression"):
            if k in body:
                doc[k] = body[k]
        # The size limits answer 413 (a huge request), everything else 400 from the parser.
        ign = doc.get("ignition")
        if isinstance(ign, list) and len(ign) > MAX_IGNITIONS:
            raise ProtocolError(ErrorCode.TOO_LARGE, f"{len(ign)} ignition points, more than the {MAX_IGNITIONS} allowed")
        h = doc.get("hours")
        if isinstance(h, (int, float)) and not isinstance(h, bool) and h > MAX_HOURS:
            raise ProtocolError(ErrorCode.TOO_LARGE, f"hours must be <= {MAX_HOURS:g}")
        try:
            parsed = parse_scenario(doc)
        except FireSpreadError as e:
            raise ProtocolError(ErrorCode.INVALID_SCENARIO, str(e)) from None
        mc = body.get("montecarlo")
        if mc is not None:
            runs = mc.get("runs") if isinstance(mc, dict) else None
            if not isinstance(runs, int) or isinstance(runs, bool) or runs < 1:
                raise ProtocolError(ErrorCode.INVALID_REQUEST, "montecarlo must be {\"runs\": positive integer}")
            if runs > MAX_RUNS:
                raise ProtocolError(ErrorCode.TOO_LARGE, f"montecarlo runs must be <= {MAX_RUNS}")
        try:
            # An empty scenario of any kind ([] "" 0) has always meant "none": keep accepting it.
            out = cls.model_validate({**body, "scenario": body.get("scenario") or None})
        except ValidationError as e:  # what the scenario parser let through but the schema does not
            raise ProtocolError(ErrorCode.INVALID_REQUEST, _first_error(e)[:200]) from None
        out._parsed = parsed
        return out

    def to_scenario(self) -> Scenario:
        """The validated scenario (top-level fields merged in)."""
        return self._parsed

    @property
    def runs(self) -> int | None:
        """Monte Carlo runs, or None for a single run."""
        return self.montecarlo.runs if self.montecarlo else None


JobKind = Literal["import", "simulation", "montecarlo"]
JobState = Literal["queued", "running", "done", "failed", "cancelled"]


class JobError(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: ErrorCode
    message: str
    file: str | None = Field(None, description="invalid_input: the file name (never a path)")
    line: int | None = None


class JobOut(BaseModel):
    """GET /api/jobs/{id} (and each item of GET /api/jobs; GET /api/simulations/{id} adds the
    result inline when done)."""

    model_config = ConfigDict(extra="forbid")
    id: str
    kind: JobKind
    dataset: str
    state: JobState
    progress: float = Field(0.0, ge=0, le=1)
    stage: str | None = None
    error: JobError | None = None
    result: dict[str, Any] | None = None
    result_url: str | None = None
    created: float | None = Field(None, description="seconds since the epoch")
    elapsed_s: float | None = None


class JobCreatedOut(BaseModel):
    """202 answer to a request that starts a job."""

    model_config = ConfigDict(extra="forbid")
    id: str
    status_url: str


class JobListOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    jobs: list[JobOut]


# Every HTTP model, for the JSON Schema export.
HTTP_MODELS: tuple[type[BaseModel], ...] = (
    ErrorBody, LoginIn, MeOut, UploadParams, SimulationIn, JobOut, JobCreatedOut, JobListOut, AuditQuery,
)

__all__ = [
    "HTTP_MODELS", "MAX_BODY_BYTES", "AuditQuery", "ErrorBody", "ErrorDetail", "JobCreatedOut", "JobError", "JobListOut", "JobOut",
    "LoginIn", "MeOut", "MonteCarloIn", "SimulationIn", "UploadParams", "WeatherIn", "json_body",
]
