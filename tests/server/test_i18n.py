"""Languages: French and English pages chosen by setting or browser, a complete French catalogue, local times."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from server import i18n
from tests.factories import create_user, login
from tests.harness import ROOT

FRENCH_PO = ROOT / "translations" / "fr" / "LC_MESSAGES" / "messages.po"
# The pages of the account area and everything around them; every string on them must be in French.
ACCOUNT_PAGES = [
    "templates/base.html",
    "templates/_forms.html",
    "templates/home.html",
    "templates/error.html",
    "templates/accounts/login.html",
    "templates/accounts/register.html",
    "templates/profiles/profile.html",
    "templates/settings/settings.html",
    "templates/settings/deleted.html",
    "server/actions/accounts.py",
    "server/actions/profiles.py",
    "server/routes/api/support.py",
]


def _french() -> Catalog:
    with FRENCH_PO.open("rb") as handle:
        return read_po(handle, locale="fr")


def _translated(catalog: Catalog, msgid: str | tuple[str, ...] | list[str]) -> bool:
    key = msgid if isinstance(msgid, str) else msgid[0]
    message = catalog.get(key)
    if message is None or message.fuzzy:
        return False
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return all(s and s.strip() for s in strings)


def _messages_of(relative_paths: list[str]) -> set[str | tuple[str, ...]]:
    """Extract msgids with the project's own babel.cfg rules, limited to the given files."""
    wanted = set(relative_paths)
    method_map = [("server/**.py", "python"), ("templates/**.html", "jinja2")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "True", "lstrip_blocks": "True"}}
    found: set[str | tuple[str, ...]] = set()
    for filename, _lineno, message, _comments, _context in extract_from_dir(str(ROOT), method_map, options):
        if filename in wanted:
            found.add(message if isinstance(message, str) else tuple(m for m in message if m))
    return found


# --- Choosing the language ---------------------------------------------------------------


async def test_a_french_browser_gets_french_login_and_home_pages(client: httpx.AsyncClient) -> None:
    headers = {"accept-language": "fr-FR,fr;q=0.9,en;q=0.5"}
    login_page = await client.get("/login", headers=headers)
    assert '<html lang="fr">' in login_page.text
    assert "<h1>Se connecter</h1>" in login_page.text and "Rejoindre Kindred" in login_page.text
    assert "Nom d'utilisateur" in login_page.text or "Nom d&#39;utilisateur" in login_page.text
    home = await client.get("/", headers=headers)
    assert '<html lang="fr">' in home.text and "Trouvez votre communauté" in home.text
    assert "Find your community" not in home.text


async def test_an_english_browser_and_a_browser_without_preference_get_english(client: httpx.AsyncClient) -> None:
    for headers in [{"accept-language": "en-US,en;q=0.9,fr;q=0.3"}, {}, {"accept-language": "de-DE,de;q=0.9"}]:
        page = await client.get("/login", headers=headers)
        assert '<html lang="en">' in page.text and "<h1>Log in</h1>" in page.text


async def test_a_members_language_setting_overrides_the_browser(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    user_id = await create_user(db, "maria")
    await db.execute("UPDATE users SET language = 'fr' WHERE id = $1", user_id)
    await login(client, "maria")
    page = await client.get("/", headers={"accept-language": "en-US,en;q=0.9"})
    assert '<html lang="fr">' in page.text and "Paramètres" in page.text and "Se déconnecter" in page.text
    assert "Langue\u00a0: Français (modifier)" in page.text

    await db.execute("UPDATE users SET language = 'en' WHERE id = $1", user_id)
    page = await client.get("/", headers={"accept-language": "fr-FR,fr;q=0.9"})
    assert '<html lang="en">' in page.text and "Settings" in page.text and "Paramètres" not in page.text


async def test_error_messages_from_the_server_are_translated_too(client: httpx.AsyncClient) -> None:
    page = await client.get("/u/nobody-at-all", headers={"accept-language": "fr"})
    assert page.status_code == 404 and "Aucun membre n&#39;a ce nom d&#39;utilisateur." in page.text


def test_times_are_formatted_in_the_readers_language_and_time_zone() -> None:
    moment = datetime(2026, 3, 5, 14, 30, tzinfo=UTC)
    i18n.set_request_locale("fr", "Europe/Paris")
    assert i18n.format_time(moment) == "5 mars 2026, 15:30:00"
    i18n.set_request_locale("en", "America/New_York")
    assert i18n.format_time(moment) == "Mar 5, 2026, 9:30:00\u202fAM"
    i18n.set_request_locale("en", "UTC")


# --- The French catalogue ----------------------------------------------------------------


def test_every_message_in_the_french_catalogue_has_a_translation() -> None:
    catalog = _french()
    untranslated = [message.id for message in catalog if message.id and not _translated(catalog, message.id)]
    assert untranslated == []


def test_french_translations_keep_the_placeholders_of_the_english() -> None:
    # A translation that drops or renames %(name)s would crash the page at run time.
    problems = [(message.id, str(error)) for message, errors in _french().check() for error in errors]
    assert problems == []


def test_every_string_of_the_account_pages_is_in_the_french_catalogue() -> None:
    messages = _messages_of(ACCOUNT_PAGES)
    assert "Join Kindred" in messages and "Delete my account" in messages  # the extraction itself works
    catalog = _french()
    missing = sorted(str(message) for message in messages if not _translated(catalog, message))
    assert missing == []


def test_the_catalogue_check_notices_a_missing_translation() -> None:
    catalog = Catalog(locale="fr")
    catalog.add("Log in", "Se connecter")
    catalog.add("Log out", "")
    assert _translated(catalog, "Log in") and not _translated(catalog, "Log out")
    assert not _translated(catalog, "Never extracted")


@pytest.mark.skipif(shutil.which("pybabel", path=str(Path(sys.executable).parent)) is None, reason="pybabel missing")
def test_babel_cfg_extracts_strings_from_python_and_templates(tmp_path: Path) -> None:
    output = tmp_path / "messages.pot"
    subprocess.run(
        [str(Path(sys.executable).parent / "pybabel"), "-q", "extract", "-F", "babel.cfg", "-o", str(output), "."],
        cwd=ROOT,
        check=True,
    )
    with output.open("rb") as handle:
        template = read_po(handle)
    assert template.get("Join Kindred") is not None  # templates
    assert template.get("Type your username exactly as shown to confirm.") is not None  # Python
    assert template.get("Member since %(date)s") is not None
    assert "python-format" in template.get("Member since %(date)s").flags
