"""The email digest against a real local SMTP server (aiosmtpd): one email per member, never without SMTP."""

from __future__ import annotations

import email
from collections.abc import Iterator
from email.message import Message

import asyncpg
import pytest
from aiosmtpd.controller import Controller

from server.actions.digest import parse_smtp_url, send_digests
from server.embedded import free_port
from server.settings import Settings
from tests.factories import add_member, create_cast, create_community, create_thread, create_user


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        content = envelope.content  # type: ignore[attr-defined]
        raw = content if isinstance(content, bytes) else content.encode()
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(raw)))  # type: ignore[attr-defined]
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


async def _notify(
    db: asyncpg.Connection, user_id: int, actor_id: int, thread_id: int, community_id: int, kind: str = "reply"
) -> int:
    notification_id: int = await db.fetchval(
        """INSERT INTO notifications (user_id, kind, actor_id, thread_id, community_id) VALUES ($1, $2, $3, $4, $5)
           RETURNING id""",
        user_id,
        kind,
        actor_id,
        thread_id,
        community_id,
    )
    return notification_id


async def _want_email(db: asyncpg.Connection, user_id: int, *kinds: str) -> None:
    for kind in kinds:
        await db.execute(
            "INSERT INTO notification_preferences (user_id, kind, in_app, email) VALUES ($1, $2, true, true)",
            user_id,
            kind,
        )


async def test_one_digest_per_member_of_their_unread_unemailed_notifications(
    db: asyncpg.Connection, settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    cast = await create_cast(db)
    await db.execute("UPDATE users SET email = username || '@example.org'")
    thread = await create_thread(db, cast["community"], cast["member"], "Sleep tips")
    first = await _notify(db, cast["member"], cast["leader"], thread, cast["community"])
    second = await _notify(db, cast["member"], cast["leader"], thread, cast["community"], "mention")
    already_read = await _notify(db, cast["member"], cast["leader"], thread, cast["community"])
    await db.execute("UPDATE notifications SET read_at = now() WHERE id = $1", already_read)
    not_wanted = await _notify(db, cast["member"], cast["leader"], thread, cast["community"], "welcome")
    await _notify(db, cast["leader"], cast["member"], thread, cast["community"])  # the leader did not ask for email
    await _want_email(db, cast["member"], "reply", "mention")
    configured = settings.with_overrides(smtp_url=f"smtp://127.0.0.1:{port}")

    assert await send_digests(db, configured) == 1
    assert len(inbox.messages) == 1
    recipients, message = inbox.messages[0]
    assert recipients == ["member@example.org"]
    assert message["Subject"] == "Kindred: 2 new notifications"
    text = message.get_payload(decode=True).decode()
    assert "Leader replied to “Sleep tips”" in text and "Leader mentioned you in “Sleep tips”" in text
    assert f"{configured.site_origin}/notifications#preferences" in text
    emailed = {row["id"] for row in await db.fetch("SELECT id FROM notifications WHERE emailed_at IS NOT NULL")}
    assert emailed == {first, second}
    assert not_wanted not in emailed
    # A second run finds nothing new to send.
    assert await send_digests(db, configured) == 0 and len(inbox.messages) == 1


async def test_no_email_is_ever_sent_without_an_smtp_server_configured(
    db: asyncpg.Connection, settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    inbox, _port = smtp
    cast = await create_cast(db)
    await db.execute("UPDATE users SET email = username || '@example.org'")
    thread = await create_thread(db, cast["community"], cast["member"])
    await _notify(db, cast["member"], cast["leader"], thread, cast["community"])
    await _want_email(db, cast["member"], "reply")
    assert settings.smtp_url is None
    assert await send_digests(db, settings) == 0
    assert inbox.messages == []
    assert await db.fetchval("SELECT count(*) FROM notifications WHERE emailed_at IS NOT NULL") == 0


async def test_a_failed_send_leaves_the_notifications_for_the_next_run(
    db: asyncpg.Connection, settings: Settings
) -> None:
    cast = await create_cast(db)
    await db.execute("UPDATE users SET email = 'member@example.org' WHERE id = $1", cast["member"])
    thread = await create_thread(db, cast["community"], cast["member"])
    await _notify(db, cast["member"], cast["leader"], thread, cast["community"])
    await _want_email(db, cast["member"], "reply")
    nobody_listening = settings.with_overrides(smtp_url=f"smtp://127.0.0.1:{free_port()}")
    assert await send_digests(db, nobody_listening) == 0
    assert await db.fetchval("SELECT count(*) FROM notifications WHERE emailed_at IS NULL") == 1


async def test_members_without_an_email_address_or_access_get_no_digest(
    db: asyncpg.Connection, settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    private = await create_community(db, "private-place", "Private Place", visibility="members")
    former = await create_user(db, "former", email="former@example.org")
    no_address = await create_user(db, "quiet")
    helper = await create_user(db, "helper")
    await add_member(db, private, helper)
    await add_member(db, private, no_address)
    thread = await create_thread(db, private, helper, "Private")
    await _notify(db, former, helper, thread, private)  # no longer a member: must not leak by email
    await _notify(db, no_address, helper, thread, private)
    await _want_email(db, former, "reply")
    await _want_email(db, no_address, "reply")
    assert await send_digests(db, settings.with_overrides(smtp_url=f"smtp://127.0.0.1:{port}")) == 0
    assert inbox.messages == []


def test_smtp_urls_are_read_with_their_options() -> None:
    plain = parse_smtp_url("smtp://mail.example.org")
    assert (plain.host, plain.port, plain.implicit_tls, plain.starttls, plain.username) == (
        "mail.example.org",
        25,
        False,
        False,
        None,
    )
    secure = parse_smtp_url("smtps://user%40site:p%40ss@mail.example.org")
    assert (secure.port, secure.implicit_tls, secure.username, secure.password) == (465, True, "user@site", "p@ss")
    assert parse_smtp_url("smtp://h:587?starttls=1").starttls is True
    with pytest.raises(ValueError, match="smtp://"):
        parse_smtp_url("http://example.org")


async def test_a_digest_names_an_actor_by_their_pseudonym_in_that_community(
    db: asyncpg.Connection, settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    cast = await create_cast(db)
    await db.execute("UPDATE users SET email = username || '@example.org'")
    await db.execute(
        "UPDATE memberships SET pseudonym = 'Rose Garden', alias = 4242 WHERE user_id = $1 AND community_id = $2",
        cast["leader"],
        cast["community"],
    )
    thread = await create_thread(db, cast["community"], cast["member"], "Sleep tips")
    await _notify(db, cast["member"], cast["leader"], thread, cast["community"])
    await _want_email(db, cast["member"], "reply")
    assert await send_digests(db, settings.with_overrides(smtp_url=f"smtp://127.0.0.1:{port}")) == 1
    text = inbox.messages[0][1].get_payload(decode=True).decode()
    assert "Rose Garden replied to “Sleep tips”" in text and "Leader" not in text.replace("leader", "")
