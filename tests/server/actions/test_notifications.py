"""Notification rules: who counts as mentioned, and one notification per member per event."""

from __future__ import annotations

from server.actions.notifications import Recipients, mentioned_usernames


def test_mentions_are_usernames_after_an_at_sign_not_email_addresses() -> None:
    text = "Thanks @amara and @Lucia. Ask @dr.smith, not me@example.org or @x; again @AMARA"
    assert mentioned_usernames(text) == ["amara", "Lucia", "dr.smith"]


def test_a_member_gets_the_most_specific_kind_first() -> None:
    recipients = Recipients()
    recipients.add(1, "mention")
    recipients.add(1, "welcome")
    recipients.add(2, "mention")
    recipients.add(None, "reply")
    assert recipients.pairs() == [(1, "welcome"), (1, "mention"), (2, "mention")]
