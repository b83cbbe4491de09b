"""The one error-code list, for socket events and HTTP responses alike.

A socket client gets ``error`` {code, message, event}; an HTTP client gets
``{"error": {"code", "message"}}`` with the code's status. Both come from ``ProtocolError``, so a
service can raise the same error whichever way it was called. Messages here are the English
defaults; a raiser may pass a more precise one (the browser translates by code, not by message).
Add a code here (with its message, and its status when HTTP answers with it) before using it.
"""

from __future__ import annotations

from enum import Enum
from typing import Any


class ErrorCode(str, Enum):
    # --- socket events -----------------------------------------------------------------------
    INVALID_PAYLOAD = "invalid_payload"
    UNKNOWN_EVENT = "unknown_event"
    RATE_LIMITED = "rate_limited"
    TOO_LONG = "too_long"
    NOT_JOINED = "not_joined"
    ALREADY_JOINED = "already_joined"
    BLOCKED = "blocked"
    ZONE_FORBIDDEN = "zone_forbidden"
    BOOTH_LOCKED = "booth_locked"
    UNKNOWN_ZONE = "unknown_zone"
    NO_PATH = "no_path"
    FILTERED = "filtered"
    SERVER_DRAINING = "server_draining"
    STORE_UNAVAILABLE = "store_unavailable"
    INTERNAL = "internal"
    # rooms (server/rooms): an intent the room does not take, or from someone not in it
    UNKNOWN_INTENT = "unknown_intent"
    NOT_MEMBER = "not_member"
    # desk queue and consultation booths (server/consult)
    UNKNOWN_TOPIC = "unknown_topic"
    ALREADY_QUEUED = "already_queued"
    TICKET_TAKEN = "ticket_taken"
    NOT_INVITED = "not_invited"
    NOT_IN_BOOTH = "not_in_booth"
    NOT_BOOTH_STAFF = "not_booth_staff"
    BOOTH_BUSY = "booth_busy"
    BOOTH_CLOSED = "booth_closed"
    QUEUE_EMPTY = "queue_empty"
    # reservations (server/consult/reservations.py)
    INVALID_SLOT = "invalid_slot"
    UNKNOWN_SLOT = "unknown_slot"
    SLOT_FULL = "slot_full"
    SLOT_STARTED = "slot_started"
    UNKNOWN_BOOKING = "unknown_booking"
    BOOKING_CLOSED = "booking_closed"
    TOO_LATE_TO_CANCEL = "too_late_to_cancel"
    CHECK_IN_WINDOW = "check_in_window"
    # events in the hall (server/events, issue #18)
    INVALID_EVENT = "invalid_event"
    UNKNOWN_HALL_EVENT = "unknown_hall_event"  # not unknown_event: that one is a socket event name
    EVENT_OVERLAP = "event_overlap"
    EVENT_CLOSED = "event_closed"
    UNKNOWN_REGISTRATION = "unknown_registration"
    REGISTRATION_CANCELLED = "registration_cancelled"
    HALL_FULL = "hall_full"  # socket: entering the hall while a running event's places are taken
    # media (server/media): signalling refused or failed
    MEDIA_FORBIDDEN = "media_forbidden"  # the policy refuses publishing or subscribing in this room
    UNKNOWN_STREAM = "unknown_stream"
    MEDIA_LIMIT = "media_limit"  # too many streams or subscriptions in the room or for the client
    MEDIA_FAILED = "media_failed"  # the backend could not negotiate (bad SDP, engine down)
    MEDIA_UNAVAILABLE = "media_unavailable"  # no media backend is running
    UNSUPPORTED_DOCUMENT = "unsupported_document"  # not a PDF, PNG, JPEG or WebP by its content
    # the inter-municipal salon (issue #20; server/salon)
    SALON_STAFF_ONLY = "salon_staff_only"  # a resident, a guest or unverified staff at the salon's doors
    CONDUCT_REQUIRED = "conduct_required"  # the code of conduct is accepted before the first entry
    SALON_ROOM_LOCKED = "salon_room_locked"  # a meeting room locked by another municipality's booking
    SALON_ROOM_BOOKED = "salon_room_booked"  # the slot overlaps another booking of the room
    SALON_ROOM_NOT_BOOKED = "salon_room_not_booked"  # a lock without this municipality's booking running now
    SALON_MUTED = "salon_muted"  # chat or media while the event's organiser has muted one
    SALON_REMOVED = "salon_removed"  # notice: the event's organiser removed one from the room
    SALON_EVENT_FULL = "salon_event_full"  # registration when the event's places are taken
    # --- HTTP: requests and bodies ----------------------------------------------------------
    INVALID_JSON = "invalid_json"
    INVALID_REQUEST = "invalid_request"
    TOO_LARGE = "too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"  # a write whose Content-Type the route does not take
    NOT_FOUND = "not_found"
    BUSY = "busy"
    # --- HTTP: identity --------------------------------------------------------------------
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    CSRF_FAILED = "csrf_failed"
    LOGIN_FAILED = "login_failed"
    LOGIN_THROTTLED = "login_throttled"
    SESSION_EXPIRED = "session_expired"
    # --- HTTP: datasets and uploads (gis/errors.py UploadError codes included) -------------
    INVALID_ID = "invalid_id"
    MISSING_NAME = "missing_name"
    INVALID_LOD = "invalid_lod"
    EMPTY = "empty"
    BAD_ZIP = "bad_zip"
    TOO_MANY_FILES = "too_many_files"
    ZIP_BOMB = "zip_bomb"
    NO_GML = "no_gml"
    UNKNOWN_DATASET = "unknown_dataset"
    # --- HTTP: simulations and jobs ---------------------------------------------------------
    INVALID_SCENARIO = "invalid_scenario"
    UNKNOWN_SIMULATION = "unknown_simulation"
    JOB_LIMIT = "job_limit"
    CANCELLED = "cancelled"
    INVALID_INPUT = "invalid_input"  # a job's error: the CityGML could not be imported
    IMPORT_FAILED = "import_failed"  # a job's error: the import stopped
    INTERRUPTED = "interrupted"  # a job's error: a node died under it and its inputs are gone
    JOB_FINISHED = "job_finished"  # cancel of a job that has already ended


MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.MEDIA_FORBIDDEN: "you may not share or watch media in this room",
    ErrorCode.UNKNOWN_STREAM: "no such stream in this room",
    ErrorCode.MEDIA_LIMIT: "too many media streams",
    ErrorCode.MEDIA_FAILED: "the media connection could not be set up",
    ErrorCode.MEDIA_UNAVAILABLE: "voice and screen sharing are not available on this server",
    ErrorCode.UNSUPPORTED_DOCUMENT: "only PDF, PNG, JPEG and WebP documents can be shared",
    ErrorCode.SALON_STAFF_ONLY: "the salon is for verified municipal staff only",
    ErrorCode.CONDUCT_REQUIRED: "please accept the salon's code of conduct first",
    ErrorCode.SALON_ROOM_LOCKED: "this meeting room is locked by another municipality's meeting",
    ErrorCode.SALON_ROOM_BOOKED: "the room is already booked at that time",
    ErrorCode.SALON_ROOM_NOT_BOOKED: "your municipality has no booking of this room now",
    ErrorCode.SALON_MUTED: "the event's organiser has muted you",
    ErrorCode.SALON_REMOVED: "the event's organiser asked you to leave the room",
    ErrorCode.SALON_EVENT_FULL: "the event's places are taken",
    ErrorCode.INVALID_PAYLOAD: "the event's payload does not match its schema",
    ErrorCode.UNKNOWN_EVENT: "no such event",
    ErrorCode.RATE_LIMITED: "too many events; slow down",
    ErrorCode.TOO_LONG: "text is too long",
    ErrorCode.NOT_JOINED: "join first",
    ErrorCode.ALREADY_JOINED: "already joined",
    ErrorCode.BLOCKED: "a wall or a closed door is in the way",
    ErrorCode.ZONE_FORBIDDEN: "this area is for staff only",
    ErrorCode.BOOTH_LOCKED: "this booth is in a private consultation",
    ErrorCode.UNKNOWN_ZONE: "no such place",
    ErrorCode.NO_PATH: "no way to get there from here",
    ErrorCode.FILTERED: "the message was not sent by the word filter",
    ErrorCode.SERVER_DRAINING: "the server is restarting; you will be reconnected",
    ErrorCode.STORE_UNAVAILABLE: "temporarily unavailable; please try again",
    ErrorCode.INTERNAL: "something went wrong on the server",
    ErrorCode.UNKNOWN_INTENT: "this room does not take that request",
    ErrorCode.NOT_MEMBER: "you are not in this room",
    ErrorCode.UNKNOWN_TOPIC: "no such consultation topic",
    ErrorCode.ALREADY_QUEUED: "you already have a ticket; leave the queue first",
    ErrorCode.TICKET_TAKEN: "this ticket has already been called",
    ErrorCode.NOT_INVITED: "this ticket has not been called to a booth",
    ErrorCode.NOT_IN_BOOTH: "you must be inside this booth",
    ErrorCode.NOT_BOOTH_STAFF: "only the staff member of this booth may do this",
    ErrorCode.BOOTH_BUSY: "this booth is busy",
    ErrorCode.BOOTH_CLOSED: "no staff member is in this booth",
    ErrorCode.QUEUE_EMPTY: "nobody is waiting for the topics of this booth",
    ErrorCode.INVALID_SLOT: "the slot cannot be published",
    ErrorCode.UNKNOWN_SLOT: "no such consultation slot",
    ErrorCode.SLOT_FULL: "this time is fully booked; please choose another",
    ErrorCode.SLOT_STARTED: "this time has already started; please choose another",
    ErrorCode.UNKNOWN_BOOKING: "no reservation has this code",
    ErrorCode.BOOKING_CLOSED: "this reservation is no longer open (cancelled or already used)",
    ErrorCode.TOO_LATE_TO_CANCEL: "it is too late to cancel online; please contact the office",
    ErrorCode.CHECK_IN_WINDOW: "this reservation cannot be checked in now",
    ErrorCode.INVALID_EVENT: "the event cannot be scheduled",
    ErrorCode.UNKNOWN_HALL_EVENT: "no such event",
    ErrorCode.EVENT_OVERLAP: "another event is in the hall at that time",
    ErrorCode.EVENT_CLOSED: "this event has ended or was cancelled",
    ErrorCode.UNKNOWN_REGISTRATION: "no registration has this code for this event",
    ErrorCode.REGISTRATION_CANCELLED: "this registration was already cancelled",
    ErrorCode.HALL_FULL: "the hall is full; you can still watch as a spectator (the same view, without an avatar)",
    ErrorCode.INVALID_JSON: "body is not valid JSON",
    ErrorCode.INVALID_REQUEST: "the request does not match its schema",
    ErrorCode.TOO_LARGE: "the request is too large",
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: "this request must be sent as application/json",
    ErrorCode.NOT_FOUND: "not found",
    ErrorCode.BUSY: "the server is busy; try again shortly",
    ErrorCode.UNAUTHENTICATED: "please log in",
    ErrorCode.FORBIDDEN: "you may not do this",
    ErrorCode.CSRF_FAILED: "the request did not come from this site's page",
    ErrorCode.LOGIN_FAILED: "wrong user name or password",
    ErrorCode.LOGIN_THROTTLED: "too many failed logins; wait a moment and try again",
    ErrorCode.SESSION_EXPIRED: "your session has ended; please log in again",
    ErrorCode.INVALID_ID: "invalid dataset id",
    ErrorCode.MISSING_NAME: "query parameter 'name' is required",
    ErrorCode.INVALID_LOD: "lod must be 1 or 2",
    ErrorCode.EMPTY: "empty upload",
    ErrorCode.BAD_ZIP: "not a readable zip archive",
    ErrorCode.TOO_MANY_FILES: "the archive has too many files",
    ErrorCode.ZIP_BOMB: "the archive expands beyond the size limit",
    ErrorCode.NO_GML: "the archive contains no .gml file",
    ErrorCode.UNKNOWN_DATASET: "no such dataset",
    ErrorCode.INVALID_SCENARIO: "the scenario cannot be applied",
    ErrorCode.UNKNOWN_SIMULATION: "no such simulation",
    ErrorCode.JOB_LIMIT: "you already have as many jobs running as allowed",
    ErrorCode.CANCELLED: "the job was cancelled",
    ErrorCode.INVALID_INPUT: "the input cannot be imported",
    ErrorCode.IMPORT_FAILED: "the import failed",
    ErrorCode.INTERRUPTED: "interrupted by a restart; inputs gone",
    ErrorCode.JOB_FINISHED: "the job has already ended",
}

# The HTTP status a code answers with; codes not listed (socket-only) answer 400 if ever used.
HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.INVALID_PAYLOAD: 400,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.SERVER_DRAINING: 503,
    ErrorCode.STORE_UNAVAILABLE: 503,
    ErrorCode.INTERNAL: 500,
    ErrorCode.INVALID_JSON: 400,
    ErrorCode.INVALID_REQUEST: 400,
    ErrorCode.TOO_LARGE: 413,
    ErrorCode.INVALID_SLOT: 400,
    ErrorCode.UNKNOWN_SLOT: 404,
    ErrorCode.SLOT_FULL: 409,
    ErrorCode.SLOT_STARTED: 409,
    ErrorCode.UNKNOWN_BOOKING: 404,
    ErrorCode.BOOKING_CLOSED: 409,
    ErrorCode.TOO_LATE_TO_CANCEL: 409,
    ErrorCode.CHECK_IN_WINDOW: 409,
    ErrorCode.INVALID_EVENT: 400,
    ErrorCode.UNKNOWN_HALL_EVENT: 404,
    ErrorCode.EVENT_OVERLAP: 409,
    ErrorCode.EVENT_CLOSED: 409,
    ErrorCode.UNKNOWN_REGISTRATION: 404,
    ErrorCode.REGISTRATION_CANCELLED: 409,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.UNSUPPORTED_DOCUMENT: 415,
    ErrorCode.MEDIA_FORBIDDEN: 403,
    ErrorCode.SALON_STAFF_ONLY: 403,
    ErrorCode.CONDUCT_REQUIRED: 403,
    ErrorCode.SALON_ROOM_LOCKED: 403,
    ErrorCode.SALON_ROOM_BOOKED: 409,
    ErrorCode.SALON_ROOM_NOT_BOOKED: 403,
    ErrorCode.SALON_MUTED: 403,
    ErrorCode.SALON_REMOVED: 403,
    ErrorCode.SALON_EVENT_FULL: 409,
    ErrorCode.MEDIA_UNAVAILABLE: 503,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.BUSY: 429,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.CSRF_FAILED: 403,
    ErrorCode.LOGIN_FAILED: 401,
    ErrorCode.LOGIN_THROTTLED: 429,
    ErrorCode.SESSION_EXPIRED: 401,
    ErrorCode.INVALID_ID: 400,
    ErrorCode.MISSING_NAME: 400,
    ErrorCode.INVALID_LOD: 400,
    ErrorCode.EMPTY: 400,
    ErrorCode.BAD_ZIP: 400,
    ErrorCode.TOO_MANY_FILES: 413,
    ErrorCode.ZIP_BOMB: 413,
    ErrorCode.NO_GML: 400,
    ErrorCode.UNKNOWN_DATASET: 404,
    ErrorCode.INVALID_SCENARIO: 400,
    ErrorCode.UNKNOWN_SIMULATION: 404,
    ErrorCode.JOB_LIMIT: 429,
    ErrorCode.CANCELLED: 409,
    ErrorCode.JOB_FINISHED: 409,
}


class ProtocolError(Exception):
    """A refusal the client is told about: socket ``error`` event or HTTP error body."""

    def __init__(self, code: ErrorCode, message: str | None = None, status: int | None = None) -> None:
        self.code = ErrorCode(code)
        self.message = message or MESSAGES[self.code]
        self.status = status or HTTP_STATUS.get(self.code, 400)
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        """The HTTP body: ``{"error": {"code", "message"}}``."""
        return {"error": {"code": self.code.value, "message": self.message}}


def error_payload(code: ErrorCode, event: str | None, message: str | None = None) -> dict[str, Any]:
    """The socket ``error`` event's payload."""
    return {"code": code.value, "message": message or MESSAGES[code], "event": event}


__all__ = ["HTTP_STATUS", "MESSAGES", "ErrorCode", "ProtocolError", "error_payload"]
