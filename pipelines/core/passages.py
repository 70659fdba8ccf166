"""A source text, or a passage of it, with its cited and reviewed spans highlighted: the one renderer behind the
portal's record and source pages and the report's static source pages.

Spans may nest or overlap, so the text is cut at every span boundary into segments; each segment is marked with
the kinds of span that cover it. A span with an id (a citation) puts a small reference at its start that carries
the id (`id="cit-…"`, so `…#cit-…` lands on it) and, where the caller gives one, a link to what it backs. The
markup comes from a Jinja2 template (`_passage.html`) kept with the portal's templates; this module only cuts.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from markupsafe import Markup, escape

QUOTE, REVIEWED = "quote", "reviewed"
ELLIPSIS = "…"
# References shown at one place; past these, a citation keeps its anchor (its id) but not a numbered link, and a
# count says how many more there are: a thousand numbers in a row are no use to a reader.
SHOWN_REFERENCES = 20


class Span(NamedTuple):  # a tuple, not a dataclass: a source page may make tens of thousands of them
    """[start, end) of the text, in the offsets of the normalized source text."""
    start: int
    end: int
    kind: str = QUOTE  # QUOTE or REVIEWED
    id: str | None = None  # the HTML id of the span's reference (citations only)
    href: str | None = None  # where the reference links to
    label: str = ""  # the reference's visible text
    title: str = ""  # shown on hover
    data: tuple = ()  # the caller's own, for `describe` (see segments)


@dataclass
class Segment:
    text: str
    kinds: tuple[str, ...] = ()  # the classes of the segment: "quote", "quote-2" (nested), "reviewed"
    title: str = ""
    anchors: list[str] = field(default_factory=list)  # ids of empty anchors placed before the text
    references: list[Span] = field(default_factory=list)  # spans that start here and carry an id: numbered links
    more: list[Span] = field(default_factory=list)  # those past SHOWN_REFERENCES: anchors only


def segments(text: str, spans: list[Span], start: int = 0, end: int | None = None,
             anchors: dict[int, list[str]] | None = None, describe=None) -> list[Segment]:
    """`text[start:end]` cut at every boundary of the spans (clipped to the window) and at every anchor offset.

    One sweep over the boundaries in order: the spans covering a segment are those started and not yet ended.
    Spans are grouped by (start, end, kind) first, so a thousand citations of one quote cost one span.
    `describe(span)`, if given, returns the span with its href, label and title: it is called only for the
    references shown as links, so that a caller with tens of thousands of citations builds only those.
    """
    end = len(text) if end is None else end
    anchors = anchors or {}
    groups: dict[tuple[int, int, str], list[Span]] = {}
    for span in spans:
        a, b = max(span.start, start), min(span.end, end)
        if a < b or (a == b == span.start and span.id):  # an empty span keeps its reference
            groups.setdefault((a, b, span.kind), []).append(span)
    opening: dict[int, list[tuple]] = {}
    closing: dict[int, list[tuple]] = {}
    for key in groups:
        opening.setdefault(key[0], []).append(key)
        closing.setdefault(key[1], []).append(key)
    cuts = sorted({start, end, *opening, *closing, *(a for a in anchors if start <= a < end)})
    active: dict[tuple, None] = {}  # insertion-ordered set
    result = []
    for a, b in zip(cuts, cuts[1:] + [None], strict=True):
        for key in closing.get(a, ()):
            active.pop(key, None)
        starting = opening.get(a, ())
        for key in starting:
            if key[1] > a:
                active[key] = None
        references = _references(groups, starting)
        shown = [describe(r) for r in references[:SHOWN_REFERENCES]] if describe else references[:SHOWN_REFERENCES]
        if b is None:
            if starting or anchors.get(a):  # references or anchors at the very end of the window
                result.append(Segment("", (), "", list(anchors.get(a, ())), shown, references[SHOWN_REFERENCES:]))
            break
        quotes = sum(1 for key in active if key[2] == QUOTE)
        reviewed = [groups[key][0].title for key in active if key[2] == REVIEWED]
        kinds = ((QUOTE,) if quotes else ()) + ((f"{QUOTE}-{min(quotes, 3)}",) if quotes > 1 else ()) \
            + ((REVIEWED,) if reviewed else ())
        result.append(Segment(text[a:b], kinds, " · ".join(reviewed), list(anchors.get(a, ())),
                              shown, references[SHOWN_REFERENCES:]))
    return result


def _references(groups: dict, starting) -> list[Span]:
    return [span for key in sorted(starting, key=lambda k: -k[1]) for span in groups[key] if span.id]


def context(sentences: list[tuple[int, int]], start: int, end: int, around: int = 1,
            limit: int = 600) -> tuple[int, int]:
    """The window shown around a quote [start, end): from `around` sentences before the one it starts in to
    `around` sentences after the one it ends in, but never more than `limit` characters either side."""
    if not sentences:
        return start, end
    first = max((i for i, (a, _) in enumerate(sentences) if a <= start), default=0)
    last = min((i for i, (_, b) in enumerate(sentences) if b >= end), default=len(sentences) - 1)
    window_start = sentences[max(0, first - around)][0]
    window_end = sentences[min(len(sentences) - 1, max(first, last) + around)][1]
    return max(window_start, start - limit), min(window_end, end + limit)


@functools.lru_cache(maxsize=4)
def environment(templates: Path):
    """The Jinja2 environment of the portal's templates folder (autoescaped), for pages rendered outside Datasette."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates)), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["anchors"] = anchors
    return env


def anchors(spans) -> Markup:
    """Empty elements that carry the spans' ids: the one piece of markup written here rather than in the template,
    because a page may hold tens of thousands of them and a template loop costs several times more per item."""
    return Markup("".join(f'<span class="anchor" id="{escape(span.id)}"></span>' for span in spans))


def render(templates: Path, text: str, spans: list[Span], start: int = 0, end: int | None = None,
           anchors: dict[int, list[str]] | None = None, describe=None):
    """The HTML of `text[start:end]` with its spans marked (markupsafe.Markup, safe to insert in a page); an
    ellipsis stands where the window cuts the text."""
    end = len(text) if end is None else end
    template = environment(Path(templates)).get_template("_passage.html")
    html = template.render(segments=segments(text, spans, start, end, anchors, describe),
                           cut_before=start > 0, cut_after=end < len(text), ellipsis=ELLIPSIS)
    return Markup(html)
