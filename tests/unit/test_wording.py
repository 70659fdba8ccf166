import pandas as pd
import pytest

from pipelines.core.wording import date_as_known, shorten, year_span

DECREE = 'Decree of the President of Kazakhstan approving the "State program on combating religious extremism (2013)"'


@pytest.mark.parametrize("text, width", [
    (DECREE, 80),
    ("A group of radicals attacked two gun shops, exchanged fire with police and then attacked a military unit", 80),
    ("State program on combating religious extremism and terrorism in the Republic of Kazakhstan for 2013–2017", 80),
    ("On [Amendments (to the «Law on Countering Extremism» and other acts)] of 2005 and later", 30),
])
def test_a_shortened_heading_ends_at_a_word_with_an_ellipsis_and_balanced_brackets(text, width):
    short = shorten(text, width)
    kept = short.split("…")[0]
    assert short != text and "…" in short
    assert text.startswith(kept) and text[len(kept)] == " ", f"cut inside a word: {short!r}"
    for opening, closing in ("()", "[]", "«»"):
        assert short.count(opening) == short.count(closing), short
    assert short.count('"') % 2 == 0, short
    assert len(kept) <= width


def test_the_heading_once_cut_mid_phrase_now_closes_its_quotation():
    assert shorten(DECREE, 80) == 'Decree of the President of Kazakhstan approving the "State program on combating…"'


def test_a_short_text_is_kept_whole_and_a_single_long_word_is_not_cut():
    assert shorten("On Combating Terrorism", 80) == "On Combating Terrorism"
    assert shorten("  On   Combating\nTerrorism ", 80) == "On Combating Terrorism"
    word = "Antiterrorismusdateigesetzänderungsverordnung"
    assert shorten(word, 10) == word


def test_a_one_year_period_reads_as_one_year():
    assert year_span(2013, 2013) == "2013"
    assert year_span(2013, 2017) == "2013–2017"


@pytest.mark.parametrize("precision, expected", [("day", "13 July 1999"), ("month", "July 1999"), ("year", "1999"),
                                                 (None, "13 July 1999"), (pd.NA, "13 July 1999")])
def test_a_date_is_worded_as_far_as_it_is_known(precision, expected):
    assert date_as_known(pd.Timestamp("1999-07-13"), precision) == expected
