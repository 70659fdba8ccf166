from pipelines.core.textnorm import find_all, normalize


def test_typographic_quotes_become_plain():
    assert normalize("\u201cIS\u201d and \u2018ISIS\u2019 \u00abE-Islam\u00bb") == "\"IS\" and 'ISIS' \"E-Islam\""


def test_whitespace_runs_collapse_and_ends_are_stripped():
    assert normalize("  a\n\n b\u00a0\tc \n") == "a b c"


def test_nfc_composes_characters():
    assert normalize("e\u0301") == "\u00e9"


def test_dashes_are_kept():
    assert normalize("2013 \u2013 2017") == "2013 \u2013 2017"


def test_find_all_returns_every_offset():
    assert find_all("abcabc", "bc") == [1, 4]
    assert find_all("aaa", "aa") == [0, 1]
    assert find_all("abc", "x") == []


def test_closest_passage_names_a_changed_word():
    from pipelines.core.textnorm import closest_passage, differences

    text = normalize("Intro. Three servicemen and five civilians were killed in the attacks, which rattled leaders.")
    quote = "Three servicemen and six civilians were killed"
    start, end = closest_passage(text, quote)
    assert text[start:end].startswith("Three servicemen and five civilians were killed")
    assert differences(text[start:end], quote)[0] == "the source has 'five' where the quote has 'six'"


def test_closest_passage_names_a_dash_by_its_unicode_name():
    from pipelines.core.textnorm import closest_passage, differences

    text = normalize("The programme for 2013–2017 was approved by decree.")
    quote = "The programme for 2013-2017 was approved"
    start, end = closest_passage(text, quote)
    assert "'–' (EN DASH)" in differences(text[start:end], quote)[0]


def test_nothing_resembles_an_unrelated_quote():
    from pipelines.core.textnorm import closest_passage

    assert closest_passage(normalize("A text about budgets and laws."), "zebra crossing quietly") is None
