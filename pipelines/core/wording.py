"""How the report words things: a long name shortened at a word, a span of years, a date as far as it is known."""
from __future__ import annotations

import textwrap

import pandas as pd

ELLIPSIS = "…"
CLOSING = {"(": ")", "[": "]", "{": "}", "“": "”", "‘": "’", "«": "»", '"': '"'}


def shorten(text: str, width: int) -> str:
    """`text` in at most `width` characters, cut at a word boundary with an ellipsis, or whole when no word boundary
    fits. Brackets and quotation marks that the cut leaves open are closed after the ellipsis, so a heading never
    reads "…and then )"."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    short = textwrap.shorten(text, width, placeholder=ELLIPSIS)
    if short == ELLIPSIS:  # not even the first word fits: better whole than cut inside a word
        return text
    return short + "".join(reversed(_open_marks(short)))


def _open_marks(text: str) -> list[str]:
    """The closing marks of the brackets and quotation marks left open in `text`, innermost last."""
    expected: list[str] = []
    for char in text:
        if expected and char == expected[-1]:
            expected.pop()
        elif char in CLOSING:
            expected.append(CLOSING[char])
    return expected


def year_span(first: int, last: int) -> str:
    """'2013–2017', or '2013' for a period of one year."""
    return str(first) if first == last else f"{first}–{last}"


def date_as_known(date: pd.Timestamp, precision: str | None) -> str:
    """A date stored as the first day of what is known, worded to its precision: '13 July 1999', 'July 1999', '1999'."""
    if not isinstance(precision, str):  # a date column without precision is known to the day
        precision = "day"
    if precision == "year":
        return str(date.year)
    if precision == "month":
        return f"{date:%B} {date.year}"
    return f"{date.day} {date:%B} {date.year}"
