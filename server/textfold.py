"""Accent- and case-folding for search ("École" → "ecole"), the same in Python and in Postgres.

Postgres's own unaccent extension is not in the embedded Postgres (nor in every hosted one), so the
migration 0005 defines the SQL functions kindred_fold(text) and kindred_unaccent(text) the same way as
fold() and unaccent() here; tests/server/actions/test_catalogue.py checks that both give the same answers.
"""

from __future__ import annotations

import re
import unicodedata

# Letters that fold to two letters (done first, as in SQL).
LIGATURES = {"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss"}
# Letters with no decomposition into a base letter and marks, and the letter each folds to.
UNDECOMPOSED = "øØłŁđĐħĦıŧŦðÐþÞ"
UNDECOMPOSED_PLAIN = "oollddhhittddtt"
# Latin letters with diacritics (Latin-1, Latin Extended-A and -B) and the same letters without them, keeping
# their case: one character for one, so a text and its unaccented copy have the same length (search
# highlights are placed in the copy and moved to the original).
ACCENTED = "ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĨĩĪīĬĭĮįİĲĳĴĵĶķĹĺĻļĽľĿŀŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžƠơƯưǇǈǉǊǋǌǍǎǏǐǑǒǓǔǦǧǨǩǪǫǰǱǲǳǴǵǸǹȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȮȯȲȳøØłŁđĐħĦıŧŦðÐþÞ"
UNACCENTED = "AAAAAACEEEEIIIINOOOOOUUUUYaaaaaaceeeeiiiinooooouuuuyyAaAaAaCcCcCcCcDdEeEeEeEeEeGgGgGgGgHhIiIiIiIiIIiJjKkLlLlLlLlNnNnNnOoOoOoRrRrRrSsSsSsSsTtTtUuUuUuUuUuUuWwYyYZzZzZzOoUuLLlNNnAaIiOoUuGgKkOojDDdGgNnAaAaEeEeIiIiOoOoRrRrUuUuSsTtHhAaEeOoYyoOlLdDhHitTdDtT"

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ASCII_LOWER = str.maketrans(_UPPER, _UPPER.lower())
_LETTERS = str.maketrans(UNDECOMPOSED + _UPPER, UNDECOMPOSED_PLAIN + _UPPER.lower())
_UNACCENT = str.maketrans(ACCENTED, UNACCENTED)
_COMBINING = re.compile("[\u0300-\u036f]")


def fold(value: str) -> str:
    """Lower case without diacritics, for matching only (names are always shown as written): ligatures
    spelt out, the text decomposed (NFD), combining marks dropped, the undecomposable letters mapped.

    Only ASCII letters are lower-cased, as Postgres's lower() does under the embedded server's C locale;
    full-text search lower-cases other scripts itself on both sides, by the server's own rules.
    """
    for ligature, letters in LIGATURES.items():
        value = value.replace(ligature, letters)
    if value.isascii():
        return value.translate(_ASCII_LOWER)
    return _COMBINING.sub("", unicodedata.normalize("NFD", value)).translate(_LETTERS)


def unaccent(value: str) -> str:
    """The text without diacritics, case and length kept (kindred_unaccent() in SQL)."""
    return value.translate(_UNACCENT)


# kindred_words() splits on white space and ASCII punctuation ([[:space:][:punct:]] in the C locale).
_SEPARATORS = re.compile(r"[\s!-/:-@\[-`{-~]+")


def words(value: str) -> set[str]:
    """The vocabulary words of a text, as the SQL function kindred_words() takes them: folded, 3 to 40
    characters, no digits."""
    return {
        word
        for word in _SEPARATORS.split(fold(value))
        if 3 <= len(word) <= 40 and not any("0" <= c <= "9" for c in word)
    }


def trigrams(word: str) -> list[str]:
    """The trigrams of one word as pg_trgm and kindred_trigrams() take them: two spaces before, one after."""
    padded = f"  {word} "
    return sorted({padded[i : i + 3] for i in range(len(word) + 1)})
