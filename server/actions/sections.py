"""Condition sections: the fixed list in page order, editing by leaders and admins, and revision history."""

from __future__ import annotations

import asyncpg

from server.actions import events
from server.actions.access import actor_for, require_moderator
from server.db.queries import sections
from server.db.queries.communities import Community
from server.db.queries.sections import Revision as Revision
from server.db.queries.sections import Section as Section
from server.db.queries.users import User
from server.errors import bad_request, not_found
from server.i18n import _

# Page order; the keys are the database's.
SECTION_KEYS = (
    "what_is_it",
    "causes",
    "symptoms",
    "diagnosis",
    "diagnostic_tests",
    "treatments",
    "prognosis",
    "synonyms",
    "acknowledgement",
    "references",
)
MAX_BODY = 50_000
MAX_SUMMARY = 300


def section_title(key: str) -> str:
    """The section's heading in the reader's language (called per request, so the language is right)."""
    titles = {
        "what_is_it": _("What is it"),
        "causes": _("Causes"),
        "symptoms": _("Symptoms"),
        "diagnosis": _("Diagnosis"),
        "diagnostic_tests": _("Diagnostic tests"),
        "treatments": _("Treatments"),
        "prognosis": _("Prognosis"),
        "synonyms": _("Synonyms"),
        "acknowledgement": _("Acknowledgement"),
        "references": _("References"),
    }
    return titles[key]


def empty_text(key: str) -> str:
    return _("%(section)s has not been added yet.") % {"section": section_title(key)}


def check_section(key: str) -> str:
    if key not in SECTION_KEYS:
        raise not_found(_("There is no such section."))
    return key


def check_body(body: str) -> str:
    # Trailing spaces are kept inside the text (Markdown line breaks); only the ends are trimmed.
    body = body.replace("\r\n", "\n").strip()
    if len(body) > MAX_BODY:
        raise bad_request(_("A section can have at most %(max)d characters.") % {"max": MAX_BODY}, "body")
    return body


def check_summary(summary: str) -> str:
    summary = " ".join(summary.split())
    if len(summary) > MAX_SUMMARY:
        raise bad_request(
            _("A summary of the change can have at most %(max)d characters.") % {"max": MAX_SUMMARY}, "summary"
        )
    return summary


async def check_can_edit(connection: asyncpg.Connection, user: User | None, community: Community) -> User:
    """Only this community's leaders and site admins edit its condition page."""
    return require_moderator(await actor_for(connection, user, community.id))


async def do_edit_section(
    connection: asyncpg.Connection, user: User | None, community: Community, key: str, body: str, summary: str
) -> Revision:
    """Save the section and keep the edit as a revision (who, when, what), in one transaction."""
    editor = await check_can_edit(connection, user, community)
    check_section(key)
    clean_body = check_body(body)
    clean_summary = check_summary(summary)
    async with events.unit_of_work(connection):
        await sections.save(connection, community.id, key, clean_body, editor.id)
        return await sections.add_revision(connection, community.id, key, clean_body, clean_summary, editor.id)


async def get_section(connection: asyncpg.Connection, community: Community, key: str) -> Section | None:
    return await sections.get(connection, community.id, check_section(key))


async def history(connection: asyncpg.Connection, community: Community, key: str) -> list[Revision]:
    return await sections.revisions(connection, community.id, check_section(key))
