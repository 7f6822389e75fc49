"""Chat turned into lasting knowledge with consent: a leader or an author proposes chat messages as a tip or
a new thread (a leader also as a resource), every other quoted author accepts or declines, and nothing is
published while an answer is awaited; declined messages are left out, and the result links back to each
message's moment in the room."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from server.actions import access, events
from server.actions import notifications as notify
from server.actions import resources as resource_actions
from server.actions import threads as thread_actions
from server.actions import tips as tip_actions
from server.actions.access import Actor, actor_for
from server.actions.rooms import room_in
from server.db.queries import chat_proposals, communities, messages, rooms, users
from server.db.queries.chat_proposals import Proposal
from server.db.queries.communities import Community
from server.db.queries.messages import Message
from server.db.queries.rooms import Room
from server.db.queries.users import User
from server.errors import AppError, InvalidInput, bad_request, conflict, forbidden, not_found
from server.i18n import _

KINDS = ("tip", "thread", "resource")
NOTE_MAX = 1000
QUOTES_MAX = 20
CHOOSE_FROM = 50  # the latest messages offered to choose from


@dataclass(frozen=True)
class ProposeForm:
    community: Community
    room: Room
    actor: Actor
    messages: list[Message]  # the room's latest visible messages, oldest first

    @property
    def may_add_resource(self) -> bool:
        """The resource choice is offered only to those who may add resources here (leaders, site admins)."""
        return access.can_manage_resources(self.actor)


async def propose_form(connection: asyncpg.Connection, user: User | None, slug: str, room_slug: str) -> ProposeForm:
    """The messages one may choose from: for those who may read the room and write in it."""
    community, room, actor = await room_in(connection, user, slug, room_slug)
    access.require_can_read_room(actor, community)
    access.require_can_write_in(actor, community)
    latest = await messages.recent(
        connection, room.id, viewer_id=actor.user_id, include_removed=False, limit=CHOOSE_FROM
    )
    return ProposeForm(community, room, actor, [message for message in latest if message.state == "visible"])


def compose(community: Community, room: Room, note: str, quoted: list[Message]) -> str:
    """The published text: the proposer's note, then each message quoted with its author and a link back."""
    parts = [note] if note else []
    for message in quoted:
        lines = "\n".join(f"> {line}" if line else ">" for line in message.body.splitlines())
        link = f"/c/{community.slug}/live/{room.slug}#message-{message.seq}"
        source = _("%(name)s, [in the live room](%(link)s)") % {"name": message.author_display_name, "link": link}
        parts.append(f"{lines}\n>\n> — {source}")
    return "\n\n".join(parts)


def _check_text(kind: str, title: str, body: str) -> tuple[str, str]:
    """The title and text as the tip, thread or resource would take them (its own rules: lengths, blank)."""
    if kind == "tip":
        return tip_actions.check_name(title), tip_actions.check_description(body)
    if kind == "resource":
        return resource_actions.check_title(title), resource_actions.check_description(body)
    return thread_actions.check_title(title), thread_actions.check_body(body)


def _check_resource(resource_kind: str, url: str) -> tuple[str, str]:
    """A resource's kind and link by the resource's own rules; the kind's field is `resource_kind` on this form."""
    try:
        return resource_actions.check_kind(resource_kind), resource_actions.check_url(url)
    except InvalidInput as error:
        raise bad_request(error.message, "resource_kind" if error.field == "kind" else "url") from None


async def do_propose(
    connection: asyncpg.Connection,
    user: User | None,
    slug: str,
    room_slug: str,
    *,
    kind: str,
    title: str,
    note: str,
    seqs: list[int],
    resource_kind: str = "",
    url: str = "",
) -> Proposal:
    """Propose chosen messages; their other authors are asked. With nobody to ask, it is published at once.
    A resource (leaders only) also takes its kind and link, checked by the resource's rules."""
    community, room, actor = await room_in(connection, user, slug, room_slug)
    access.require_can_read_room(actor, community)
    if kind not in KINDS:
        raise bad_request(_("Choose a tip, a new thread or a resource."), "kind")
    resource: tuple[str, str] | None = None
    if kind == "resource":
        # Refused before any judgement of the input, as on the resources page itself.
        access.require_can_manage_resources(actor)
        resource = _check_resource(resource_kind, url)
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise bad_request(_("An introduction has at most 1,000 characters."), "note")
    if not seqs:
        raise bad_request(_("Choose at least one message."), "seqs")
    if len(seqs) > QUOTES_MAX:
        raise bad_request(_("Choose at most 20 messages."), "seqs")
    chosen = await messages.visible_by_seqs(connection, room.id, seqs)
    if not chosen:
        raise bad_request(_("Choose at least one message."), "seqs")
    proposer = access.require_can_propose_from_chat(actor, community, {message.author_id for message in chosen})
    try:
        title, _text = _check_text(kind, title, compose(community, room, note, chosen))
    except InvalidInput as error:
        raise bad_request(error.message, "title" if error.field in {"title", "name"} else "seqs") from None

    def consent(message: Message) -> str:
        if message.author_id == proposer.id:
            return "accepted"
        return "asked" if message.author_id is not None else "declined"  # a deleted account cannot answer

    async with events.unit_of_work(connection):
        proposal = await chat_proposals.create(
            connection,
            community_id=community.id,
            room_id=room.id,
            proposer_id=proposer.id,
            kind=kind,
            title=title,
            note=note,
            quotes=[(message.id, message.author_id, consent(message)) for message in chosen],
            resource_kind=resource[0] if resource else None,
            url=resource[1] if resource else None,
        )
        asked = sorted({m.author_id for m in chosen if m.author_id is not None and consent(m) == "asked"})
        await notify.create(
            connection,
            [(author, "consent") for author in asked],
            community_id=community.id,
            thread_id=None,
            post_id=None,
            actor_id=proposer.id,
            data={
                "event": "consent",
                "what": kind,
                "title": title,
                "room": room.name,
                "url": f"/c/{community.slug}/quotes/{proposal.id}",
            },
        )
        if not asked:
            await _publish(connection, community, room, proposal, actor_id=proposer.id)
    return proposal


@dataclass(frozen=True)
class QuoteView:
    message: Message
    consent: str  # asked, accepted or declined


@dataclass(frozen=True)
class ProposalView:
    community: Community
    room: Room
    proposal: Proposal
    actor: Actor
    quotes: list[QuoteView]

    @property
    def awaiting_me(self) -> bool:
        """The reader still has to answer for some of their messages."""
        me = self.actor.user_id if self.actor.user is not None else None
        return any(quote.consent == "asked" and quote.message.author_id == me for quote in self.quotes)

    @property
    def published_url(self) -> str | None:
        if self.proposal.thread_id is not None:
            return f"/c/{self.community.slug}/t/{self.proposal.thread_id}"
        if self.proposal.tip_id is not None:
            return f"/c/{self.community.slug}/tips#tip-{self.proposal.tip_id}"
        if self.proposal.resource_id is not None:
            return f"/c/{self.community.slug}/resources#resource-{self.proposal.resource_id}"
        return None


async def open_proposal(connection: asyncpg.Connection, user: User | None, slug: str, proposal_id: int) -> ProposalView:
    """A proposal, for its proposer, its quoted authors and the community's leaders (404 for anyone else)."""
    community = await communities.by_slug(connection, slug)
    proposal = await chat_proposals.by_id(connection, community.id, proposal_id) if community else None
    if community is None or proposal is None or user is None:
        raise not_found()
    actor = await actor_for(connection, user, community.id)
    quotes = await chat_proposals.quotes(connection, proposal.id)
    involved = user.id == proposal.proposer_id or any(quote.author_id == user.id for quote in quotes)
    if not (involved or actor.can_moderate) or not access.can_read_room(actor, community):
        raise not_found()
    room = await rooms.by_id(connection, proposal.room_id)
    assert room is not None
    consent = {quote.message_id: quote.consent for quote in quotes}
    shown = await messages.by_ids(connection, list(consent))
    return ProposalView(
        community, room, proposal, actor, [QuoteView(message, consent[message.id]) for message in shown]
    )


async def do_answer(
    connection: asyncpg.Connection, user: User | None, slug: str, proposal_id: int, decision: str
) -> ProposalView:
    """A quoted author accepts or declines the quoting of their messages; the last answer publishes."""
    if decision not in {"accept", "decline"}:
        raise bad_request(_("Choose accept or decline."), "decision")
    view = await open_proposal(connection, user, slug, proposal_id)
    if view.proposal.status != "waiting":
        raise conflict(_("This proposal was already decided."))
    assert user is not None
    async with events.unit_of_work(connection):
        consent = "accepted" if decision == "accept" else "declined"
        if await chat_proposals.answer(connection, view.proposal.id, user.id, consent) == 0:
            raise forbidden(_("None of these messages waits for your answer."))
        remaining = await chat_proposals.quotes(connection, view.proposal.id)
        if not any(quote.consent == "asked" for quote in remaining):
            await _publish(connection, view.community, view.room, view.proposal, actor_id=user.id)
    return await open_proposal(connection, user, slug, proposal_id)


async def _publish(
    connection: asyncpg.Connection, community: Community, room: Room, proposal: Proposal, *, actor_id: int
) -> None:
    """Every answer is in: publish the accepted messages that are still visible, or drop the proposal; the
    proposer is told which, unless they are the one who gave the last answer (`actor_id`)."""
    status, url = await _publish_or_drop(connection, community, room, proposal)
    if proposal.proposer_id is None:
        return
    await notify.create(
        connection,
        [(proposal.proposer_id, "consent")],
        community_id=community.id,
        thread_id=None,
        post_id=None,
        actor_id=actor_id,
        data={"event": status, "what": proposal.kind, "title": proposal.title, "room": room.name, "url": url},
    )


async def _publish_or_drop(
    connection: asyncpg.Connection, community: Community, room: Room, proposal: Proposal
) -> tuple[str, str]:
    """Publish the accepted, still visible messages, or drop the proposal: its new status and where it leads."""
    dropped = ("dropped", f"/c/{community.slug}/quotes/{proposal.id}")
    accepted = [q.message_id for q in await chat_proposals.quotes(connection, proposal.id) if q.consent == "accepted"]
    quoted = [message for message in await messages.by_ids(connection, accepted) if message.state == "visible"]
    proposer = await users.by_id(connection, proposal.proposer_id) if proposal.proposer_id is not None else None
    if not quoted or proposer is None:
        await chat_proposals.finish(connection, proposal.id, "dropped")
        return dropped
    body = compose(community, room, proposal.note, quoted)
    try:
        if proposal.kind == "tip":
            tip = await tip_actions.do_add(connection, proposer, community, proposal.title, body)
            await chat_proposals.finish(connection, proposal.id, "published", tip_id=tip.id)
            return "published", f"/c/{community.slug}/tips#tip-{tip.id}"
        if proposal.kind == "resource":
            # Re-checked now: a leader who stepped down (or may no longer write here) publishes nothing.
            access.require_can_write_in(await actor_for(connection, proposer, community.id), community)
            data = resource_actions.check_resource(
                kind=proposal.resource_kind or "",
                title=proposal.title,
                description=body,
                url=proposal.url or "",
                published_on=None,
            )
            resource = await resource_actions.do_add(connection, proposer, community, data)
            await chat_proposals.finish(connection, proposal.id, "published", resource_id=resource.id)
            return "published", f"/c/{community.slug}/resources#resource-{resource.id}"
        place = await thread_actions.open_community(connection, proposer, community.slug)
        started = await thread_actions.do_create_thread(connection, None, place, title=proposal.title, body=body)
        await chat_proposals.finish(connection, proposal.id, "published", thread_id=started.thread_id)
        return "published", f"/c/{community.slug}/t/{started.thread_id}"
    except AppError:
        # The proposer may no longer write here (muted, banned, left): nothing is published in their name.
        await chat_proposals.finish(connection, proposal.id, "dropped")
        return dropped
