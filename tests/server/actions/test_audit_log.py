"""The audit log's sentences: every recorded action reads as a sentence in English and French, with its values."""

from __future__ import annotations

import contextvars
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from server import i18n
from server.actions import audit_log
from server.db.queries.audit import AuditEntry
from server.errors import InvalidInput

ACTIONS_DIR = Path(__file__).resolve().parents[3] / "server" / "actions"
# Codes the code builds instead of spelling out (threads.py: "un" + name; moderation.py and
# thread_moderation.py pass them through a variable).
BUILT = {"pin", "unpin", "lock", "unlock", "unmute", "unban", "move_thread", "move_thread_in"}


def _entry(action: str, *, reason: str = "", details: dict[str, Any] | None = None, **fields: Any) -> AuditEntry:
    values: dict[str, Any] = {
        "id": 1, "community_id": 1, "actor_id": 2, "actor_username": "amara", "action": action,
        "target_user_id": 3, "target_username": "lucia", "target_kind": "user", "target_id": 3, "reason": reason,
        "details": details or {}, "created_at": datetime(2026, 12, 3, 5, 0, tzinfo=UTC),
        "actor_name": "Amara", "target_name": "Lucía",
    }  # fmt: skip
    values.update(fields)
    return AuditEntry(**values)


def _in(language: str, entry: AuditEntry, time_zone: str = "UTC") -> str:
    def run() -> str:
        i18n.set_request_locale(language, time_zone)
        return audit_log.sentence(entry)

    return contextvars.copy_context().run(run)


def recorded_actions() -> set[str]:
    """Every action code written to the audit log by server/actions."""
    found = set(BUILT)
    for path in ACTIONS_DIR.glob("*.py"):
        for line in path.read_text().splitlines():
            if "action=" in line:
                found.update(re.findall(r'"([a-z_]+)"', line.split("action=", 1)[1]))
    found.discard("un")
    return found


def test_every_action_the_code_records_has_a_sentence() -> None:
    assert recorded_actions() - set(audit_log.SENTENCES) == set()
    assert len(recorded_actions()) >= 35


def test_no_sentence_is_a_raw_code_and_each_is_translated_into_french() -> None:
    for action in audit_log.SENTENCES:
        entry = _entry(action, details={"seconds": 30, "room": "main", "flags": 3, "name": "Parents", "days": 7})
        english, french = _in("en", entry), _in("fr", entry)
        assert english != action and "_" not in english and "%(" not in english, (action, english)
        assert french != english and "_" not in french and "%(" not in french, (action, french)


def test_slow_mode_removals_and_mutes_read_as_sentences_with_their_values() -> None:
    slow = _entry("slow_mode", details={"seconds": 30, "room": "main"}, target_kind="room")
    assert _in("en", slow) == "set slow mode to 30 s in the room main"
    assert _in("fr", slow) == "a réglé le mode lent sur 30 s dans le salon main"
    off = _entry("slow_mode", details={"seconds": 0, "room": "main"})
    assert _in("en", off) == "turned slow mode off in the room main"
    removed = _entry("remove_message", reason="spam", target_kind="room_message")
    assert _in("en", removed) == "removed a message from Lucía: spam"
    assert _in("fr", removed) == "a retiré un message de Lucía : spam"
    muted = _entry("mute", details={"ends_at": "2026-12-03T14:00:00+00:00"}, target_name="Owl", target_username="~7")
    assert _in("en", muted) == "muted Owl until 3 Dec, 14:00"
    assert _in("fr", muted, "Europe/Paris") == "a rendu muet Owl jusqu'au 3 déc., 15:00"
    forever = _entry("mute", details={"ends_at": None})
    assert _in("en", forever) == "muted Lucía until a leader lifts it"


def test_an_entry_about_a_deleted_account_and_an_action_added_later_still_read() -> None:
    gone = _entry("ban", target_name="", target_username="", target_user_id=None)
    assert _in("en", gone) == "banned a former member"
    assert _in("en", _entry("added_next_year", reason="called")) == "added_next_year: called"


def test_moderation_from_a_message_and_the_crisis_path_read_as_sentences() -> None:
    assert _in("en", _entry("hold_message")) == "sent a chat message from Lucía back for review"
    assert _in("fr", _entry("crisis_handover")).startswith("a confié aux administrateurs du site le suivi de Lucía")
    room_mute = _entry("mute", details={"room": "Parents"})
    assert _in("en", room_mute) == "muted Lucía until a leader lifts it, in the room Parents"


def test_the_filter_reads_dates_as_whole_days_in_the_readers_time_zone_and_refuses_bad_input() -> None:
    def run() -> Any:
        i18n.set_request_locale("en", "Europe/Paris")
        return audit_log.read_filter(member=" @lucia ", action="mute", since="2026-12-01", until="2026-12-02")

    where = contextvars.copy_context().run(run)
    assert where.member == "lucia" and where.actions == ("mute",)
    assert where.since == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    assert where.until == datetime(2026, 12, 2, 23, 0, tzinfo=UTC)
    assert audit_log.read_filter() == audit_log.AuditFilter()
    for bad, field in (
        ({"action": "drop_table"}, "action"),
        ({"since": "3/12/2026"}, "since"),
        ({"since": "2026-12-03", "until": "2026-12-01"}, "until"),
    ):
        with pytest.raises(InvalidInput) as refused:
            audit_log.read_filter(**bad)
        assert refused.value.field == field
