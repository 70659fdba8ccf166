from pipelines.coverage import _FACT, split_sentences


def sentences(text):
    return [text[a:b] for a, b in split_sentences(text)]


def test_sentences_end_at_full_stops_but_not_after_abbreviations_or_initials():
    text = ("Terrorism (Art. 258 of the Criminal Code, 2014). The KNB deputy chief V. Bozhko spoke. "
            "Was it so? \"Yes,\" he said. In 2016 courts convicted 182 people.")
    assert sentences(text) == [
        "Terrorism (Art. 258 of the Criminal Code, 2014).",
        "The KNB deputy chief V. Bozhko spoke.", "Was it so?", "\"Yes,\" he said.", "In 2016 courts convicted 182 people."]


def test_offsets_point_into_the_text():
    text = "First one. Second one here."
    assert [text[a:b] for a, b in split_sentences(text)] == ["First one.", "Second one here."]


def test_fact_bearing_words_and_numbers():
    assert _FACT.search("The court banned it.") and _FACT.search("In 2014 it happened.")
    assert _FACT.search("Hundreds of citizens left.") and not _FACT.search("It is a global problem.")


def test_a_sentence_is_cited_when_any_span_overlaps_it():
    from pipelines.coverage import cited_prefix

    text = "First one. Second one here. Third."
    prefix = cited_prefix(text, [(12, 18), (14, 16)])  # inside the second sentence only
    (a1, b1), (a2, b2), (a3, b3) = split_sentences(text)
    assert prefix[b1] == prefix[a1] and prefix[b2] > prefix[a2] and prefix[b3] == prefix[a3]


def test_names_are_found_as_a_regular_expression_finds_them_not_inside_longer_words():
    import re

    from pipelines.coverage import NameIndex

    names = {"Hizb ut-Tahrir", "Jamaat", "Islamic State", "АУМ Синрикё", "Tablighi Jamaat (2)", "Jund al-Khalifah"}
    index = NameIndex(names)
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, names)) + r")(?!\w)", re.IGNORECASE)
    texts = ["Members of HIZB UT-TAHRIR were tried.", "The Jamaatists met.", "Jamaat, they said.",
             "islamic states", "the Islamic State.", "секта аум синрикё запрещена", "Tablighi Jamaat (2) was banned",
             "Tablighi Jamaat (2)x", "xJamaat", "Jund al-Khalifahs", "", "Jama", "(Jamaat)"]
    assert [index.found_in(t) for t in texts] == [bool(pattern.search(t)) for t in texts]
    assert [index.found_in(t) for t in texts] == [True, False, True, False, True, True, True, True, False, False,
                                                   False, False, True]  # "(2)x" still holds "Jamaat" as a word
    assert not NameIndex(set()).found_in("Jamaat")
