"""Accent- and case-folding for search ("École" → "ecole"), the same in Python and in Postgres.

Postgres's own unaccent extension is not in the embedded Postgres (nor in every hosted one), so the
migration 0005 defines the SQL function kindred_fold(text) from these very strings; the test
tests/server/test_textfold.py checks that both give the same answer for every listed letter.
"""

from __future__ import annotations

import re

# Latin letters with diacritics (Latin-1, Latin Extended-A and -B) and the plain lower-case letter each folds to.
ACCENTED = "ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĨĩĪīĬĭĮįİĲĳĴĵĶķĹĺĻļĽľĿŀŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžƠơƯưǇǈǉǊǋǌǍǎǏǐǑǒǓǔǦǧǨǩǪǫǰǱǲǳǴǵǸǹȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȮȯȲȳøØłŁđĐħĦıŧŦðÐþÞ"
PLAIN = "aaaaaaceeeeiiiinooooouuuuyaaaaaaceeeeiiiinooooouuuuyyaaaaaaccccccccddeeeeeeeeeegggggggghhiiiiiiiiiiijjkkllllllllnnnnnnoooooorrrrrrssssssssttttuuuuuuuuuuuuwwyyyzzzzzzoouulllnnnaaiioouuggkkoojdddggnnaaaaeeeeiiiioooorrrruuuusstthhaaeeooyyoollddhhittddtt"
# The same letters without their diacritics, keeping their case: one character for one, so a text and its
# unaccented copy have the same length (search highlights are placed in the copy and moved to the original).
UNACCENTED = "AAAAAACEEEEIIIINOOOOOUUUUYaaaaaaceeeeiiiinooooouuuuyyAaAaAaCcCcCcCcDdEeEeEeEeEeGgGgGgGgHhIiIiIiIiIIiJjKkLlLlLlLlNnNnNnOoOoOoRrRrRrSsSsSsSsTtTtUuUuUuUuUuUuWwYyYZzZzZzOoUuLLlNNnAaIiOoUuGgKkOojDDdGgNnAaAaEeEeIiIiOoOoRrRrUuUuSsTtHhAaEeOoYyoOlLdDhHitTdDtT"
# Letters that fold to two letters (translate() maps one character to one).
LIGATURES = {"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss"}

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_UNACCENT = str.maketrans(ACCENTED, UNACCENTED)
_TABLE = str.maketrans(ACCENTED + _UPPER, PLAIN + _UPPER.lower())


def fold(value: str) -> str:
    """Lower case without diacritics, for matching only (names are always shown as written).

    Other scripts are left as they are, as Postgres's lower() does under the embedded server's C locale;
    full-text search lower-cases them itself on both sides, by the server's own rules.
    """
    for ligature, letters in LIGATURES.items():
        value = value.replace(ligature, letters)
    return value.translate(_TABLE)


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


def unaccent(value: str) -> str:
    """The text without diacritics, case and length kept (kindred_unaccent() in SQL)."""
    return value.translate(_UNACCENT)
