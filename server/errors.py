"""Typed errors a person can see: invalid input (with its field), refused, not found, conflict, rate limited.

Domain code raises these and never thinks in HTTP: each type carries the status it answers with
on a page or in the API, and its machine code is what the JSON API and websocket error frames
send. How a page, the API or a socket shows them lives with the transports (server/routes/).
"""

from __future__ import annotations


class AppError(Exception):
    """A refusal the user should see: a machine code, a status and a plain sentence."""

    code = "error"
    status = 400

    def __init__(
        self, message: str, *, code: str | None = None, field: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class InvalidInput(AppError):
    """Something sent is not right; `field` names the form field or JSON member when one is to blame."""

    code = "bad_request"
    status = 400


class TooLarge(InvalidInput):
    code = "too_large"
    status = 413


class Refused(AppError):
    """Not allowed for this person here (codes: forbidden, banned, muted, csrf_failed)."""

    code = "forbidden"
    status = 403


class NotYours(Refused):
    """Someone else's post, answer or flag: a change only its owner (or a leader) may make."""


class SignInRequired(Refused):
    code = "unauthorized"
    status = 401


class NotFound(AppError):
    """No such thing, or not one this person may know exists."""

    code = "not_found"
    status = 404


class Conflict(AppError):
    """The thing is not in a state that allows this now (codes: conflict, locked)."""

    code = "conflict"
    status = 409


class RateLimited(AppError):
    """Too fast; `retry_after` says how many seconds to wait, when known (codes: rate_limited, slow_mode)."""

    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, code: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class Unavailable(AppError):
    """A service Kindred needs is briefly down: nothing was changed, try again."""

    code = "unavailable"
    status = 503


def bad_request(message: str, field: str | None = None) -> InvalidInput:
    return InvalidInput(message, field=field)


def forbidden(message: str = "You are not allowed to do that.") -> Refused:
    return Refused(message)


def not_found(message: str = "Not found.") -> NotFound:
    return NotFound(message)


def conflict(message: str, field: str | None = None) -> Conflict:
    return Conflict(message, field=field)


def rate_limited(message: str = "Too many attempts; please wait a little and try again.") -> RateLimited:
    return RateLimited(message)


def unavailable(message: str = "The service is briefly unavailable; please try again in a moment.") -> Unavailable:
    return Unavailable(message)


def returns_to_form(error: AppError) -> bool:
    """The one rule for every form: a refused form comes back with the person's text and the reason
    beside it, whatever the reason (invalid, too fast, muted, locked, signed out meanwhile), except
    when the thing it was about is gone or hidden from them (the not-found page) or is not theirs to
    change (the refusal page: their text has no place in someone else's post). A not-found about what
    they typed in a field (a username) is their typo, and goes back to the form."""
    if isinstance(error, NotFound):
        return error.field is not None
    return not isinstance(error, NotYours)
