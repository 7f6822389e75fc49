"""Read-access matrix, generated from the route table and the websocket frame types: every read door × community state × content × role shows exactly what server/actions/access.py allows."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
from starlette.routing import Route

from channels import protocol
from server import auth
from server.actions import access
from server.actions.access import Actor
from server.app import build_routes
from server.db.queries import communities as community_rows
from server.db.queries import users as user_rows
from server.db.queries.communities import Community
from server.settings import Settings
from tests.factories import (
    add_member,
    add_sanction,
    create_community,
    create_post,
    create_session,
    create_thread,
    create_user,
)
from tests.harness import LiveServer, live_server
from tests.live_client import LiveClient

ROLES = ["anonymous", "outsider", "member", "muted", "banned", "leader", "other_leader", "admin"]

# Each state is a community of its own, holding the same content. "public" is a public community as it
# starts (introductions and rooms closed to non-members); "opened" is one whose leaders opened both.
STATES: dict[str, dict[str, Any]] = {
    "public": {"visibility": "public", "introductions_open": False, "rooms_open": False},
    "opened": {"visibility": "public", "introductions_open": True, "rooms_open": True},
    "members": {"visibility": "members", "introductions_open": False, "rooms_open": False},
    "hidden": {"visibility": "hidden", "introductions_open": False, "rooms_open": False},
}
CODES = {"public": "pub", "opened": "opn", "members": "mem", "hidden": "hid"}


def marker(state: str, piece: str) -> str:
    """A word found nowhere else: zz + state + piece + zz (no marker is a substring of another)."""
    return f"zz{CODES[state]}{piece}zz"


def seek(state: str) -> str:
    """The word every post of a community holds, to search for (a search page repeats its query)."""
    return f"seek{CODES[state]}"


PIECES = ["name", "title", "body", "reply", "intro", "introbody", "mtitle", "mbody", "tip", "chat", "quiet"]
ALL_MARKERS = [marker(state, piece) for state in STATES for piece in PIECES]


@dataclass(frozen=True)
class ThreadSpec:
    kind: str
    audience: str
    title: str  # the piece whose marker is in the title
    body: str  # ... and in the first post


@dataclass(frozen=True)
class PostSpec:
    thread: str
    audience: str
    body: str


THREADS = {
    "ordinary": ThreadSpec("discussion", "everyone", "title", "body"),
    "intro": ThreadSpec("introduction", "everyone", "intro", "introbody"),
    "members": ThreadSpec("discussion", "members", "mtitle", "mbody"),
}
# First posts are named after their thread; "reply" is a members-only reply inside the ordinary thread.
POSTS = {
    "ordinary": PostSpec("ordinary", "everyone", "body"),
    "intro": PostSpec("intro", "everyone", "introbody"),
    "members": PostSpec("members", "members", "mbody"),
    "reply": PostSpec("ordinary", "members", "reply"),
}


def slug_of(state: str) -> str:
    return f"{state}-condition"


# --- The data: four communities, one per state, with the same content and the same people ------------


@dataclass
class World:
    users: dict[str, int]
    communities: dict[str, int]
    threads: dict[tuple[str, str], int] = field(default_factory=dict)
    posts: dict[tuple[str, str], int] = field(default_factory=dict)
    resources: dict[str, int] = field(default_factory=dict)
    # (role, state, post key) → a notification the role holds about that post (as if mentioned in it)
    notifications: dict[tuple[str, str, str], int] = field(default_factory=dict)


async def build_world(db: asyncpg.Connection) -> World:
    users = {}
    for name in ("leader", "member", "banned", "muted", "admin", "outsider", "other_leader", "author"):
        users[name] = await create_user(db, name if name != "admin" else "siteadmin", admin=name == "admin")
    other = await create_community(db, "other-condition", "Other Condition")
    await add_member(db, other, users["other_leader"], "leader")
    world = World(users, {})
    for state, columns in STATES.items():
        community = await create_community(db, slug_of(state), f"{state.title()} {marker(state, 'name')}", **columns)
        world.communities[state] = community
        await add_member(db, community, users["leader"], "leader")
        for name in ("member", "banned", "muted", "author"):
            await add_member(db, community, users[name])
        await add_sanction(db, community, users["banned"], "ban", reason="spam")
        await add_sanction(db, community, users["muted"], "mute", reason="heated")
        quiet = await create_user(db, f"quiet{CODES[state]}", display_name=f"Quiet {marker(state, 'quiet')}")
        await add_member(db, community, quiet)
        for key, spec in THREADS.items():
            title, body = (
                f"About {marker(state, spec.title)}",
                f"We wrote {marker(state, spec.body)} here, {seek(state)}.",
            )
            thread = await create_thread(
                db, community, users["author"], title, body, kind=spec.kind, audience=spec.audience
            )
            await db.execute("UPDATE posts SET audience = $2 WHERE thread_id = $1", thread, spec.audience)
            world.threads[state, key] = thread
            world.posts[state, key] = await db.fetchval("SELECT min(id) FROM posts WHERE thread_id = $1", thread)
        world.posts[state, "reply"] = await create_post(
            db,
            world.threads[state, "ordinary"],
            users["author"],
            f"Only us: {marker(state, 'reply')}, {seek(state)}.",
            audience="members",
        )
        await db.execute(
            "INSERT INTO tips (community_id, author_id, name, description) VALUES ($1, $2, $3, $4)",
            community, users["author"], f"Tip {marker(state, 'tip')}", f"Rest {marker(state, 'tip')}",
        )  # fmt: skip
        world.resources[state] = await db.fetchval(
            "INSERT INTO resources (community_id, kind, title, url) VALUES ($1, 'registry', 'A registry', 'https://example.org') RETURNING id",
            community,
        )  # fmt: skip
        room = await db.fetchval(
            "UPDATE rooms SET last_seq = 1 WHERE community_id = $1 AND is_main RETURNING id", community
        )
        await db.execute(
            "INSERT INTO room_messages (room_id, seq, author_id, client_msg_id, body) VALUES ($1, 1, $2, 'c1', $3)",
            room, users["author"], f"Tonight {marker(state, 'chat')} again",
        )  # fmt: skip
        # A notification about every post for every signed-in role, as if each had been mentioned there when
        # they could read it: the list must show only those they may read now.
        for role in ROLES[1:]:
            for key, post in POSTS.items():
                world.notifications[role, state, key] = await db.fetchval(
                    """INSERT INTO notifications (user_id, kind, community_id, thread_id, post_id, actor_id)
                       VALUES ($1, 'mention', $2, $3, $4, $5) RETURNING id""",
                    users[role], community, world.threads[state, post.thread], world.posts[state, key], users["author"],
                )  # fmt: skip
    return world


# --- What the policy allows, per reader --------------------------------------------------------------


@dataclass(frozen=True)
class View:
    """One reader (role) in front of one community (state), with the policy's answers."""

    state: str
    role: str
    actor: Actor
    community: Community

    def m(self, piece: str) -> str:
        return marker(self.state, piece)

    @property
    def see(self) -> bool:
        return access.can_see_community(self.actor, self.community)

    def forum(self, kind: str | None = None, audience: str = "everyone") -> bool:
        return self.see and access.can_read_forum(self.actor, self.community, kind, audience)

    def thread(self, key: str) -> bool:
        spec = THREADS[key]
        return self.forum(spec.kind, spec.audience)

    def post(self, key: str) -> bool:
        spec = POSTS[key]
        return self.thread(spec.thread) and self.forum(THREADS[spec.thread].kind, spec.audience)

    @property
    def room(self) -> bool:
        return access.can_read_room(self.actor, self.community)

    @property
    def moderates(self) -> bool:
        return access.can_moderate(self.actor)

    @property
    def writes(self) -> bool:
        return access.can_write(self.actor, self.community)

    def thread_text(self, key: str) -> set[str]:
        """What a thread page shows this reader: title, first post, and each reply they may read."""
        spec = THREADS[key]
        shown = {self.m(spec.title), self.m(spec.body)}
        shown |= {
            self.m(post.body) for name, post in POSTS.items() if post.thread == key and name != key and self.post(name)
        }
        return shown

    def titles(self, kind: str | None = None) -> set[str]:
        return {self.m(spec.title) for key, spec in THREADS.items() if kind in {None, spec.kind} and self.thread(key)}

    @property
    def everything(self) -> set[str]:
        return {self.m(piece) for piece in PIECES}


@dataclass(frozen=True)
class Ask:
    """One read: the URL, whether policy allows it, the markers the answer must (and may) hold, and how a
    refusal must look: exactly like the same door's answer about nothing (`twin`: a thread, post, room or
    community that does not exist) when the reader may not know the thing exists, else one of `refusals`."""

    url: str
    ok: bool
    shown: frozenset[str]
    refusals: frozenset[int]
    twin: str | None = None
    status: int = 200
    may_show: frozenset[str] = frozenset()


NOTHING = "999999999"
NO_COMMUNITY = "no-such-condition"
PAGE_REFUSALS = frozenset({303, 401, 403})  # a log-in redirect, sign in, or not for you
API_REFUSALS = frozenset({401, 403})


def ask(
    view: View,
    url: str,
    *,
    ok: bool,
    shown: Iterable[str] = (),
    readable: bool = True,
    nothing: str | None = None,
    status: int = 200,
    may_show: Iterable[str] = (),
    refusals: Iterable[int] | None = None,
) -> Ask:
    """readable: may the reader know that the thing the door is about (at `url`, and at `nothing` a thing
    that does not exist) exists; a community they may not see is answered like one that does not exist."""
    twin = None
    if not view.see:
        twin = url.replace(slug_of(view.state), NO_COMMUNITY)
    elif not readable:
        twin = nothing
    if refusals is None:
        refusals = API_REFUSALS if url.startswith("/api/") else PAGE_REFUSALS
    extra = set(may_show) | ({view.m("name")} if view.see else set())
    return Ask(url, ok and readable and view.see, frozenset(shown), frozenset(refusals), twin, status, frozenset(extra))


Door = Callable[[View, World, str], list[Ask]]


def _community(piece: str | None = None) -> Door:
    """A door the community page's rule opens (can_see_community); its tips only to forum readers."""

    def door(view: View, world: World, path: str) -> list[Ask]:
        return [ask(view, path, ok=True, shown={view.m("tip")} if piece and view.forum() else set())]

    return door


def _list(kind: str | None) -> Door:
    def door(view: View, world: World, path: str) -> list[Ask]:
        return [ask(view, path, ok=True, shown=view.titles(kind))]

    return door


def _threads_list_api(view: View, world: World, path: str) -> list[Ask]:
    return [
        ask(view, path, ok=True, shown=view.titles()),
        ask(view, path + "?kind=introduction", ok=True, shown=view.titles("introduction")),
    ]


def _new_thread_form(view: View, world: World, path: str) -> list[Ask]:
    # "Start a thread" forms are not found by those who may not read the forum (forum.py: thread_not_found).
    return [ask(view, path, ok=view.forum(), refusals={404} if not view.forum() else None)]


def _thread(rule: str) -> Door:
    def door(view: View, world: World, path: str) -> list[Ask]:
        found = []
        for key in THREADS:
            url, nothing = path.replace("{id}", str(world.threads[view.state, key])), path.replace("{id}", NOTHING)
            readable = view.thread(key)
            if rule == "read":
                found.append(ask(view, url, ok=True, readable=readable, nothing=nothing, shown=view.thread_text(key)))
            else:  # a leader's form about the thread
                found.append(
                    ask(view, url, ok=view.moderates, readable=readable, nothing=nothing, may_show=view.everything)
                )
        return found

    return door


def _post(rule: str) -> Door:
    def door(view: View, world: World, path: str) -> list[Ask]:
        found = []
        for key, spec in POSTS.items():
            url, nothing = path.replace("{id}", str(world.posts[view.state, key])), path.replace("{id}", NOTHING)
            body, title = view.m(spec.body), view.m(THREADS[spec.thread].title)
            at = functools.partial(ask, view, url, readable=view.post(key), nothing=nothing)
            if rule == "permalink":  # a redirect to the thread page
                found.append(at(ok=True, status=303))
            elif rule == "history":
                found.append(at(ok=True, shown={body}, may_show={title}))
            elif rule == "own":  # the author's own edit form: nobody in the cast wrote it
                found.append(at(ok=False))
            elif rule == "flag":  # the flag form quotes the post, to those who may write here
                found.append(at(ok=view.writes, shown={body}))
            else:  # a leader's form about the post
                found.append(at(ok=view.moderates, may_show=view.everything))
        return found

    return door


def _room(view: View, world: World, path: str) -> list[Ask]:
    nothing = path.rstrip("/").removesuffix("/main") + "/no-such-room"
    found = ask(view, path, ok=True, readable=view.room, nothing=nothing, shown={view.m("chat")})
    if view.actor.standing.banned and not view.room:
        # A banned member is told so, with the leaders' reason (require_can_read_room), never shown the room.
        found = dataclasses.replace(found, twin=None, refusals=frozenset({403}))
    return [found]


def _room_list(view: View, world: World, path: str) -> list[Ask]:
    """The rooms' names and the reader's unread counts: the room page's rule (can_read_room)."""
    nothing = path.replace(slug_of(view.state), NO_COMMUNITY)
    found = ask(view, path, ok=True, readable=view.room, nothing=nothing)
    if view.actor.standing.banned and not view.room:
        found = dataclasses.replace(found, twin=None, refusals=frozenset({403}))
    return [found]


def _propose_form(view: View, world: World, path: str) -> list[Ask]:
    """Choosing chat messages to propose as a tip or thread: the room's messages, to those who may write there."""
    nothing = path.replace("/main/", "/no-such-room/")
    found = ask(view, path, ok=view.writes, readable=view.room, nothing=nothing, shown={view.m("chat")})
    if view.actor.standing.banned and not view.room:
        found = dataclasses.replace(found, twin=None, refusals=frozenset({403}))
    return [found]


def _proposal(view: View, world: World, path: str) -> list[Ask]:
    """A chat proposal: read only by its proposer, its quoted authors and leaders; nobody in the cast made one."""
    url = path.replace("{proposal_id:int}", NOTHING)
    return [ask(view, url, ok=False, readable=False, nothing=url, refusals={303, 404})]


def _message_flag(view: View, world: World, path: str) -> list[Ask]:
    nothing = path.replace("/messages/1/", f"/messages/{NOTHING}/")
    return [ask(view, path, ok=view.writes, readable=view.room, nothing=nothing, shown={view.m("chat")})]


def _leaders(shown: str | None = None) -> Door:
    """A leaders' page (can_moderate): refused to others of a community they may see, else not found."""

    def door(view: View, world: World, path: str) -> list[Ask]:
        url = path.replace("{id}", str(world.resources[view.state]))
        return [ask(view, url, ok=view.moderates, shown={view.m(shown)} if shown else set(), may_show=view.everything)]

    return door


def _families(view: View, world: World, path: str) -> list[Ask]:
    """Families like mine: members who are not banned (their own facts; no one here opted in, so no family
    is listed), and counts for leaders and site admins; refused to everyone else."""
    ok = access.can_use_families(view.actor, view.community) or access.can_count_families(view.actor, view.community)
    return [ask(view, path, ok=ok)]


# Every GET route that reads one community, with the door that says what each reader gets.
COMMUNITY_DOORS: dict[str, Door] = {
    "/c/{slug}": _community("tip"),
    "/c/{slug}/resources": _community(),
    "/c/{slug}/tips": _community("tip"),
    "/c/{slug}/sections/{section}/history": _community(),
    "/api/v1/communities/{slug}": _community("tip"),
    "/api/v1/communities/{slug}/tips": _community("tip"),
    "/api/v1/communities/{slug}/resources": _community(),
    "/api/v1/communities/{slug}/sections/{section}": _community(),
    "/api/v1/communities/{slug}/sections/{section}/revisions": _community(),
    "/c/{slug}/forum": _list(None),
    "/c/{slug}/introductions": _list("introduction"),
    "/c/{slug}/questions": _list("question"),
    "/api/v1/communities/{slug}/threads": _threads_list_api,
    "/c/{slug}/forum/new": _new_thread_form,
    "/c/{slug}/ask": _new_thread_form,
    "/c/{slug}/introductions/new": _new_thread_form,
    "/c/{slug}/t/{thread_id:int}": _thread("read"),
    "/api/v1/threads/{thread_id:int}": _thread("read"),
    "/c/{slug}/t/{thread_id:int}/move": _thread("leaders"),
    "/c/{slug}/posts/{post_id:int}": _post("permalink"),
    "/c/{slug}/posts/{post_id:int}/history": _post("history"),
    "/c/{slug}/posts/{post_id:int}/edit": _post("own"),
    "/c/{slug}/posts/{post_id:int}/flag": _post("flag"),
    "/c/{slug}/posts/{post_id:int}/hide": _post("leaders"),
    "/c/{slug}/live": _room,
    "/c/{slug}/rooms": _room_list,
    "/c/{slug}/live/{room}": _room,
    "/c/{slug}/live/{room}/messages/{seq:int}/flag": _message_flag,
    "/c/{slug}/live/{room}/propose": _propose_form,
    "/c/{slug}/quotes/{proposal_id:int}": _proposal,
    "/c/{slug}/live/{room}/messages/{seq:int}/moderate": _leaders(),
    "/c/{slug}/members": _leaders("quiet"),
    "/c/{slug}/audit": _leaders(),
    "/c/{slug}/audit.csv": _leaders(),
    "/c/{slug}/reading": _leaders(),
    "/c/{slug}/review": _leaders(),
    "/c/{slug}/sections/{section}/edit": _leaders(),
    "/c/{slug}/resources/new": _leaders(),
    "/c/{slug}/resources/{resource_id:int}/edit": _leaders(),
    "/api/v1/communities/{slug}/invites": _leaders(),
    "/api/v1/communities/{slug}/join-requests": _leaders(),
    "/c/{slug}/families": _families,
    "/api/v1/communities/{slug}/families": _families,
}

# GET routes that read across communities: checked by test_site_wide_reads_show_only_what_each_reader_may_read.
SITE_DOORS = {
    "/": "the directory (a hidden community's name only to those who may see it)",
    "/api/v1/communities": "the directory",
    "/search": "search", "/api/v1/search": "search",
    "/u/{username}": "profiles", "/api/v1/users/{username}": "profiles",
    "/notifications": "notifications", "/api/v1/notifications": "notifications",
    "/notifications/{notification_id:int}": "opening one notification",
    "/join/{token}": "an invitation (an unknown link shows nothing)", "/api/v1/invites/{token}": "an invitation",
}  # fmt: skip

# GET routes that show no community content.
NOT_COMMUNITY_CONTENT = {
    "/healthz", "/favicon.ico", "/robots.txt", "/metrics", "/register", "/login", "/faq",
    "/settings", "/settings/export.json", "/settings/deleted", "/api/v1/me/export",  # one's own account and data
    "/api/v1/openapi.json", "/api/v1/session",
    "/communities/new", "/admin/proposals", "/api/v1/proposals",  # proposals for new communities
    "/admin/flags",  # site admins' queue of escalated flags (admins may read every forum)
    "/admin/experts",  # site admins' page of expert badges (tests/server/routes/test_experts.py)
    # The rare-disease catalogue: reference data; the community it names as covering a condition is
    # never a hidden one (tests/server/routes/test_api_catalogue.py).
    "/api/v1/catalogue", "/api/v1/catalogue/{code}",
    # One's own private conversations, and the site admins' queue of reported ones: only their two participants
    # read a conversation, leaders and site admins included through every door
    # (tests/server/test_conversation_doors.py).
    "/conversations", "/conversations/{conversation_id:int}", "/api/v1/conversations",
    "/api/v1/conversations/{conversation_id:int}/messages",
    "/admin/conversation-reports", "/admin/conversation-reports/{report_id:int}",
}  # fmt: skip

# Websocket frames that read: join (a room's history) and watch (a thread's changes). The rest write,
# leave, or answer only the sender (`edits`, a message's earlier texts, only to leaders and site admins:
# tests/server/test_permission_matrix.py reads it as every role; `members`, names to @mention, only to
# those who may write in the room: tests/server/routes/test_live_messages.py).
READ_FRAMES = {protocol.Join, protocol.Watch}
OTHER_FRAMES = {
    protocol.Leave,
    protocol.Send,
    protocol.Typing,
    protocol.Read,
    protocol.Ping,
    protocol.Unwatch,
    protocol.Remove,
    protocol.EditMessage,
    protocol.DeleteMessage,
    protocol.React,
    protocol.AskEdits,
    protocol.FindMembers,
}


# Cases checked (a case: one answer, or one notification in a list, against the policy), at the time of
# writing: a shrinking matrix fails. 8 roles × 4 states × 59 community reads; 8 roles × (profiles twice,
# directory, search, notifications, invitations); 8 roles × 4 states × (a join, a room list and 3 watches).
COMMUNITY_CASES = 1920
SITE_CASES = 672
LIVE_CASES = 160


def read_routes() -> set[str]:
    found = set()
    for route in build_routes():
        if isinstance(route, Route) and "GET" in (route.methods or set()):
            found.add(route.path)
    return found


def test_every_read_route_and_frame_type_is_classified() -> None:
    routes = read_routes()
    classified = set(COMMUNITY_DOORS) | set(SITE_DOORS) | NOT_COMMUNITY_CONTENT
    assert sorted(routes - classified) == [], (
        "classify these GET routes in COMMUNITY_DOORS, SITE_DOORS or NOT_COMMUNITY_CONTENT"
    )
    assert sorted(classified - routes) == [], "these classified routes no longer exist"
    assert set(typing.get_args(protocol.AnyClientFrame)) == READ_FRAMES | OTHER_FRAMES


# --- Running it -------------------------------------------------------------------------------------


def _fill(path: str, state: str) -> str:
    values = {"slug": slug_of(state), "room": "main", "section": "causes", "seq": "1"}
    for name, value in values.items():
        for pattern in (f"{{{name}:int}}", f"{{{name}}}"):
            path = path.replace(pattern, value)
    for name in ("thread_id", "post_id", "resource_id"):
        path = path.replace(f"{{{name}:int}}", "{id}")
    return path


def markers_in(text: str) -> set[str]:
    return {word for word in ALL_MARKERS if word in text}


@dataclass
class Tally:
    cases: int = 0
    mismatches: list[str] = field(default_factory=list)

    def check(self, where: str, found: Ask, answer: httpx.Response, twin: httpx.Response | None = None) -> None:
        """One case: the answer is the allowed one with every marker it must show, or a refusal (like
        the twin's answer about nothing, when there is a twin); never a marker policy keeps from this reader."""
        self.cases += 1
        markers = markers_in(answer.text)
        allowed = set(found.may_show)
        if found.ok:
            if answer.status_code != found.status:
                self.mismatches.append(f"{where}: expected {found.status}, got {answer.status_code}")
            if missing := found.shown - markers:
                self.mismatches.append(f"{where}: does not show {sorted(missing)}")
            allowed |= found.shown
        elif twin is not None:
            if answer.status_code != twin.status_code or twin.status_code not in {404} | PAGE_REFUSALS:
                self.mismatches.append(f"{where}: answered {answer.status_code}, nothing answers {twin.status_code}")
        elif answer.status_code not in found.refusals:
            self.mismatches.append(f"{where}: expected a refusal {sorted(found.refusals)}, got {answer.status_code}")
        if leaked := markers - allowed:
            self.mismatches.append(f"{where}: shows {sorted(leaked)}")


async def _views(db: asyncpg.Connection, world: World) -> dict[tuple[str, str], View]:
    views = {}
    for state in STATES:
        community = await community_rows.by_slug(db, slug_of(state))
        assert community is not None
        for role in ROLES:
            user = await user_rows.by_id(db, world.users[role]) if role != "anonymous" else None
            views[state, role] = View(state, role, await access.actor_for(db, user, community.id), community)
    return views


async def _clients(db: asyncpg.Connection, world: World, server: LiveServer) -> dict[str, httpx.AsyncClient]:
    clients = {}
    for role in ROLES:
        cookies = {auth.SESSION_COOKIE: await create_session(db, world.users[role])} if role != "anonymous" else {}
        clients[role] = httpx.AsyncClient(base_url=server.base_url, cookies=cookies, timeout=20)
    return clients


def _roomy(settings: Settings) -> Settings:
    # The matrix reads far more than a person would: the read limits are not what it tests.
    return settings.with_overrides(read_limit_session=10**7, read_limit_ip=10**7, db_pool_max=10)


async def _gather(jobs: list[Any], width: int = 8) -> list[Any]:
    gate = asyncio.Semaphore(width)

    async def one(job: Any) -> Any:
        async with gate:
            return await job

    return await asyncio.gather(*(one(job) for job in jobs))


async def test_every_community_door_shows_each_reader_exactly_what_the_policy_allows(
    settings: Settings, db: asyncpg.Connection
) -> None:
    world = await build_world(db)
    views = await _views(db, world)
    tally = Tally()
    async with live_server(_roomy(settings)) as server:
        clients = await _clients(db, world, server)
        try:
            for role in ROLES:
                asks: list[tuple[str, Ask]] = []
                for state in STATES:
                    view = views[state, role]
                    for path, door in COMMUNITY_DOORS.items():
                        asks += [(path, found) for found in door(view, world, _fill(path, state))]
                http = clients[role]
                urls = sorted(
                    {found.url for _path, found in asks} | {found.twin for _path, found in asks if found.twin}
                )
                answers = dict(zip(urls, await _gather([http.get(url) for url in urls]), strict=True))
                for path, found in asks:
                    twin = answers[found.twin] if found.twin else None
                    tally.check(f"{role} {found.url} ({path})", found, answers[found.url], twin)
        finally:
            for http in clients.values():
                await http.aclose()
    assert tally.mismatches == [], "\n".join(tally.mismatches)
    assert tally.cases >= COMMUNITY_CASES, tally.cases


def always(url: str, shown: Iterable[str], may_show: Iterable[str] = ()) -> Ask:
    """A read answered to everyone (200): only what it shows depends on the reader."""
    return Ask(url, True, frozenset(shown), frozenset(), None, 200, frozenset(may_show))


def refused(url: str, statuses: Iterable[int], twin: str | None = None) -> Ask:
    return Ask(url, False, frozenset(), frozenset(statuses), twin)


def _anyone(view: View) -> View:
    """The same community seen by an anonymous visitor: what is open to everyone."""
    return dataclasses.replace(view, role="anonymous", actor=Actor(None, view.community.id, access.ANONYMOUS))


def _not_admin(view: View) -> View:
    """A profile treats site admins as anyone else (server.db.queries.users.public_posts)."""
    user = view.actor.user
    if user is None or not user.is_admin:
        return view
    return dataclasses.replace(
        view, actor=dataclasses.replace(view.actor, user=dataclasses.replace(user, is_admin=False))
    )


def _directory(views: list[View]) -> list[Ask]:
    """The directory lists what everyone may see, and never a community this reader may not see."""
    listed = {view.m("name") for view in views if access.can_see_community(_anyone(view).actor, view.community)}
    seen = {view.m("name") for view in views if view.see}
    return [always(door, listed, seen) for door in ("/", "/api/v1/communities")]


def _search(view: View) -> list[Ask]:
    """Search for the word every post of this community holds: hits only in what the reader may read."""
    readable = [key for key in POSTS if view.post(key)]
    # One result per thread (issue 14): each thread with a readable match is shown by its title, with the
    # snippet of its best matching post; so a readable post's text may show, an unreadable one's never.
    shown = {view.m(THREADS[POSTS[key].thread].title) for key in readable}
    bodies = {view.m(POSTS[key].body) for key in readable}
    asks = []
    for door in ("/search", "/api/v1/search"):
        asks.append(always(f"{door}?q={seek(view.state)}", shown, bodies | ({view.m("name")} if view.see else set())))
        # Within the community: as its pages, a community the reader may not see is not found.
        url = f"{door}?q={seek(view.state)}&community={slug_of(view.state)}"
        asks.append(ask(view, url, ok=True, shown=shown, may_show=bodies))
    return asks


def _profile(views: list[View], *, shown_by_author: bool) -> list[Ask]:
    """The author's profile: excerpts and communities as the author chose, and only to whom policy allows:
    an excerpt to those who may read the post, and unless the author shows them, only to fellow members
    (site admins are not special there); a community only if shown, and to whom can_see_membership allows."""
    shown: set[str] = set()
    may_show: set[str] = set()
    for view in views:
        reader = _not_admin(view)
        for key, spec in POSTS.items():
            kind = THREADS[spec.thread].kind
            if reader.post(key) and (shown_by_author or reader.forum(kind, "members")):
                shown.add(view.m(spec.body))
                may_show |= {view.m(THREADS[spec.thread].title), view.m("name")}
        if shown_by_author and access.can_see_membership(view.actor, view.community):
            shown.add(view.m("name"))
    return [always(url, shown, may_show) for url in ("/u/author", "/api/v1/users/author")]


def _notifications(views: list[View], world: World) -> tuple[list[Ask], dict[int, bool]]:
    """The reader's notifications, one about every post: listed and opened only where they may read it
    now, with no text from the others; someone else's notification is not found."""
    role = views[0].role
    if role == "anonymous":
        asks = [refused("/notifications", {303}), refused("/api/v1/notifications", {401})]
        others = [world.notifications["member", view.state, key] for view in views for key in POSTS]
        return asks + [refused(f"/notifications/{number}", {303}) for number in others], {}
    shown: set[str] = set()
    may_show: set[str] = set()
    listed: dict[int, bool] = {}
    asks = []
    nothing = f"/notifications/{NOTHING}"
    someone = "admin" if role != "admin" else "member"
    for view in views:
        for key, spec in POSTS.items():
            number, visible = world.notifications[role, view.state, key], view.post(key)
            listed[number] = visible
            if visible:
                shown.add(view.m(THREADS[spec.thread].title))
                may_show.add(view.m("name"))
                asks.append(Ask(f"/notifications/{number}", True, frozenset(), frozenset(), None, 303))
            else:
                asks.append(refused(f"/notifications/{number}", (), nothing))
            asks.append(refused(f"/notifications/{world.notifications[someone, view.state, key]}", (), nothing))
    lists = [always(url, shown, may_show) for url in ("/notifications", "/api/v1/notifications")]
    return lists + asks, listed


def _listed(answer: httpx.Response, number: int) -> bool:
    if answer.headers.get("content-type", "").startswith("application/json"):
        return any(item["id"] == number for item in answer.json()["notifications"])
    return f'href="/notifications/{number}"' in answer.text


async def test_site_wide_reads_show_only_what_each_reader_may_read(settings: Settings, db: asyncpg.Connection) -> None:
    world = await build_world(db)
    views = await _views(db, world)
    tally = Tally()
    async with live_server(_roomy(settings)) as server:
        clients = await _clients(db, world, server)
        try:
            for shown_by_author in (False, True):
                await db.execute(
                    "UPDATE users SET show_communities = $2, show_posts = $2 WHERE id = $1",
                    world.users["author"],
                    shown_by_author,
                )
                for role in ROLES:
                    mine = [views[state, role] for state in STATES]
                    asks = _profile(mine, shown_by_author=shown_by_author)
                    listed: dict[int, bool] = {}
                    if not shown_by_author:  # the rest does not depend on the author's choice
                        asks += _directory(mine)
                        for view in mine:
                            asks += _search(view)
                        told, listed = _notifications(mine, world)
                        asks += told
                        # An invitation link that does not exist shows nothing (test_invites.py: real ones).
                        asks += [refused(f"{door}/unknown-link", {404}) for door in ("/join", "/api/v1/invites")]
                    http = clients[role]
                    urls = sorted({one.url for one in asks} | {one.twin for one in asks if one.twin})
                    answers = dict(zip(urls, await _gather([http.get(url) for url in urls]), strict=True))
                    where = f"{role}, author shows {shown_by_author}"
                    for one in asks:
                        twin = answers[one.twin] if one.twin else None
                        tally.check(f"{where}: {one.url}", one, answers[one.url], twin)
                    for door in ("/notifications", "/api/v1/notifications") if listed else ():
                        for number, visible in listed.items():
                            tally.cases += 1
                            if _listed(answers[door], number) != visible:
                                tally.mismatches.append(f"{where}: {door} lists notification {number}: {not visible}")
        finally:
            for http in clients.values():
                await http.aclose()
    assert tally.mismatches == [], "\n".join(tally.mismatches)
    assert tally.cases >= SITE_CASES, tally.cases


async def _pong(client: LiveClient) -> list[dict[str, Any]]:
    """Every frame up to the answer of a ping: a socket's frames come in order, so all earlier answers came."""
    start = len(client.frames)
    await client.send({"type": "ping"})
    await client.wait_for(lambda frame: frame["type"] == "pong", start=start)
    return client.frames[start:]


async def test_live_rooms_and_watched_threads_answer_each_reader_as_the_policy_allows(
    settings: Settings, db: asyncpg.Connection
) -> None:
    world = await build_world(db)
    views = await _views(db, world)
    tally = Tally()
    async with live_server(_roomy(settings)) as server:
        for role in ROLES:
            session = await create_session(db, world.users[role]) if role != "anonymous" else None
            client = await LiveClient.connect(server.ws_url, server.base_url, session)
            try:
                for state in STATES:
                    view = views[state, role]
                    room = f"{slug_of(state)}/main"
                    start = len(client.frames)
                    answer = await client.join(room)
                    frames = client.frames[start:] + await _pong(client)
                    tally.cases += 1
                    shown = markers_in(json.dumps(frames))
                    expected = {view.m("chat")} if view.room else set()
                    if view.room and answer["type"] != "joined":
                        tally.mismatches.append(f"{role} join {room}: {answer}")
                    if not view.room:
                        codes = {"not_found", "banned"} if view.actor.standing.banned else {"not_found"}
                        if answer["type"] != "error" or answer["code"] not in codes:
                            tally.mismatches.append(
                                f"{role} join {room}: expected an error {sorted(codes)}, got {answer}"
                            )
                    if shown != expected:
                        tally.mismatches.append(
                            f"{role} join {room}: frames show {sorted(shown)}, policy allows {sorted(expected)}"
                        )
                    # The room list's watch (rooms:<slug>): the room's rule, and never a message's text.
                    topic = f"rooms:{slug_of(state)}"
                    await client.send({"type": "watch", "topic": topic})
                    frames = await _pong(client)
                    tally.cases += 1
                    answers = [frame for frame in frames if frame.get("topic", frame.get("ref")) == topic]
                    codes = {"not_found", "banned"} if view.actor.standing.banned else {"not_found"}
                    if view.room != (answers[:1] == [{"type": "watching", "topic": topic}]) or (
                        not view.room and (answers[0]["type"] != "error" or answers[0]["code"] not in codes)
                    ):
                        tally.mismatches.append(f"{role} watch {topic}: got {answers}")
                    if leaked := markers_in(json.dumps(frames)):
                        tally.mismatches.append(f"{role} watch {topic}: frames show {sorted(leaked)}")
                    for key in THREADS:
                        topic = f"thread:{world.threads[state, key]}"
                        start = len(client.frames)
                        await client.send({"type": "watch", "topic": topic})
                        frames = await _pong(client)
                        tally.cases += 1
                        answers = [frame for frame in frames if frame.get("topic", frame.get("ref")) == topic]
                        wanted = "watching" if view.thread(key) else "error"
                        if [frame["type"] for frame in answers] != [wanted] or (
                            wanted == "error" and answers[0]["code"] != "not_found"
                        ):
                            tally.mismatches.append(
                                f"{role} watch {topic} ({state} {key}): expected {wanted}, got {answers}"
                            )
                        if leaked := markers_in(json.dumps(frames)):
                            tally.mismatches.append(f"{role} watch {topic}: frames show {sorted(leaked)}")
            finally:
                await client.close()
    assert tally.mismatches == [], "\n".join(tally.mismatches)
    assert tally.cases >= LIVE_CASES, tally.cases
