"""Introductions: the first post composed in plain words from whatever the member shared."""

from __future__ import annotations

import pytest

from server.actions.introductions import check_fields, compose_body
from server.errors import AppError


def test_the_body_is_composed_from_the_fields_given_in_plain_words() -> None:
    fields = check_fields({"for_whom": "myself", "diagnosis": "  CMS,   DOK7 ", "hopes": "friends.", "unknown": "x"})
    assert fields == {"for_whom": "myself", "diagnosis": "CMS, DOK7", "hopes": "friends."}
    assert compose_body(fields, "  More about me.  ") == (
        "I am here for myself.  \nDiagnosis or gene: CMS, DOK7.  \nWhat I hope to find here: friends.\n\nMore about me."
    )


def test_an_empty_introduction_still_says_hello() -> None:
    assert compose_body(check_fields({}), "") == "Hello everyone, I have just joined this community."


@pytest.mark.parametrize(
    ("values", "field"), [({"for_whom": "everyone"}, "for_whom"), ({"treatments": "x" * 501}, "treatments")]
)
def test_bad_fields_are_refused_by_name(values: dict[str, str], field: str) -> None:
    with pytest.raises(AppError) as refused:
        check_fields(values)
    assert refused.value.status == 400 and refused.value.field == field
