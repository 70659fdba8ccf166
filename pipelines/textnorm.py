"""Text normalization: the one form of a source text that quotes are matched in and offsets refer to.

normalize(text) applies, in order:
1. Unicode NFC;
2. typographic double quotes (“ ” „ ‟ « » ″) become ", typographic single quotes (‘ ’ ‚ ‛ ′) become ';
3. every run of white space (spaces, tabs, line breaks, non-breaking and other Unicode spaces) becomes
   one space, and the text is stripped at both ends.
Dashes, ellipses and letters are left as they are: a quote must reproduce them.
"""
from __future__ import annotations

import re
import unicodedata

_DOUBLE = str.maketrans({c: '"' for c in "\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033"})
_SINGLE = str.maketrans({c: "'" for c in "\u2018\u2019\u201a\u201b\u2032"})
_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    text = text.translate(_DOUBLE).translate(_SINGLE)
    return _SPACES.sub(" ", text).strip()


def find_all(text: str, quote: str) -> list[int]:
    """Every offset at which `quote` occurs in `text` (overlapping occurrences included)."""
    offsets, start = [], text.find(quote)
    while start != -1:
        offsets.append(start)
        start = text.find(quote, start + 1)
    return offsets
