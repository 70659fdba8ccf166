"""Text normalization: the one form of a source text that quotes are matched in and offsets refer to; and,
for a quote that is not found, the closest passage of the source and what differs.

normalize(text) applies, in order:
0. byte-order marks (U+FEFF, which editors on Windows put at the start of a "UTF-8 with BOM" file) are dropped;
1. Unicode NFC;
2. typographic double quotes (“ ” „ ‟ « » ″) become ", typographic single quotes (‘ ’ ‚ ‛ ′) become ';
3. every run of white space (spaces, tabs, line breaks, non-breaking and other Unicode spaces) becomes
   one space, and the text is stripped at both ends.
Dashes, ellipses and letters are left as they are: a quote must reproduce them.
"""
from __future__ import annotations

import difflib
import re
import unicodedata

_DOUBLE = str.maketrans({c: '"' for c in "\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033"})
_SINGLE = str.maketrans({c: "'" for c in "\u2018\u2019\u201a\u201b\u2032"})
_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFC", text.replace("\ufeff", ""))
    text = text.translate(_DOUBLE).translate(_SINGLE)
    return _SPACES.sub(" ", text).strip()


def find_all(text: str, quote: str) -> list[int]:
    """Every offset at which `quote` occurs in `text` (overlapping occurrences included)."""
    offsets, start = [], text.find(quote)
    while start != -1:
        offsets.append(start)
        start = text.find(quote, start + 1)
    return offsets


# --- a quote that is not in its source: where it most likely comes from, and what differs -----------------

_WORD = re.compile(r"\w+", re.UNICODE)
_TOKEN = re.compile(r"\w+|\s+|[^\w\s]", re.UNICODE)


def closest_passage(text: str, quote: str) -> tuple[int, int] | None:
    """(start, end) of the passage of `text` most like `quote`, or None when nothing resembles it.

    Candidate starts come from the quote's word pairs found verbatim in the text (str.find, so cheap even in
    long sources); the candidate whose window is most similar to the quote wins.
    """
    words = [(m.start(), m.group()) for m in _WORD.finditer(quote)]
    probes = [(words[i][0], quote[words[i][0]:words[i + 1][0] + len(words[i + 1][1])]) for i in range(len(words) - 1)]
    probes = probes or [(offset, word) for offset, word in words]
    votes: dict[int, int] = {}
    for offset, probe in probes:
        for found in find_all(text, probe)[:50]:
            start = max(0, found - offset)
            votes[start] = votes.get(start, 0) + 1
    if not votes:
        return None
    best, best_ratio = None, 0.0
    for start in sorted(votes, key=votes.get, reverse=True)[:10]:
        window = text[start:start + len(quote) + 20]
        matcher = difflib.SequenceMatcher(None, window, quote, autojunk=False)
        blocks = [b for b in matcher.get_matching_blocks() if b.size]
        end = start + (blocks[-1].a + blocks[-1].size if blocks else len(quote))
        ratio = difflib.SequenceMatcher(None, text[start:end], quote, autojunk=False).ratio()
        if ratio > best_ratio:
            best, best_ratio = (start, end), ratio
    if best is None or best_ratio < 0.5:
        return None
    start, end = best
    while start < end and text[start] == " ":
        start += 1
    return start, end


def differences(passage: str, quote: str, limit: int = 3) -> list[str]:
    """What differs between a source passage and a quote, in words a curator can act on."""
    found = []
    source_tokens, quote_tokens = _TOKEN.findall(passage), _TOKEN.findall(quote)
    matcher = difflib.SequenceMatcher(None, source_tokens, quote_tokens, autojunk=False)
    for kind, a1, a2, b1, b2 in matcher.get_opcodes():
        if kind == "equal":
            continue
        source_part, quote_part = "".join(source_tokens[a1:a2]), "".join(quote_tokens[b1:b2])
        before = "".join(source_tokens[max(0, a1 - 3):a1])
        if kind == "insert":
            found.append(f"the quote adds {_describe(quote_part)} after {before!r}")
        elif kind == "delete":
            found.append(f"the source has {_describe(source_part)} after {before!r}, missing from the quote")
        else:
            found.append(f"the source has {_describe(source_part)} where the quote has {_describe(quote_part)}")
    return found[:limit] + ([f"and {len(found) - limit} more difference(s)"] if len(found) > limit else [])


def _describe(part: str) -> str:
    if len(part) == 1 and not part.isalnum():
        return f"{part!r} ({unicodedata.name(part, f'U+{ord(part):04X}')})"
    return repr(part if len(part) <= 40 else part[:40] + "…")
