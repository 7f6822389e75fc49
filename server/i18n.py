"""Languages: choosing the reader's locale, gettext for code and templates, dates in the reader's time zone."""

from __future__ import annotations

import contextvars
import io
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_datetime, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"
DEFAULT_LANGUAGE = "en"
SUPPORTED_LANGUAGES = ("en", "fr")
LANGUAGE_NAMES = {"en": "English", "fr": "Français"}

_current_language: contextvars.ContextVar[str] = contextvars.ContextVar("language", default=DEFAULT_LANGUAGE)
_current_time_zone: contextvars.ContextVar[str] = contextvars.ContextVar("time_zone", default="UTC")


@cache
def translations_for(language: str) -> NullTranslations:
    """Compile the language's .po catalogue in memory (no compiled files in the repository)."""
    po_path = TRANSLATIONS_DIR / language / "LC_MESSAGES" / "messages.po"
    if language == DEFAULT_LANGUAGE or not po_path.exists():
        return NullTranslations()
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def negotiate(accept_language: str | None, preferred: str | None = None) -> str:
    """The member's own setting wins; otherwise the browser's Accept-Language; otherwise English."""
    if preferred in SUPPORTED_LANGUAGES:
        return preferred
    if accept_language:
        choices: list[tuple[float, str]] = []
        for part in accept_language.split(","):
            piece = part.strip()
            if not piece:
                continue
            tag, _, params = piece.partition(";")
            quality = 1.0
            if params.strip().startswith("q="):
                try:
                    quality = float(params.strip()[2:])
                except ValueError:
                    quality = 0.0
            choices.append((quality, tag.strip().lower().split("-")[0]))
        for _quality, tag in sorted(choices, key=lambda item: -item[0]):
            if tag in SUPPORTED_LANGUAGES:
                return tag
    return DEFAULT_LANGUAGE


def set_request_locale(language: str, time_zone: str) -> None:
    _current_language.set(language)
    _current_time_zone.set(time_zone)


def current_language() -> str:
    return _current_language.get()


def current_time_zone() -> str:
    return _current_time_zone.get()


def gettext(message: str) -> str:
    return translations_for(_current_language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations_for(_current_language.get()).ngettext(singular, plural, n)


_ = gettext


def valid_time_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def format_duration(value: timedelta) -> str:
    """A rough duration in the reader's language ("3 hours", "2 jours")."""
    return format_timedelta(value, threshold=1.5, locale=Locale.parse(_current_language.get()))


def format_time(value: datetime | None, format: str = "medium") -> str:
    """A timestamp in the reader's language and time zone."""
    if value is None:
        return ""
    try:
        zone = ZoneInfo(_current_time_zone.get())
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return format_datetime(value, format=format, tzinfo=zone, locale=Locale.parse(_current_language.get()))
