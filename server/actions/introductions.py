"""First-connection introductions: the guided form, the thread it posts, welcomers and the 'waiting' list."""

from __future__ import annotations

import asyncpg

from server.actions import notifications as notify
from server.actions.access import require_member, require_moderator
from server.actions.threads import BODY_MAX, Place, Started, do_create_thread
from server.db.queries import introductions, threads
from server.db.queries.threads import ThreadRow
from server.errors import bad_request
from server.i18n import _
from server.ratelimit import RateLimiter

# Every field is optional; the keys are stored as they are in threads.intro.
FIELDS = ("for_whom", "cares_for", "age_at_onset", "diagnosis", "treatments", "hopes", "language")
FOR_WHOM = ("myself", "someone")
FIELD_MAX = 500
WAIT_HOURS = 24


def check_fields(values: dict[str, str]) -> dict[str, str]:
    """The filled-in fields, trimmed; unknown keys are ignored, overlong ones refused."""
    clean: dict[str, str] = {}
    for name in FIELDS:
        value = " ".join(str(values.get(name, "") or "").split())
        if not value:
            continue
        if name == "for_whom" and value not in FOR_WHOM:
            raise bad_request(_("Please choose one of the options."), name)
        if len(value) > FIELD_MAX:
            raise bad_request(_("Please keep this under %(max)d characters.") % {"max": FIELD_MAX}, name)
        clean[name] = value
    return clean


def compose_body(fields: dict[str, str], free_text: str) -> str:
    """The first post, in plain words, from whatever the member chose to share."""
    lines: list[str] = []
    if fields.get("for_whom") == "myself":
        lines.append(_("I am here for myself."))
    if fields.get("cares_for"):
        lines.append(_("I care for %(who)s.") % {"who": fields["cares_for"]})
    sentences = {
        "age_at_onset": _("The first signs appeared: %(value)s."),
        "diagnosis": _("Diagnosis or gene: %(value)s."),
        "treatments": _("Treatments we have tried: %(value)s."),
        "hopes": _("What I hope to find here: %(value)s."),
        "language": _("I prefer to talk in %(value)s."),
    }
    for name, sentence in sentences.items():
        if fields.get(name):
            lines.append(sentence % {"value": fields[name].rstrip(".")})
    parts = []
    if lines:
        # Two spaces end a Markdown line without starting a new paragraph.
        parts.append("  \n".join(lines))
    if free_text.strip():
        parts.append(free_text.strip())
    if not parts:
        parts.append(_("Hello everyone, I have just joined this community."))
    return "\n\n".join(parts)


async def do_introduce(
    connection: asyncpg.Connection,
    limiter: RateLimiter | None,
    place: Place,
    *,
    fields: dict[str, str],
    free_text: str = "",
    title: str = "",
    audience: str = "everyone",
) -> Started:
    """Post the introduction thread and let the community's leaders and welcomers know."""
    clean = check_fields(fields)
    if len(free_text) > BODY_MAX - 4000:
        raise bad_request(_("Please keep your message shorter."), "free_text")
    body = compose_body(clean, free_text)
    title = title.strip() or _("My first connection: %(community)s") % {"community": place.community.name}
    greeters = notify.Recipients()
    for user_id in await introductions.greeters(connection, place.community.id):
        greeters.add(user_id, "introduction")
    return await do_create_thread(
        connection,
        limiter,
        place,
        title=title,
        body=body,
        kind="introduction",
        intro=clean,
        extra_recipients=greeters,
        audience=audience,
    )


async def do_set_welcomer(connection: asyncpg.Connection, place: Place, value: bool) -> None:
    """A member asks to be told about newcomers' introductions (or stops)."""
    user = require_member(place.actor)
    if not place.actor.is_member:
        raise bad_request(_("Join this community first."))
    await introductions.set_welcomer(connection, place.community.id, user.id, value)


async def is_welcomer(connection: asyncpg.Connection, place: Place) -> bool:
    if place.actor.user is None or not place.actor.is_member:
        return False
    return await introductions.is_welcomer(connection, place.community.id, place.actor.user.id)


async def waiting_for_welcome(connection: asyncpg.Connection, place: Place) -> list[ThreadRow]:
    """Introductions with no reply from anyone else after a day: for this community's leaders only."""
    require_moderator(place.actor)
    return await threads.waiting_for_welcome(connection, place.community.id, older_than_hours=WAIT_HOURS)
