"""The audit page reads as sentences in the reader's language, filters by member, action and date (kept in
the URL), and its CSV keeps the machine columns; the members and review pages keep their spaces."""

from __future__ import annotations

import ast
import csv
import html
import io
import re

import asyncpg
import httpx

from server import auth
from tests.factories import (
    add_member,
    create_community,
    create_post,
    create_session,
    create_thread,
    create_user,
    csrf_from,
)

SLUG = "test-condition"


async def _people(client: httpx.AsyncClient, db: asyncpg.Connection) -> dict[str, int]:
    community = await create_community(db)
    await db.execute("INSERT INTO rooms (community_id, slug, name) VALUES ($1, 'parents', 'Parents')", community)
    ids = {"community": community}
    for name, role in (("amara", "leader"), ("lucia", "member"), ("tomas", "member")):
        ids[name] = await create_user(db, name, display_name=name.capitalize())
        await add_member(db, community, ids[name], role)
    client.cookies.set(auth.SESSION_COOKIE, await create_session(db, ids["amara"]))
    return ids


async def _post(client: httpx.AsyncClient, path: str, data: dict[str, str]) -> None:
    token = csrf_from((await client.get("/login")).text)
    response = await client.post(path, data={**data, "csrf_token": token})
    assert response.status_code == 303, response.text


def _text(page: str) -> str:
    """What a reader sees: tags out, white space as one space."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _rows(page: str) -> list[str]:
    return [_text(row) for row in re.findall(r"<tr data-action=.*?</tr>", page, re.S)]


async def _log_some(client: httpx.AsyncClient) -> None:
    await _post(client, f"/c/{SLUG}/live/parents/slow-mode", {"seconds": "30"})
    await _post(client, f"/c/{SLUG}/members/lucia/mute", {"duration": "1h", "reason": "heated"})
    await _post(client, f"/c/{SLUG}/members/tomas/ban", {"reason": "spam"})


async def test_the_audit_log_reads_as_sentences_with_slow_modes_value_not_codes(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await _people(client, db)
    await _log_some(client)
    page = await client.get(f"/c/{SLUG}/audit")
    assert page.status_code == 200
    rows = _rows(page.text)
    assert len(rows) == 3
    assert rows[0].endswith("Amara banned Tomas: spam")
    assert re.search(r"Amara muted Lucia until \d+ \w+, \d\d:\d\d: heated$", rows[1]), rows[1]
    assert rows[2].endswith("Amara set slow mode to 30 s in the room parents")
    for code in ("slow_mode", "remove_message"):
        assert code not in _text(page.text)


async def test_the_audit_log_reads_in_french_for_a_french_reader(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    ids = await _people(client, db)
    await _log_some(client)
    await db.execute("UPDATE users SET language = 'fr', time_zone = 'Europe/Paris' WHERE id = $1", ids["amara"])
    rows = _rows((await client.get(f"/c/{SLUG}/audit")).text)
    assert rows[0].endswith("Amara a banni Tomas : spam")
    assert re.search(r"Amara a rendu muet Lucia jusqu'au \d+ \S+, \d\d:\d\d : heated$", rows[1]), rows[1]
    assert rows[2].endswith("Amara a réglé le mode lent sur 30 s dans le salon parents")


async def test_the_audit_log_filters_by_member_action_and_date_and_keeps_the_filter_in_the_url(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    ids = await _people(client, db)
    await _log_some(client)
    # An older entry, on 1 December (the log is append-only: it is written so).
    await db.execute(
        """INSERT INTO moderation_actions (community_id, actor_id, action, target_kind, details, created_at)
           VALUES ($1, $2, 'slow_mode', 'room', '{"seconds": 10, "room": "main"}', '2026-12-01 12:00+00')""",
        ids["community"], ids["amara"],
    )  # fmt: skip
    by_member = await client.get(f"/c/{SLUG}/audit", params={"member": "LUCIA"})
    assert [row.split("Amara ", 1)[1][:11] for row in _rows(by_member.text)] == ["muted Lucia"]
    assert 'value="LUCIA"' in by_member.text
    assert f'href="/c/{SLUG}/audit.csv?member=LUCIA"' in by_member.text
    by_name = await client.get(f"/c/{SLUG}/audit", params={"member": "Tomas"})  # the name shown works too
    assert len(_rows(by_name.text)) == 1
    by_action = await client.get(f"/c/{SLUG}/audit", params={"action": "ban"})
    assert re.findall(r'<tr data-action="(\w+)"', by_action.text) == ["ban"]
    assert '<option value="ban" selected>' in by_action.text
    by_date = await client.get(f"/c/{SLUG}/audit", params={"since": "2026-12-01", "until": "2026-12-01"})
    assert len(_rows(by_date.text)) == 1 and "set slow mode to 10 s in the room main" in _rows(by_date.text)[0]
    assert 'value="2026-12-01"' in by_date.text
    nothing = await client.get(f"/c/{SLUG}/audit", params={"member": "nobody"})
    assert "No entries match this filter." in nothing.text
    filtered_csv = await client.get(f"/c/{SLUG}/audit.csv", params={"action": "ban"})
    assert [row[3] for row in csv.reader(io.StringIO(filtered_csv.text))][1:] == ["ban"]


async def test_a_bad_filter_comes_back_with_its_message_and_what_was_typed(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await _people(client, db)
    answer = await client.get(f"/c/{SLUG}/audit", params={"member": "lucia", "since": "3 December"})
    assert answer.status_code == 400
    assert "Please give a date as year-month-day" in answer.text and 'value="3 December"' in answer.text
    assert 'value="lucia"' in answer.text


async def test_a_member_is_refused_the_audit_log_whatever_the_filter(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    ids = await _people(client, db)
    client.cookies.set(auth.SESSION_COOKIE, await create_session(db, ids["lucia"]))
    for params in ({}, {"since": "not a date"}, {"action": "ban"}):
        assert (await client.get(f"/c/{SLUG}/audit", params=params)).status_code == 403
        assert (await client.get(f"/c/{SLUG}/audit.csv", params=params)).status_code == 403


async def test_the_csv_export_keeps_its_machine_columns_and_codes(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await _people(client, db)
    await _log_some(client)
    rows = list(csv.reader(io.StringIO((await client.get(f"/c/{SLUG}/audit.csv")).text)))
    assert rows[0] == [
        "id",
        "when_utc",
        "who",
        "action",
        "target_member",
        "target_kind",
        "target_id",
        "reason",
        "details",
    ]
    assert [row[2:6] for row in rows[1:]] == [
        ["amara", "ban", "tomas", "user"],
        ["amara", "mute", "lucia", "user"],
        ["amara", "slow_mode", "", "room"],
    ]
    assert rows[3][7] == "" and ast.literal_eval(rows[3][8]) == {"seconds": 30, "room": "parents"}


async def test_a_timed_mute_on_the_members_page_reads_muted_until_with_a_space(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await _people(client, db)
    await _post(client, f"/c/{SLUG}/members/lucia/mute", {"duration": "1h", "reason": "heated"})
    page = _text((await client.get(f"/c/{SLUG}/members")).text)
    assert "muted until" in page and "muteduntil" not in page


async def test_an_at_risk_flag_in_the_review_queue_keeps_a_space_after_its_badge(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    ids = await _people(client, db)
    thread = await create_thread(db, ids["community"], ids["lucia"], "Hard night")
    post = await create_post(db, thread, ids["lucia"], "I cannot go on")
    await db.execute(
        "INSERT INTO flags (community_id, post_id, subject_user_id, flagger_id, reason) VALUES ($1, $2, $3, $4, 'at_risk')",
        ids["community"], post, ids["lucia"], ids["tomas"],
    )  # fmt: skip
    page = _text((await client.get(f"/c/{SLUG}/review")).text)
    assert "Someone may be at risk Post in" in page and "riskPost" not in page
