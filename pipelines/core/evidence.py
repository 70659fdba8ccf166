"""Whether a quote shows the number or date it is cited for: the numbers and dates a passage of English holds.

A citation of a number, integer, year or date column proves its value only if the value appears in the quote, in
any of the forms sources write: digits (2383, 2,383, 2 383, 1.5), digits or words with a multiplier ("1.2 billion",
"2-3 thousand", "five hundred"), number words ("four", "twenty-five", "a dozen"); years, months with their year
("March and April 2004") and days ("15 June 2001", "June 15, 2001", 15.6.2001, 2001-06-15). A number is read whole,
as a reader reads it: "1,200" shows 1200 and not 200, "1.5 billion" shows 1,500,000,000 and not 1, and a date
(15.6.2001), an identifier (A/RES/60/288, Law No. 176-IV) or a decade (the 1990s) shows no number. Where the value
follows from the quote without standing in it (a sum, a year taken from the source's date), the citation says how in
its `inference`; the cite stage refuses any other.
"""
from __future__ import annotations

import re

UNITS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
         "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
         "seventeen": 17, "eighteen": 18, "nineteen": 19}
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
            "ninth": 9, "tenth": 10}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
SCALES = {"dozen": 12, "hundred": 100}  # multiply the number words before them ("five hundred", "two dozen")
MULTIPLIERS = {"thousand": 1_000, "million": 1_000_000, "mln": 1_000_000, "billion": 1_000_000_000,
               "bn": 1_000_000_000, "trillion": 1_000_000_000_000}
MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
               "november", "december")
MONTHS = {**{name: number for number, name in enumerate(MONTH_NAMES, start=1)}, "jan": 1, "feb": 2, "mar": 3,
          "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12}
NUMBER_WORDS = (*UNITS, *TENS, *SCALES, *MULTIPLIERS)  # every word that states a number or multiplies one

# A number in digits, read whole: never a digit run of a longer number ("200" of "1,200"), of an identifier ("A123",
# "60/288", "AK-47", "176-IV", "No. 5") or of a decade ("1990s"). Thousands are grouped by a comma or a (narrow,
# no-break) space, or by a dot where that is the source's style (then the decimal mark is a comma); a multiplier
# after it multiplies it ("1.5 billion" is 1,500,000,000, not 1.5 and not 1).
_NOT_AFTER = r"(?<![\w.,/])(?-i:(?<![A-Za-z]-)(?<!No\. )(?<!No )(?<!№ )(?<!№)(?<!#))"
_END = (r"(?:\s*(" + "|".join(MULTIPLIERS) + r")\b|(?:st|nd|rd|th)?(?![\w/]|[.,]\d|(?-i:-[A-Z])))")
_DIGITS = re.compile(_NOT_AFTER + r"(\d{1,3}(?:([,\u00a0\u202f ])\d{3}(?:\2\d{3})*)?|\d+)(?:\.(\d+))?" + _END,
                     re.IGNORECASE)
_DIGITS_DOT_GROUPED = re.compile(_NOT_AFTER + r"(\d{1,3}(?:(\.)\d{3})+|\d+)(?:,(\d+))?" + _END, re.IGNORECASE)
_DOT_GROUPED_STYLE = re.compile(r"(?<![\d.,])\d{1,3}(?:\.\d{3}){2,}(?![\d.])|(?<![\d.,])\d{1,3}(?:\.\d{3})+,\d")
_RANGE_DASH = re.compile(r"\s*[-–—]\s*")
_WORD = re.compile(r"[a-z]+", re.IGNORECASE)
_A_MULTIPLE = re.compile(r"\ban?\s+(dozen|hundred|thousand|million|billion)\b", re.IGNORECASE)

_MONTH = "(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_YEAR = r"(1[89]\d\d|20\d\d)"
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_DATE_FORMS = [  # (pattern, names of its groups in order)
    (re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}\b", re.IGNORECASE), ("day", "month", "year")),
    (re.compile(rf"\b{_MONTH}\s*{_DAY},?\s+{_YEAR}\b", re.IGNORECASE), ("month", "day", "year")),
    (re.compile(rf"\b{_MONTH}(?:\s*(?:,|and|or|to|-|–|—)\s*{_MONTH})*,?\s+(?:of\s+)?{_YEAR}\b", re.IGNORECASE), None),
    (re.compile(r"\b(\d{1,2})[./](\d{1,2})[./](1[89]\d\d|20\d\d)\b"), ("day", "month", "year")),
    (re.compile(r"\b(1[89]\d\d|20\d\d)-(\d{2})-(\d{2})\b"), ("year", "month", "day")),
]
_BARE_YEAR = re.compile(rf"(?<![\d.,]){_YEAR}(?!\w)")  # not the "1990" of "1990s"


def numbers_in(text: str, dot_grouped: bool | None = None) -> set[float]:
    """Every number the text states, in digits or in words, with or without a multiplier, each read whole: a
    digit run inside a longer number, a date or an identifier is no number of its own. `dot_grouped` says whether
    the source groups thousands with dots ("1.200" for 1200); None reads the style from the text itself."""
    text = _without_dates(text)
    if dot_grouped is None:
        dot_grouped = groups_thousands_with_dots(text)
    read: list[float] = []
    bare_end = None  # where the last number in digits without a multiplier ends: "2" of "2-3 thousand" takes one
    for match in (_DIGITS_DOT_GROUPED if dot_grouped else _DIGITS).finditer(text):
        whole, _, decimals, multiplier = match.groups()
        value = float(re.sub(r"\D", "", whole) + (f".{decimals}" if decimals else ""))
        factor = MULTIPLIERS[multiplier.lower()] if multiplier else 1
        if multiplier and bare_end is not None and _RANGE_DASH.fullmatch(text, bare_end, match.start()):
            read[-1] *= factor
        read.append(value * factor)
        bare_end = None if multiplier else match.end()
    return set(read) | _number_words(text)


def groups_thousands_with_dots(text: str) -> bool:
    """Whether the text writes thousands as "1.234.567" or "1.234,5" (so "1.200" is 1200, not 1.2)."""
    return _DOT_GROUPED_STYLE.search(text) is not None


def _without_dates(text: str) -> str:
    """The text with every date blanked out, so that 15.6.2001 or "15 June 2001" gives no number 15, 6 or 2001."""
    for pattern, _ in _DATE_FORMS:
        text = pattern.sub(lambda m: "_" * len(m.group()), text)
    return text


def _number_words(text: str) -> set[float]:
    """Numbers written in words: "five hundred", "twenty-five", "two thousand and ten", "a dozen", "fourth"."""
    text = _A_MULTIPLE.sub(r"one \1", text.replace("-", " "))
    found: set[float] = set()
    total = current = 0.0
    started = False

    def close() -> None:
        nonlocal total, current, started
        if started:
            found.add(total + current)
        total = current = 0.0
        started = False

    for match in _WORD.finditer(text):
        word = match.group().lower()
        if word in UNITS or word in TENS:
            value, rest = UNITS.get(word, TENS.get(word)), current % 100
            if started and not (rest == 0 or (word in UNITS and value < 10 and rest >= 20 and rest % 10 == 0)):
                close()  # "four two" are two numbers; "twenty five" and "hundred and two" are one
            current += value
            started = True
        elif word in SCALES and started:
            current *= SCALES[word]
        elif word in MULTIPLIERS and started:
            total += current * MULTIPLIERS[word]
            current = 0.0
        elif word == "and" and started:
            continue
        else:
            close()
            if word in ORDINALS:
                found.add(float(ORDINALS[word]))
    close()
    return found


def dates_in(text: str) -> set[str]:
    """Every date the text states, as ISO text at the precision it gives: '2001', '2001-06', '2001-06-15'."""
    found: set[str] = set()
    for pattern, names in _DATE_FORMS:
        for match in pattern.finditer(text):
            if names is None:  # one or more months, then their year
                year = match.group(match.lastindex)
                months = re.findall(_MONTH, match.group(0)[: match.start(match.lastindex) - match.start()],
                                    re.IGNORECASE)
                found.update(f"{year}-{MONTHS[m.lower()]:02d}" for m in months)
                continue
            parts = dict(zip(names, match.groups(), strict=True))
            month = parts["month"]
            month = MONTHS[month.lower()] if month.isalpha() else int(month)
            day = int(parts["day"])
            if 1 <= month <= 12 and 1 <= day <= 31:
                found.add(f"{parts['year']}-{month:02d}-{day:02d}")
    found.update(match.group(1) for match in _BARE_YEAR.finditer(text))
    return found


def shows_date(text: str, value: str) -> bool:
    """Whether the text states the date `value` ('YYYY', 'YYYY-MM' or 'YYYY-MM-DD') at its precision or finer."""
    return any(date.startswith(value) for date in dates_in(text))


def shows_number(text: str, value: float, dot_grouped: bool | None = None) -> bool:
    return any(abs(number - value) <= 1e-9 * max(1.0, abs(value)) for number in numbers_in(text, dot_grouped))


CHECKED_TYPES = ("number", "integer", "year", "date")


def problem(field: dict, claimed, quote: str, dot_grouped: bool | None = None) -> str | None:
    """Why `quote` does not prove `claimed` (a value of `field`, as a record or citation writes it), or None.
    `dot_grouped`: whether the quote's source groups thousands with dots (None: as the quote itself shows)."""
    from .schemas import canonical

    kind = field["type"]
    value = canonical(field, claimed)
    if kind in ("date", "year"):
        if shows_date(quote, value):
            return None
    elif shows_number(quote, float(value), dot_grouped):
        return None
    value = value.removesuffix(".0") if kind == "number" else value
    return (f"the value {value} is not in the quote, which holds {'dates' if kind in ('date', 'year') else 'numbers'}: "
            f"{described(quote, kind, dot_grouped)}; cite a passage that states it, or say how it follows from this "
            "quote with inference: (\"sum of 4 and 2\", \"year from the source's date, 2017\")")


def described(text: str, kind: str, dot_grouped: bool | None = None) -> str:
    """What numbers or dates the text does hold, for a message."""
    if kind == "date" or kind == "year":
        held = sorted(dates_in(text))
    else:
        held = [(f"{n:,.0f}" if n >= 10_000 else f"{n:.0f}") if float(n).is_integer() else f"{n:,}"
                for n in sorted(numbers_in(text, dot_grouped))]
    return ", ".join(held) if held else "none"
