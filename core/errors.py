"""The exception tree of the engine.

::

    FrontdeskError
    ├── ProtocolError      a client frame or request body is malformed; answered with an
    │                      ``error`` event / HTTP 4xx, the socket stays open
    ├── EngineError        a well-formed command the engine refuses (not_found, forbidden,
    │                      offer_expired, ...); raised inside actors, turned into a refusal
    │                      to the requester, never a crash of the actor
    └── DatabaseError      the database could not be reached or refused a statement;
                           raised only by ``engine/storage/db.py``

Every error carries a machine-readable ``code`` (the codes of PROTOCOL.md), a human
``message`` and optionally the ``field`` that was wrong and the ``ref`` (client_id,
offer_id or invitation_id) of the frame that failed.
"""

from __future__ import annotations


class FrontdeskError(Exception):
    """Base of every error the engine raises on purpose."""

    def __init__(self, code: str, message: str, *, field: str | None = None, ref: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.ref = ref

    def to_event(self) -> dict[str, object]:
        """The websocket ``error`` event for this error."""
        event: dict[str, object] = {"type": "error", "code": self.code, "message": self.message,
                                    "ref": self.ref}
        if self.field is not None:
            event["field"] = self.field
        return event

    def to_http(self) -> dict[str, object]:
        """The HTTP error body ``{"error": {...}}`` for this error."""
        body: dict[str, object] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return {"error": body}


class ProtocolError(FrontdeskError):
    """A frame or request that does not follow PROTOCOL.md (bad_frame, missing_field, ...)."""


class EngineError(FrontdeskError):
    """A valid command that the engine refuses in the current state."""


class RateLimited(FrontdeskError):
    """A client that did something too often: answered 429 with ``Retry-After``."""

    def __init__(self, message: str, retry_after_s: int, *, ref: str | None = None):
        super().__init__("rate_limited", message, ref=ref)
        self.retry_after_s = retry_after_s


class DatabaseError(FrontdeskError):
    """The database is unreachable or rejected a statement."""

    def __init__(self, message: str):
        super().__init__("unavailable", message)


# the HTTP status of each error code (PROTOCOL.md §3); codes not listed are 400
HTTP_STATUS = {"bad_json": 400, "unauthenticated": 401, "bad_credentials": 401, "bad_code": 401, "forbidden": 403,
               "password_change_required": 403, "not_found": 404, "conflict": 409, "duplicate": 409,
               "immutable": 409, "file_too_large": 413, "too_large": 413, "unsupported_type": 415,
               "missing_field": 422, "invalid_value": 422, "invalid_email": 422, "rate_limited": 429,
               "unavailable": 503, "method_not_allowed": 405, "timeout": 408, "internal": 500,
               "already_rated": 409, "not_ended": 409}


def http_status(exc: FrontdeskError) -> int:
    return HTTP_STATUS.get(exc.code, 400)
