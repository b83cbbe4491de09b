"""Weather for a run: wind speed, direction (meteorological: where it blows *from*, degrees
clockwise from north) and relative humidity.

Presets (values are planning assumptions, documented in docs/firespread.md):

* 最悪 (worst): a strong dry winter monsoon wind, 12 m/s from the north-northwest, 30 % RH —
  the kind of day of the 1976 Sakata and 2016 Itoigawa fires (both ~ 10-15 m/s).
* 最頻 (most frequent): 3 m/s from the north-northeast, 60 % RH — Osaka's most frequent wind
  direction and a typical speed; change ``direction_deg`` for other cities.
* 静穏 (calm): no wind, 60 % RH; spread is then the same in every direction.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from . import FireSpreadError

MAX_WIND_MS = 40.0  # Hamada's fits stop well below this; reject obvious unit mistakes (km/h)


class WeatherError(FireSpreadError):
    """Invalid weather input."""


@dataclass(frozen=True)
class Weather:
    speed_ms: float = 0.0
    direction_deg: float = 0.0  # wind FROM, clockwise from north
    humidity_pct: float = 60.0
    name: str = "custom"
    # Peak gust, m/s (0: not given). Only firebrands use it: lofting follows the gusts, as at
    # Itoigawa (10-min mean 14 m/s, gusts 24 m/s); the spread itself follows the mean wind.
    gust_ms: float = 0.0

    def __post_init__(self) -> None:
        for k in ("speed_ms", "direction_deg", "humidity_pct", "gust_ms"):
            v = getattr(self, k)
            if not isinstance(v, (int, float)) or not math.isfinite(v):
                raise WeatherError(f"weather {k} must be a finite number, got {v!r}")
        if self.speed_ms < 0:
            raise WeatherError(f"wind speed must be >= 0 m/s, got {self.speed_ms}")
        if self.speed_ms > MAX_WIND_MS:
            raise WeatherError(f"wind speed {self.speed_ms} m/s is above the supported {MAX_WIND_MS} m/s")
        if not 0 <= self.humidity_pct <= 100:
            raise WeatherError(f"humidity must be within 0..100 %, got {self.humidity_pct}")
        if self.gust_ms and not self.speed_ms <= self.gust_ms <= 2 * MAX_WIND_MS:
            raise WeatherError(f"gust must be within the wind speed ({self.speed_ms} m/s) and {2 * MAX_WIND_MS:g} m/s, got {self.gust_ms}")

    @property
    def lofting_ms(self) -> float:
        """The wind that lofts firebrands: the gust when given, else the mean."""
        return max(self.speed_ms, self.gust_ms)

    @property
    def downwind_bearing_deg(self) -> float:
        """Where the wind blows *to*, clockwise from north."""
        return (self.direction_deg + 180.0) % 360.0

    def to_dict(self) -> dict:
        return asdict(self)


PRESETS: dict[str, Weather] = {
    "最悪": Weather(12.0, 337.5, 30.0, "最悪"),
    "最頻": Weather(3.0, 22.5, 60.0, "最頻"),
    "静穏": Weather(0.0, 0.0, 60.0, "静穏"),
}
PRESET_ALIASES = {"worst": "最悪", "frequent": "最頻", "calm": "静穏"}


def preset(name: str) -> Weather:
    key = PRESET_ALIASES.get(name, name)
    if key not in PRESETS:
        raise WeatherError(f"unknown weather preset {name!r} (use one of {', '.join(PRESETS)} or worst/frequent/calm)")
    return PRESETS[key]


def weather_from_dict(d: dict | None) -> Weather:
    """{'preset': '最悪'} or {'speed': 8, 'direction': 315, 'humidity': 40}; presets can be
    overridden field by field ({'preset': '最頻', 'speed': 5})."""
    if d is None:
        return PRESETS["最頻"]
    if not isinstance(d, dict):
        raise WeatherError("weather must be an object")
    unknown = set(d) - {"preset", "speed", "direction", "humidity", "name", "gust"}
    if unknown:
        raise WeatherError(f"unknown weather field(s): {', '.join(sorted(unknown))}")
    base = preset(d["preset"]) if "preset" in d else Weather(name="custom")

    def num(key: str, default: float) -> float:
        v = d.get(key, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise WeatherError(f"weather {key} must be a number, got {v!r}")
        return float(v)

    return Weather(
        speed_ms=num("speed", base.speed_ms),
        direction_deg=num("direction", base.direction_deg) % 360.0,
        humidity_pct=num("humidity", base.humidity_pct),
        gust_ms=num("gust", base.gust_ms),
        name=str(d.get("name", base.name if not (set(d) - {"preset"}) else base.name + "+custom" if "preset" in d else "custom")),
    )
