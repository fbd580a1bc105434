"""Errors the API raises on purpose; `app.py` maps each to one HTTP status at the edge."""

from __future__ import annotations

from datetime import datetime

from meterstream.errors import MeterstreamError


class ApiError(MeterstreamError):
    """Base of the API's errors; `status` is the HTTP status it maps to."""

    status = 400


class Unauthorized(ApiError):
    """The request has no API key, or the key is unknown or revoked."""

    status = 401


class SessionNotFound(ApiError):
    """No session with this id is visible to the caller's tenant."""

    status = 404

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        super().__init__(f"session {session_id} not found")


class SessionOfAnotherTenant(ApiError):
    """A write named a session id that another tenant already uses."""

    status = 403

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        super().__init__(f"session id {session_id} is in use by another tenant; choose another id")


class ConflictingDuplicate(ApiError):
    """An event_id sent again with other content than the first time (the first one counts)."""

    status = 409
    field = "event_id"

    def __init__(self, event_id: str) -> None:
        self.event_id = event_id
        super().__init__(f"event_id {event_id} was sent before with other content; the first one counts. "
                         "Send new usage under a new event_id")


class SessionEnded(ApiError):
    """Usage was sent to a session that has ended."""

    status = 409

    def __init__(self, session_id: str, ended_at: datetime) -> None:
        self.session_id = session_id
        self.ended_at = ended_at
        super().__init__(
            f"session {session_id} ended at {ended_at.isoformat()}; it accepts no more usage: start a new session"
        )


class TooManyReservations(ApiError):
    """The tenant's unsettled reservations are at the limit; settle or release some first."""

    status = 409


class UpstreamUnavailable(ApiError):
    """A service the request needs (Kafka, the worker, ClickHouse) did not answer."""

    status = 503


class InvalidRequest(ApiError):
    """The request is well-formed JSON but asks for something impossible; `errors` names each field."""

    status = 422

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e['field']}: {e['reason']}" for e in errors))


class WebhookNotFound(ApiError):
    """No webhook with this id is visible to the caller's tenant."""

    status = 404

    def __init__(self, webhook_id: str) -> None:
        self.webhook_id = webhook_id
        super().__init__(f"webhook {webhook_id} not found")
