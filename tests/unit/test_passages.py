"""pipelines.core.passages: a text cut into segments at every span boundary, rendered with its marks and references."""
from __future__ import annotations

import re

from conftest import ROOT

from pipelines.core.passages import QUOTE, REVIEWED, SHOWN_REFERENCES, Span, context, render, segments

TEMPLATES = ROOT / "portal" / "templates"
TEXT = "Alpha beta. Gamma delta epsilon. Zeta eta."


def test_overlapping_spans_are_cut_into_segments_that_rebuild_the_text():
    spans = [Span(6, 22, id="cit-a"), Span(12, 31, id="cit-b"), Span(33, 42, REVIEWED, title="no fact")]
    cut = segments(TEXT, spans)
    assert "".join(s.text for s in cut) == TEXT
    assert [(s.text, s.kinds) for s in cut] == [
        ("Alpha ", ()), ("beta. ", (QUOTE,)), ("Gamma delt", (QUOTE, "quote-2")), ("a epsilon", (QUOTE,)),
        (". ", ()), ("Zeta eta.", (REVIEWED,))]
    assert [r.id for s in cut for r in s.references] == ["cit-a", "cit-b"]
    assert cut[-1].title == "no fact"


def test_a_span_inside_another_and_spans_sharing_a_start():
    cut = segments(TEXT, [Span(0, 16, id="outer"), Span(6, 10, id="inner"), Span(6, 10, id="twin")])
    assert [(s.text, s.kinds) for s in cut] == [("Alpha ", (QUOTE,)), ("beta", (QUOTE, "quote-2")),
                                                (". Gamm", (QUOTE,)), ("a delta epsilon. Zeta eta.", ())]
    assert [r.id for r in cut[1].references] == ["inner", "twin"]


def test_a_window_clips_the_spans_and_keeps_only_its_own_text():
    cut = segments(TEXT, [Span(6, 22, id="cit-a")], start=12, end=31)
    assert "".join(s.text for s in cut) == TEXT[12:31]
    assert cut[0].kinds == (QUOTE,) and cut[0].references[0].id == "cit-a"


def test_anchors_cut_the_text_without_marking_it():
    cut = segments(TEXT, [], anchors={0: ["s-0"], 12: ["s-12"], 33: ["s-33"]})
    assert [(s.anchors, s.kinds) for s in cut] == [(["s-0"], ()), (["s-12"], ()), (["s-33"], ())]
    assert "".join(s.text for s in cut) == TEXT


def test_render_marks_escapes_and_anchors():
    text = 'He said "<b>" & left.'
    html = str(render(TEMPLATES, text, [Span(8, 13, id="cit-x", href="/r?a=1&b=2", label="1", title="t")]))
    assert '<a class="ref" id="cit-x" href="/r?a=1&amp;b=2" title="t">1</a>' in html
    assert '<mark class="quote">&#34;&lt;b&gt;&#34;</mark>' in html
    assert re.sub(r"<[^>]+>", "", html).replace("&amp;", "&").replace("&#34;", '"').replace("&lt;", "<") \
        .replace("&gt;", ">").replace("1", "", 1) == text


def test_render_of_a_window_says_where_it_cuts_the_text():
    html = str(render(TEMPLATES, TEXT, [Span(12, 17)], 12, 31))
    assert html.startswith("… ") and html.endswith(" …") and '<mark class="quote">Gamma</mark>' in html
    assert 'id="' not in html  # a span without id puts no reference


def test_context_is_a_sentence_either_side_within_a_limit():
    sentences = [(0, 11), (12, 32), (33, 42)]
    assert context(sentences, 14, 20) == (0, 42)
    assert context(sentences, 0, 5) == (0, 32)
    assert context(sentences, 14, 20, around=0) == (12, 32)
    assert context(sentences, 14, 20, limit=3) == (11, 23)
    assert context([], 14, 20) == (14, 20)


def test_past_the_shown_references_a_passage_keeps_every_id_as_an_anchor():
    many = [Span(6, 10, id=f"cit-{n:03}", data=(n,)) for n in range(SHOWN_REFERENCES + 5)]
    described = []

    def describe(span):
        described.append(span.id)
        return span._replace(href=f"/r/{span.data[0]}", label=str(span.data[0]))

    cut = segments(TEXT, many, describe=describe)
    first = next(s for s in cut if s.references)
    assert len(first.references) == SHOWN_REFERENCES and len(first.more) == 5
    assert described == [s.id for s in many[:SHOWN_REFERENCES]]  # only the links shown are described
    html = str(render(TEMPLATES, TEXT, many, describe=describe))
    assert all(f'id="{s.id}"' in html for s in many) and "+5" in html
    assert html.count('class="ref"') == SHOWN_REFERENCES
