"""Exceptions of the GIS package.

Hierarchy (one root, so callers can catch everything the importer raises on purpose)::

    GisError                  root; never raised directly
    ├── InputError            the input cannot be imported at all (message names file/line/reason)
    │   ├── ParseError        malformed XML, wrong root element, truncated file, 0-byte file
    │   └── CrsError          unknown or unsupported srsName
    ├── UploadError           rejected upload (size limit, zip bomb, bad archive); has ``code``
    ├── DatasetError          dataset id invalid or dataset missing
    └── Cancelled             the run was cancelled through the feedback object

Per-building problems (no geometry, self-intersecting ring, unknown code, duplicate gml:id) are
*not* exceptions: they are counted as warnings on the pipeline's Feedback and the building is
repaired, marked unknown or skipped.
"""

from __future__ import annotations


class GisError(Exception):
    """Root of every error the GIS package raises deliberately."""


class InputError(GisError):
    def __init__(self, reason: str, *, file: str | None = None, line: int | None = None) -> None:
        self.reason = reason
        self.file = file
        self.line = line
        super().__init__(self.describe())

    def describe(self) -> str:
        where = self.file or "<input>"
        if self.line is not None:
            where += f":{self.line}"
        return f"{where}: {self.reason}"

    def to_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "reason": self.reason}


class ParseError(InputError):
    pass


class CrsError(InputError):
    pass


class UploadError(GisError):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        self.code = code
        self.status = status
        super().__init__(message)


class DatasetError(GisError):
    pass


class Cancelled(GisError):
    pass
