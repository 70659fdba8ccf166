"""Numbers and dates a quote shows: every written form the check accepts, and the vague words it refuses."""
import pytest

from pipelines.core.evidence import dates_in, numbers_in, problem


@pytest.mark.parametrize("text, number", [
    ("2383 people", 2383), ("2,383 people", 2383), ("2 383 people", 2383), ("2\u00a0383 people", 2383),
    ("3.5 per cent", 3.5), ("the 65th meeting", 65),
    ("KZT 1.2 billion", 1_200_000_000), ("5 thousand", 5000), ("2-3 thousand", 2000), ("2–3 thousand", 3000),
    ("four members", 4), ("twenty-five", 25), ("twenty five", 25), ("five hundred", 500),
    ("two hundred and fifty", 250), ("two thousand", 2000), ("a dozen men", 12), ("a hundred", 100),
    ("the fourth attack", 4),
])
def test_a_number_in_each_written_form(text, number):
    assert number in numbers_in(text)


@pytest.mark.parametrize("text", ["hundreds of Kazakhstanis", "dozens of websites", "several thousand",
                                  "thousands of believers", "tens of thousands"])
def test_a_vague_word_is_no_number(text):
    assert numbers_in(text) == set()


def test_numbers_in_words_apart_stay_apart():
    assert numbers_in("four members of the security forces and two civilians") == {4, 2}
    assert 6 not in numbers_in("four members of the security forces and two civilians")


@pytest.mark.parametrize("text, date", [
    ("in 2005", "2005"), ("in September 2011", "2011-09"), ("in March and April 2004", "2004-03"),
    ("in March and April 2004", "2004-04"), ("on 15 June 2001", "2001-06-15"), ("on June 15, 2001", "2001-06-15"),
    ("on 15.6.2001", "2001-06-15"), ("on 15.06.2001", "2001-06-15"), ("2001-06-15", "2001-06-15"),
    ("the 1st of June 2001", "2001-06-01"), ("Sept. 2017", "2017-09"),
])
def test_a_date_in_each_written_form(text, date):
    assert date in dates_in(text)


def test_what_is_no_date():
    assert dates_in("the July17 clash") == set()  # a day without its year
    assert dates_in("in the 1990s") == set()  # a decade


def test_the_check_names_the_value_and_what_the_quote_holds():
    killed = {"name": "killed", "type": "integer"}
    assert problem(killed, 4, "four members of the security forces") is None
    message = problem(killed, 6, "four members of the security forces and two civilians")
    assert "the value 6 is not in the quote" in message and "numbers: 2, 4" in message and "inference:" in message
    date = {"name": "signed", "type": "date"}
    assert problem(date, "2001-06", "signed on 15 June 2001") is None  # a coarser value is shown by a finer date
    assert problem(date, "2001-06-15", "signed in June 2001") is not None  # a finer value is not shown by a coarser one
    assert "dates: 2001" in problem(date, "2002", "founded in 2001")
    year = {"name": "period_start", "type": "year"}
    assert problem(year, 2011, "from 2011 to 2017") is None


def test_scales_multiply_the_number_words_before_them():
    from pipelines.core.evidence import numbers_in

    assert {500.0, 24.0} <= numbers_in("five hundred men and two dozen women")


@pytest.mark.parametrize("text, number", [
    ("1,200 men", 1200), ("1 200 men", 1200), ("1.5 billion", 1_500_000_000), ("1,200 million", 1_200_000_000),
    ("5bn", 5_000_000_000), ("a 10-year term", 10), ("2,383,000", 2_383_000),
])
def test_a_number_is_read_whole(text, number):
    assert number in numbers_in(text)


@pytest.mark.parametrize("text, not_shown", [
    ("1,200 men", 200), ("1,200 men", 1), ("1 200 men", 200), ("1.5 billion", 1), ("1.5 billion", 1.5),
    ("1.5 billion", 5), ("1,200 million", 200_000_000), ("2-3 thousand", 2), ("2-3 thousand", 3),
    ("on 15.6.2001", 15), ("on 15.6.2001", 6), ("on 15.6.2001", 2001), ("2001-06-15", 6), ("on 15 June 2001", 15),
    ("resolution A/RES/60/288", 288), ("resolution A/RES/60/288", 60), ("an AK-47", 47), ("Law No. 176-IV", 176),
    ("code UNSCR1373", 1373), ("version 1.2.3", 2), ("in the 1990s", 1990), ("1,2000", 2000),
])
def test_a_digit_run_of_a_longer_number_a_date_or_an_identifier_is_no_number(text, not_shown):
    assert not_shown not in numbers_in(text)


def test_dots_group_thousands_only_where_that_is_the_sources_style():
    assert numbers_in("1.200 men") == {1.2}
    assert numbers_in("1.200 men", dot_grouped=True) == {1200}
    assert 1200 in numbers_in("1.200 men, of 1.234.567")  # the text shows its own style
    assert 1_234.5 in numbers_in("1.234,5 tenge")


def test_the_check_refuses_a_number_found_only_inside_a_longer_one():
    killed = {"name": "killed", "type": "integer"}
    assert "the value 200 is not in the quote, which holds numbers: 1200" in problem(killed, 200, "1,200 men")
    amount = {"name": "amount", "type": "number"}
    assert problem(amount, 1, "KZT 1.5 billion") is not None
    assert problem(amount, 1_500_000_000, "KZT 1.5 billion") is None
    assert problem(amount, 1200, "1.200 tenge", dot_grouped=True) is None
    assert problem(amount, 1200, "1.200 tenge", dot_grouped=False) is not None
