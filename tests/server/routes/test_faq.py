"""The FAQ and the cookie notice tell the truth about Kindred and its cookies."""

from __future__ import annotations

import httpx

from server import auth
from tests.test_templates import page_problems


async def test_the_faq_answers_what_who_privacy_deletion_and_medical_advice(client: httpx.AsyncClient) -> None:
    page = await client.get("/faq")
    assert page.status_code == 200 and page_problems(page.text) == []
    for heading in [
        "What is Kindred?",
        "Who runs the communities?",
        "What about my privacy?",
        "How do I delete my data?",
        "Is this medical advice?",
    ]:
        assert f">{heading}</h2>" in page.text
    assert "never shown to anyone" in page.text
    assert "session cookie" in page.text and "CSRF" in page.text and "no tracking" in page.text.lower()
    assert "no third-party scripts or fonts" in page.text
    assert 'href="/settings"' in page.text


async def test_the_cookie_notice_names_both_cookies_kindred_really_sets(client: httpx.AsyncClient) -> None:
    page = await client.get("/faq")
    notice = page.text.split('id="cookie-notice"')[1].split("</aside>")[0]
    assert "two essential cookies" in notice and "session cookie" in notice and "CSRF" in notice
    # An anonymous visit sets exactly one cookie (the CSRF one); signing in adds the session one: two in all.
    names = {header.split("=")[0] for header in page.headers.get_list("set-cookie")}
    assert names == {auth.CSRF_COOKIE}
