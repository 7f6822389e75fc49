"""Who may do what: every read, write and moderator rule of Kindred, as named predicates and require_* guards.

Every door calls these: pages, the JSON API, the websocket endpoint, search, notifications,
profiles, digests and exports. A rule that needs SQL (search, notification recipients) has its
SQL twin named beside it, and tests/server/actions/test_access.py checks the two agree for
every kind of person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import asyncpg

from server.db.queries import memberships
from server.db.queries.memberships import Standing
from server.db.queries.users import User as User
from server.errors import NotYours, Refused, SignInRequired, conflict, forbidden, not_found
from server.i18n import _, format_time

RANK = {None: 0, "member": 1, "leader": 2}
ADMIN_RANK = 3


@dataclass(frozen=True)
class Actor:
    """A user (or an anonymous visitor) as seen by one community."""

    user: User | None
    community_id: int
    standing: Standing

    @property
    def user_id(self) -> int:
        if self.user is None:
            raise SignInRequired(_("Please log in first."))
        return self.user.id

    @property
    def is_admin(self) -> bool:
        return self.user is not None and self.user.is_admin

    @property
    def is_member(self) -> bool:
        return self.standing.role is not None

    @property
    def is_leader(self) -> bool:
        return self.standing.role == "leader"

    @property
    def can_moderate(self) -> bool:
        """Leaders of this community and site admins."""
        return self.is_leader or self.is_admin

    @property
    def rank(self) -> int:
        return ADMIN_RANK if self.is_admin else RANK[self.standing.role]


ANONYMOUS = memberships.NO_STANDING

# Forums stay readable when a community is archived; its rooms close with it.
READABLE_STATUSES = ("active", "archived")


# --- the rules ---------------------------------------------------------------------------------


class Where(Protocol):
    """What the rules read of a community: a Community, or a CommunityState built from a joined row."""

    @property
    def status(self) -> str: ...

    @property
    def visibility(self) -> str: ...

    @property
    def introductions_open(self) -> bool: ...

    @property
    def rooms_open(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class CommunityState:
    status: str
    visibility: str
    introductions_open: bool = False
    rooms_open: bool = False


def is_muted(actor: Actor) -> bool:
    until = actor.standing.muted_until
    return until is not None and until > datetime.now(UTC)


def in_good_standing(actor: Actor) -> bool:
    """A signed-in member (or site admin) who is neither banned nor muted here."""
    return (
        actor.user is not None
        and (actor.is_member or actor.is_admin)
        and not actor.standing.banned
        and not is_muted(actor)
    )


def can_see_community(actor: Actor, community: Where, *, proposed_by_them: bool = False) -> bool:
    """The directory entry and condition page: open communities to all, but a hidden one only to its
    members who are not banned and site admins (to everyone else it does not exist); a proposal to its
    proposer and admins. SQL twin: server.db.queries.access.community_visible_to."""
    if community.status in READABLE_STATUSES:
        if community.visibility == "hidden":
            return actor.is_admin or (actor.is_member and not actor.standing.banned)
        return True
    return actor.is_admin or (actor.user is not None and proposed_by_them)


def open_to_everyone(community: Where, kind: str | None = None, audience: str = "everyone") -> bool:
    """Whether a public community's threads of this kind are open to non-members: discussions and
    questions are; introductions only once the leaders open them (families say who they are there);
    never a thread or post its author meant for members only (audience "members")."""
    if community.visibility != "public" or audience != "everyone":
        return False
    return kind != "introduction" or community.introductions_open


def can_read_forum(actor: Actor, community: Where, kind: str | None = None, audience: str = "everyone") -> bool:
    """Threads (of `kind`: discussion, question, introduction; None: the forum as a whole) and posts
    (for `audience`: everyone, or members only), and tips: what is open to everyone (open_to_everyone)
    to all; the rest to members who are not banned, and site admins.
    SQL twin: server.db.queries.access.forum_readable_by."""
    if community.status not in READABLE_STATUSES:
        return False
    if open_to_everyone(community, kind, audience) or actor.is_admin:
        return True
    return actor.is_member and not actor.standing.banned


def can_see_membership(actor: Actor, community: Where) -> bool:
    """That someone belongs to a community (a profile's list, a member list): shown for public
    communities, and for members-only ones to fellow members who are not banned (site admins are
    not special: membership of a members-only community says something about someone's health).
    SQL twin: server.db.queries.access.membership_visible_to."""
    return community.visibility == "public" or (actor.is_member and not actor.standing.banned)


def can_read_room(actor: Actor, community: Where) -> bool:
    """A live room's page, history, resume and presence, in active communities: members who are not
    banned; everyone but the banned when the leaders of a public community opened its rooms; site
    admins (also in archived communities)."""
    if community.status not in READABLE_STATUSES:
        return False
    if actor.is_admin:
        return True
    if community.status != "active" or actor.standing.banned:
        return False
    return actor.is_member or (community.visibility == "public" and community.rooms_open)


def can_write(actor: Actor, community: Where) -> bool:
    """Posting, replying, chatting, typing, reacting, flagging, tips, editing one's own words:
    members in good standing of an active community."""
    return community.status == "active" and in_good_standing(actor)


def can_write_but_for_a_mute(actor: Actor, community: Where) -> bool:
    """can_write, setting aside a mute in force: a muted member's room page keeps its composer, disabled,
    for when the mute ends or is lifted (their sends are refused until then: can_write)."""
    return (
        community.status == "active"
        and actor.user is not None
        and (actor.is_member or actor.is_admin)
        and not actor.standing.banned
    )


def can_change_own_message(actor: Actor, community: Where, author_id: int | None) -> bool:
    """Editing or deleting a live-room message: only its author, and only while they may write there
    (leaders remove others' messages instead, with can_moderate)."""
    return can_write(actor, community) and actor.user is not None and author_id == actor.user.id


def can_see_edit_history(actor: Actor) -> bool:
    """The earlier texts of an edited chat message: the community's leaders and site admins."""
    return actor.can_moderate


def can_reply(actor: Actor, community: Where, *, thread_locked: bool) -> bool:
    """A reply in a thread: as writing, and a locked thread only to its community's moderators."""
    return can_write(actor, community) and (not thread_locked or actor.can_moderate)


def can_moderate(actor: Actor) -> bool:
    """Remove, hold, approve, mute, ban, lock, pin, move, answer flags, slow mode, rooms: this
    community's leaders and site admins."""
    return actor.can_moderate


def can_manage_resources(actor: Actor) -> bool:
    """Adding, editing and removing a community's resources (links to trials, registries, books), also by
    proposing chat messages as one: this community's leaders and site admins, as for moderating."""
    return actor.can_moderate


def rank_of(*, is_admin: bool, is_leader: bool) -> int:
    """The rank of a post's or message's author, from the flags its row carries."""
    return ADMIN_RANK if is_admin else RANK["leader"] if is_leader else RANK["member"]


def can_moderate_author(actor: Actor, author_rank: int) -> bool:
    """Hiding someone's post or removing their chat message: a moderator who outranks its author (see
    require_outranks; never their own words, which they edit or delete instead)."""
    return actor.can_moderate and actor.rank > author_rank


# The rank of an author by the badge live frames give them ("" for none; a leader who is also a site admin shows
# as a leader, so the page may offer a site admin a Remove the server then refuses, with the reason).
_BADGE_RANK = {"": RANK["member"], "expert": RANK["member"], "leader": RANK["leader"], "admin": ADMIN_RANK}


def outranked_badges(actor: Actor) -> list[str]:
    """The author badges whose messages this reader may remove (can_moderate_author), for a live page's menu."""
    return [badge for badge, rank in _BADGE_RANK.items() if can_moderate_author(actor, rank)]


def can_use_families(actor: Actor, community: Where) -> bool:
    """Families like mine (opting in, editing one's facts, opting out, answering requests): signed-in members
    who are not banned, in an active community. Site admins are not special: the facts are about a family's
    health, shared with other families, not with the site."""
    return community.status == "active" and actor.user is not None and actor.is_member and not actor.standing.banned


def can_see_families(actor: Actor, community: Where, *, opted_in: bool) -> bool:
    """Other families' facts and names: only members who opted in themselves (can_use_families and opted_in).
    SQL twin (who is listed): server.db.queries.access.family_listed."""
    return can_use_families(actor, community) and opted_in


def can_count_families(actor: Actor, community: Where) -> bool:
    """How many families opted in and connected, never who: this community's leaders and site admins."""
    return community.status in READABLE_STATUSES and actor.can_moderate


def can_connect(actor: Actor, community: Where, *, opted_in: bool, target_listed: bool, blocked: bool) -> bool:
    """A connection request: an opted-in member to another listed family (can_see_families), unless either
    blocked the other."""
    return can_see_families(actor, community, opted_in=opted_in) and target_listed and not blocked


def can_read_conversation(actor: Actor, *, participant: bool, status: str) -> bool:
    """A private conversation (page, API, websocket join): its two participants only, while it is open
    (accepted) and they are members of its community who are not banned. No leader or site admin reads
    it; a report hands site admins the messages up to the report (can_read_report)."""
    return participant and status == "accepted" and actor.is_member and not actor.standing.banned


def can_report_conversation(*, participant: bool, status: str) -> bool:
    """Reporting a conversation to site admins: either participant, while it is open and after it ended (a
    block ends it, and the one who blocked may still need the site admins to read what was said)."""
    return participant and status in ("accepted", "ended")


def can_send_in_conversation(actor: Actor, community: Where, *, participant: bool, status: str) -> bool:
    """Writing in a conversation: can_read_conversation, in good standing (not muted), in an active community."""
    return (
        can_read_conversation(actor, participant=participant, status=status)
        and community.status == "active"
        and in_good_standing(actor)
    )


def can_read_report(user: User | None) -> bool:
    """A conversation report (and the messages it hands over, up to the report): site admins only, never leaders."""
    return user is not None and user.is_admin


def muted_notice(actor: Actor) -> str | None:
    """What a muted member reads where the composer would be: until when, and the leader's reason."""
    if actor.user is None or not is_muted(actor):
        return None
    return _muted_message(actor)


def mute_ends_at(actor: Actor) -> datetime | None:
    """When the mute in force ends, for a page's timer: None for no mute, or for one a leader must lift."""
    until = actor.standing.muted_until if is_muted(actor) else None
    return until if until is not None and until.year < 9999 else None


# --- the guards --------------------------------------------------------------------------------


async def actor_for(
    connection: asyncpg.Connection, user: User | None, community_id: int, *, room_id: int | None = None
) -> Actor:
    """The user as the community sees them; with room_id, as that room does (a mute scoped to the room
    counts there, and nowhere else: every door of a room asks with its room)."""
    if user is None:
        return Actor(None, community_id, ANONYMOUS)
    return Actor(user, community_id, await memberships.standing(connection, community_id, user.id, room_id))


def require_signed_in(actor: Actor) -> User:
    if actor.user is None:
        raise SignInRequired(_("Please log in first."))
    return actor.user


def require_not_banned(actor: Actor) -> None:
    if actor.standing.banned:
        reason = actor.standing.ban_reason
        message = _("You have been removed from this community.")
        if reason:
            message += " " + _("Reason: %(reason)s") % {"reason": reason}
        raise Refused(message, code="banned")


def _muted_message(actor: Actor) -> str:
    until = actor.standing.muted_until
    assert until is not None
    in_room = actor.standing.mute_room_id is not None
    if until.year >= 9999:
        message = (
            _("You are muted in this room until a leader lifts it.")
            if in_room
            else _("You are muted in this community until a leader lifts it.")
        )
    elif in_room:
        message = _("You are muted in this room until %(time)s.") % {"time": format_time(until)}
    else:
        message = _("You are muted in this community until %(time)s.") % {"time": format_time(until)}
    if actor.standing.mute_reason:
        message += " " + _("Reason: %(reason)s") % {"reason": actor.standing.mute_reason}
    return message


def require_not_muted(actor: Actor) -> None:
    if is_muted(actor):
        raise Refused(_muted_message(actor), code="muted")


def require_member(actor: Actor) -> User:
    user = require_signed_in(actor)
    require_not_banned(actor)
    if not actor.is_member and not actor.is_admin:
        raise forbidden(_("Join this community first."))
    return user


def require_can_write(actor: Actor) -> User:
    """Posting, chatting, reacting, flagging, tips, edits: members in good standing only."""
    user = require_member(actor)
    require_not_muted(actor)
    return user


def require_can_read_room(actor: Actor, community: Where) -> None:
    if actor.standing.banned and not actor.is_admin:
        require_not_banned(actor)
    if not can_read_room(actor, community):
        raise not_found(_("There is no such room."))


def require_active(community: Where) -> None:
    if community.status != "active":
        raise conflict(_("This community is archived: it can be read but no longer written in."))


def require_can_write_in(actor: Actor, community: Where) -> User:
    """can_write, with the reason when refused (log in, join, banned, muted, archived)."""
    user = require_can_write(actor)
    require_active(community)
    return user


def can_propose_from_chat(actor: Actor, community: Where, authors: set[int | None]) -> bool:
    """Proposing chat messages as a tip or thread: those who may write here, and who either moderate
    the community or wrote one of the messages (every other author is asked for consent)."""
    if not can_write(actor, community) or actor.user is None:
        return False
    return actor.can_moderate or actor.user.id in authors


def require_can_propose_from_chat(actor: Actor, community: Where, authors: set[int | None]) -> User:
    user = require_can_write_in(actor, community)
    if not can_propose_from_chat(actor, community, authors):
        raise forbidden(_("Only leaders, or someone who wrote one of these messages, can propose them."))
    return user


def require_own_message(actor: Actor, community: Where, author_id: int | None) -> User:
    """can_change_own_message, with the reason when refused (log in, join, muted, archived, not yours)."""
    user = require_can_write_in(actor, community)
    if not can_change_own_message(actor, community, author_id):
        raise NotYours(_("Only its author can change or delete this message."))
    return user


def require_moderator(actor: Actor) -> User:
    """Leaders of this community and site admins; everyone else gets 403."""
    user = require_signed_in(actor)
    if not actor.can_moderate:
        raise forbidden(_("Only this community's leaders can do that."))
    return user


def require_can_manage_resources(actor: Actor) -> User:
    """can_manage_resources, with the reason when refused (log in; only leaders)."""
    user = require_signed_in(actor)
    if not can_manage_resources(actor):
        raise forbidden(_("Only this community's leaders can add or change its resources."))
    return user


def require_admin(user: User | None) -> User:
    if user is None:
        raise SignInRequired(_("Please log in first."))
    if not user.is_admin:
        raise forbidden(_("Only site admins can do that."))
    return user


def require_outranks(actor: Actor, target: Actor) -> None:
    """No one moderates someone of equal or higher role (a leader cannot mute a leader or an admin)."""
    if actor.rank <= target.rank:
        raise forbidden(_("You cannot moderate someone with the same or a higher role."))


def require_families(actor: Actor, community: Where) -> User:
    """can_use_families, with the reason when refused (log in, join, banned, archived)."""
    user = require_signed_in(actor)
    require_not_banned(actor)
    if not actor.is_member:
        raise forbidden(_("Join this community first."))
    if not can_use_families(actor, community):
        raise conflict(_("This community is archived: it can be read but no longer written in."))
    return user


def require_sees_families(actor: Actor, community: Where, *, opted_in: bool) -> User:
    """can_see_families: other families are shown only to members who shared their own facts."""
    user = require_families(actor, community)
    if not can_see_families(actor, community, opted_in=opted_in):
        raise forbidden(_("Share your family's facts first: only families who share them see others."))
    return user


def require_conversation(actor: Actor, *, participant: bool, status: str) -> User:
    """can_read_conversation: to everyone else (leaders and site admins included) it does not exist."""
    user = require_signed_in(actor)
    if not can_read_conversation(actor, participant=participant, status=status):
        raise not_found(_("There is no such conversation."))
    return user


def require_report_conversation(actor: Actor, *, participant: bool, status: str) -> User:
    """can_report_conversation: to anyone else it does not exist."""
    user = require_signed_in(actor)
    if not can_report_conversation(participant=participant, status=status):
        raise not_found(_("There is no such conversation."))
    return user


def require_send_in_conversation(actor: Actor, community: Where, *, participant: bool, status: str) -> User:
    user = require_conversation(actor, participant=participant, status=status)
    require_not_muted(actor)
    require_active(community)
    return user


def require_report_reader(user: User | None) -> User:
    """can_read_report: site admins only."""
    return require_admin(user)
