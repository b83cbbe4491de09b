"""Errors of the record layer. ``RecordError`` is the root; each carries a stable ``code`` that
the CLI prints and HTTP routes may return. Messages name the offending key (a username or a
municipality code the operator typed), never a password or hash."""

from __future__ import annotations


class RecordError(Exception):
    code = "record_error"


class InvalidRecord(RecordError):
    code = "invalid"


class Duplicate(RecordError):
    code = "duplicate"


class DuplicateMunicipality(Duplicate):
    code = "duplicate_municipality"


class DuplicateUsername(Duplicate):
    code = "duplicate_username"


class UnknownMunicipality(RecordError):
    code = "unknown_municipality"


class UnknownStaff(RecordError):
    code = "unknown_staff"


class InvitationRefused(RecordError):
    """An invitation that cannot be used: ``code`` says why (unknown, used, expired, or its
    municipality suspended). Callers answer the same thing for all of them."""

    def __init__(self, code: str, message: str = "invitation not valid") -> None:
        super().__init__(message)
        self.code = code


class MunicipalitySuspended(RecordError):
    code = "municipality_suspended"


__all__ = ["InvitationRefused", "MunicipalitySuspended", "Duplicate", "DuplicateMunicipality", "DuplicateUsername", "InvalidRecord", "RecordError",
           "UnknownMunicipality", "UnknownStaff"]
