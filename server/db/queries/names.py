"""How a member's name is shown in a community: their pseudonym there if they chose one, else their
display name; and their username (for profile links) only when they use no pseudonym there.

Every query that shows an author, a reactor, a quoted author, an actor or a target inside a
community joins the member's membership of that community and goes through these two expressions,
so a pseudonym never lets the account's username or display name out (tests/server/test_pseudonyms.py).
"""

from __future__ import annotations


def membership_of(alias: str, community_id: str, user: str) -> str:
    """A LEFT JOIN of `user`'s (a users alias) membership of `community_id` (an SQL expression) as `alias`."""
    return f"LEFT JOIN memberships {alias} ON {alias}.community_id = {community_id} AND {alias}.user_id = {user}.id"


def shown_name(user: str, membership: str) -> str:
    return f"coalesce({membership}.pseudonym, {user}.display_name)"


def shown_username(user: str, membership: str) -> str:
    return f"(CASE WHEN {membership}.pseudonym IS NULL THEN {user}.username END)"


def handle(user: str, membership: str) -> str:
    """What leaders' pages put in a member's URLs: the username, or "~<alias>" under a pseudonym
    (resolved by memberships.by_handle), so a moderation form never spells out the account."""
    return f"(CASE WHEN {membership}.pseudonym IS NULL THEN {user}.username ELSE '~' || {membership}.alias END)"


def shown_id(user_id: int, alias: int | None) -> int:
    """The id a member is known by in a community's live frames and room page: the account's, or minus the
    random alias of their pseudonym there (never an account id, and different in each community)."""
    return -alias if alias is not None else user_id
