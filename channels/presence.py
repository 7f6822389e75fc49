"""Who is in each room across processes: Redis entries with expiring heartbeats, join/leave events, typing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from channels.protocol import Presence as PresenceFrame
from channels.protocol import PresenceChange, User, UserTyping, encode
from channels.redis_client import UNREACHABLE, RedisClient

log = logging.getLogger(__name__)

# Redis cannot answer, or answered with something that is not a member (a stale entry).
_FAILURES: tuple[type[Exception], ...] = (*UNREACHABLE, msgspec.MsgspecError)

Publish = Callable[[str, bytes], Awaitable[bool]]

# Per room, four keys sharing one hash tag (so a Redis Cluster keeps them on one slot):
#   …:entries  sorted set of "<user id>|<process id>", score = expiry time in ms (Redis clock)
#   …:users    hash user id → the member as JSON (protocol.User): exactly the members present
#   …:counts   hash user id → how many entries the user has (tabs on several processes)
#   …:version  the version of the room's latest change
# Every change runs as one script, so exactly one process sees a member arrive or go, and
# only it publishes the change. The clock is Redis's TIME, never a process's own.
#
# A snapshot (the members, and the version of the last change it includes) is consistent with
# the stream of changes: clients apply a change only if its version is above their snapshot's.
# So versions must be strictly increasing per room: TIME alone can repeat within a microsecond
# or step back (NTP, a failover to a replica), hence max(TIME, last + 1), remembered for a day.
_LUA_COMMON = """
local entries, users, counts, versions = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local ttl, keep, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local joined, left = {}, {}

local function user_of(entry)
  return string.match(entry, '^(.*)|[^|]*$')
end

local function drop(entry)
  local user = user_of(entry)
  if redis.call('HINCRBY', counts, user, -1) <= 0 then
    redis.call('HDEL', counts, user)
    local info = redis.call('HGET', users, user)
    redis.call('HDEL', users, user)
    if info then table.insert(left, info) end
  end
end

local function add(entry, user, info)
  local added = redis.call('ZADD', entries, now + ttl, entry)
  redis.call('HSET', users, user, info)
  if added == 1 and redis.call('HINCRBY', counts, user, 1) == 1 then
    table.insert(joined, info)
  end
end

local function sweep()
  local expired = redis.call('ZRANGEBYSCORE', entries, '-inf', now)
  for _, entry in ipairs(expired) do
    redis.call('ZREM', entries, entry)
    drop(entry)
  end
end

local function finish()
  local version = tonumber(redis.call('GET', versions) or '0')
  if #joined > 0 or #left > 0 then
    version = math.max(tonumber(t[1]) * 1000000 + tonumber(t[2]), version + 1)
    -- '%.0f': a plain number would be written as 1.7959212051235e+15 by older Redis.
    redis.call('SET', versions, string.format('%.0f', version), 'PX', 86400000)
  end
  -- The users hash, not the live entries: a member whose entry expired is listed until the
  -- sweep announces them as left, so no snapshot drops someone without a change saying so.
  local members = {}
  if want > 0 then
    members = redis.call('HVALS', users)
  end
  if keep > 0 then
    redis.call('PEXPIRE', entries, keep)
    redis.call('PEXPIRE', users, keep)
    redis.call('PEXPIRE', counts, keep)
    -- A room still in use keeps its version, so a quiet day does not send snapshots back to 0.
    redis.call('PEXPIRE', versions, 86400000)
  end
  return {version, joined, left, members}
end
"""

# ARGV: ttl, keep, want members, then (entry, user id, member JSON) for each member this process has.
_REFRESH = (
    _LUA_COMMON
    + """
for i = 4, #ARGV, 3 do
  add(ARGV[i], ARGV[i + 1], ARGV[i + 2])
end
sweep()
return finish()
"""
)

# ARGV: ttl, keep, want members, entry.
_REMOVE = (
    _LUA_COMMON
    + """
if redis.call('ZREM', entries, ARGV[4]) == 1 then
  drop(ARGV[4])
end
sweep()
return finish()
"""
)

# ARGV: 0, 0, 1 (read only).
_READ = _LUA_COMMON + "\nreturn finish()\n"


@dataclass
class _RoomLock:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


@dataclass
class _Local:
    user: User
    hidden: bool
    count: int = 0


class Presence:
    """This process's members of each room, mirrored in Redis with entries that expire after ttl.

    Each process refreshes its own entries every refresh_every seconds; the entries of a dead
    process expire after ttl, and the next refresh of any process with that room sweeps them,
    publishing the change that they left.

    The room is only ever sent changes (presence_change: who joined, who left); the full list
    (presence) is what join and snapshot return, for the one client that needs it. Sending the
    list with every change made n arrivals cost n³ bytes.

    A hidden member is counted locally but never written to Redis, so nobody sees them arrive,
    leave, or type.

    Redis trouble never raises out of here: the local view is the truth for this process and
    the next heartbeat writes it again once Redis answers.
    """

    def __init__(
        self,
        redis: RedisClient,
        prefix: str,
        publish: Publish,
        *,
        ttl: float = 30.0,
        refresh_every: float | None = None,
        typing_every: float = 3.0,
        timeout: float = 2.0,
        process_id: str | None = None,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.publish = publish
        self.ttl = ttl
        self.refresh_every = refresh_every if refresh_every is not None else ttl / 3
        self.typing_every = typing_every
        self.timeout = timeout
        self.process_id = process_id or uuid.uuid4().hex[:12]
        self._local: dict[str, dict[int, _Local]] = {}
        self._locks: dict[str, _RoomLock] = {}
        self._refresh = redis.register_script(_REFRESH)
        self._remove = redis.register_script(_REMOVE)
        self._read = redis.register_script(_READ)
        self._decode_user = msgspec.json.Decoder(User).decode
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._heartbeats(), name="presence-heartbeat")

    async def stop(self) -> None:
        """Stop refreshing and withdraw this process's members, so others see them leave now."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        rooms = self._local
        self._local = {}
        for topic, members in rooms.items():
            for user_id in members:
                await self._sync(topic, user_id, snapshot=False)

    # --- members ------------------------------------------------------------------------------

    async def join(self, topic: str, user: User, *, hidden: bool = False) -> PresenceFrame | None:
        """Count one more connection of user in topic; returns snapshot(topic) after it, or None.

        The first connection of a visible user across all processes publishes a presence_change
        with the user in `joined` to the topic. `hidden` is per user and room: the latest join sets it.
        """
        local = self._local.setdefault(topic, {}).get(user.id)
        if local is None:
            local = self._local[topic][user.id] = _Local(user, hidden)
        local.user = user
        local.hidden = hidden
        local.count += 1
        return await self._sync(topic, user.id, snapshot=True)

    async def leave(self, topic: str, user_id: int) -> None:
        """Count one connection of user fewer; the last one across all processes publishes a change with `left`."""
        members = self._local.get(topic, {})
        local = members.get(user_id)
        if local is None:
            return
        local.count -= 1
        if local.count > 0:
            return
        del members[user_id]
        if not members:
            self._local.pop(topic, None)
        await self._sync(topic, user_id, snapshot=False)

    def local_counts(self) -> tuple[int, int]:
        """Rooms this process has members in, and its member entries over those rooms."""
        return len(self._local), sum(len(members) for members in self._local.values())

    async def snapshot(self, topic: str) -> PresenceFrame | None:
        """The presence frame of topic: everyone visibly in it on any process; None if Redis cannot say."""
        return await self._run(topic, self._read, [0, 0, 1])

    async def typing(self, topic: str, user: User) -> bool:
        """Publish that user is typing in topic, at most once per typing_every; True if published."""
        local = self._local.get(topic, {}).get(user.id)
        if local is None or local.hidden:
            return False
        key = f"{self.prefix}typing:{{{topic}}}:{user.id}"
        try:
            async with asyncio.timeout(self.timeout):
                fresh = await self.redis.set(key, b"1", nx=True, px=max(1, int(self.typing_every * 1000)))
        except UNREACHABLE as exc:
            (log.debug if self._failing else log.warning)("presence: typing in %s failed: %s", topic, exc)
            self._failing = True
            return False
        if not fresh:
            return False
        return await self.publish(topic, encode(UserTyping(room=topic, user=user)))

    async def heartbeat(self) -> None:
        """Refresh this process's entries in every room it has members in, and sweep expired ones."""
        for topic in list(self._local):
            async with self._room_lock(topic):
                members = self._local.get(topic)
                if members is None:
                    continue
                args: list[Any] = self._limits(snapshot=False)
                for local in members.values():
                    if not local.hidden:
                        args += self._entry(local)
                await self._run(topic, self._refresh, args)

    # --- internals ----------------------------------------------------------------------------

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_every)
            try:
                await self.heartbeat()
            except Exception:
                log.exception("presence heartbeat failed")

    async def _sync(self, topic: str, user_id: int, *, snapshot: bool) -> PresenceFrame | None:
        # Writes what the local view says *now*, so calls that overtake each other still end right.
        async with self._room_lock(topic):
            local = self._local.get(topic, {}).get(user_id)
            limits = self._limits(snapshot=snapshot)
            if local is not None and not local.hidden:
                return await self._run(topic, self._refresh, [*limits, *self._entry(local)])
            return await self._run(topic, self._remove, [*limits, self._entry_name(user_id)])

    @contextlib.asynccontextmanager
    async def _room_lock(self, topic: str) -> AsyncIterator[None]:
        # One change at a time per room, so a quick leave-then-join cannot reach Redis reversed.
        room = self._locks.get(topic)
        if room is None:
            room = self._locks[topic] = _RoomLock()
        room.users += 1
        try:
            async with room.lock:
                yield
        finally:
            room.users -= 1
            if room.users == 0:
                del self._locks[topic]

    def _keys(self, topic: str) -> list[str]:
        base = f"{self.prefix}presence:{{{topic}}}"
        return [f"{base}:entries", f"{base}:users", f"{base}:counts", f"{base}:version"]

    def _limits(self, *, snapshot: bool) -> list[Any]:
        ttl_ms = max(1, int(self.ttl * 1000))
        # Keys outlive the entries a little, and vanish when no process refreshes them any more.
        # The member list is fetched only when someone will get it: heartbeats and leaves of a
        # big room would otherwise pull the whole room out of Redis each time.
        return [ttl_ms, ttl_ms * 2 + int(self.refresh_every * 1000), int(snapshot)]

    def _entry_name(self, user_id: int) -> str:
        return f"{user_id}|{self.process_id}"

    def _entry(self, local: _Local) -> list[Any]:
        return [self._entry_name(local.user.id), str(local.user.id), encode(local.user)]

    async def _run(self, topic: str, script: Any, args: list[Any]) -> PresenceFrame | None:
        """Run script, publish the change it made (if any); the snapshot if args asked for it, else None."""
        try:
            async with asyncio.timeout(self.timeout):
                version, joined, left, members = await script(keys=self._keys(topic), args=args)
            want = bool(int(args[2]))
            frame = PresenceFrame(room=topic, members=self._users(members), version=int(version)) if want else None
            event = None
            if joined or left:
                event = PresenceChange(
                    room=topic, version=int(version), joined=self._users(joined), left=self._users(left)
                )
        except _FAILURES as exc:
            # Once per outage, not once per room and heartbeat.
            (log.debug if self._failing else log.warning)("presence: %s unavailable: %s", topic, exc)
            self._failing = True
            return None
        self._failing = False
        if event is not None:
            await self.publish(topic, encode(event))
        return frame

    def _users(self, raw: list[bytes]) -> list[User]:
        users = [self._decode_user(item) for item in raw]
        users.sort(key=lambda user: (user.display_name.casefold(), user.id))
        return users
