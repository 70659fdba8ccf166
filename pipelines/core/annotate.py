"""Every citation as a W3C Web Annotation (JSON-LD), one annotation collection for the package (written by the
package stage beside the tables it publishes).

Each annotation's target is the cited source (its URL, or its file in the package where it has none; its sha256
as an RFC 6920 `ni:` URI) narrowed by a TextQuoteSelector (the quote, with up to `annotations.context_chars`
characters of text before and after it) and a TextPositionSelector (its start and end). Both are taken from
the source's NORMALIZED text (pipelines/core/textnorm.py, as the ingest stage writes it), not from the document's
bytes: the offsets count Unicode code points of that text, as the citations table's char_start and char_end do.
The bodies say what the quote backs: the record and field (purpose "identifying"), the value it states
("describing") and how the value follows from it ("commenting"), where the citation has them.
"""
from __future__ import annotations

import base64
import json

from .config import Config
from .errors import Problems
from .fileio import read_texts, write_text_atomic
from .schemas import load_schema, read_table

CONTEXT = "http://www.w3.org/ns/anno.jsonld"


def write_annotations(config: Config, path) -> None:
    """The annotation collection of the built tables, written to `path`; raises BuildError naming any citation whose
    quote is not at its offsets."""
    tables_dir = config.path("tables_dir")
    citations, sources = (read_table(tables_dir / f"{t}.csv", load_schema(config.path("schemas_dir"), t))[0]
                          for t in ("citations", "sources"))
    texts = read_texts(config.path("ingested_dir"), sources["source_id"])
    problems = Problems()
    collection = annotation_collection(config.params["package"], citations.iter_rows(named=True),
                                       {s["source_id"]: s for s in sources.iter_rows(named=True)}, texts,
                                       int(config.params["annotations"]["context_chars"]), problems)
    problems.raise_if_any("package")
    write_text_atomic(path, json.dumps(collection, ensure_ascii=False, indent=1) + "\n")


def annotation_collection(package: dict, citations, sources: dict[str, dict], texts: dict[str, str], context: int,
                          problems: Problems) -> dict:
    items = []
    for citation in citations:
        source = sources.get(citation["source_id"])
        if source is None:
            problems.add("citations", citation["citation_id"], "source_id", f"no source {citation['source_id']!r}")
            continue
        text, start, end = texts[source["source_id"]], citation["char_start"], citation["char_end"]
        if text[start:end] != citation["quote"]:
            problems.add("citations", citation["citation_id"], "char_start",
                         f"{source['source_id']}[{start}:{end}] is not the quote: "
                         "the tables are not the validated ones")
            continue
        items.append(annotation(citation, source, text, context))
    return {
        "@context": CONTEXT,
        "id": "annotations.jsonld",
        "type": "AnnotationCollection",
        "label": f"{package['title']} {package['version']}: the citations as Web Annotations",
        "dcterms:description": (
            "One annotation per row of citations.csv (its id is the citation_id). The target is the cited source "
            "document; its selectors locate the quote in the source's NORMALIZED text (the text the package's "
            "ingest stage derives from the document: Unicode NFC, typographic quotes made plain, every run of white "
            "space one space, ends stripped), not in the document's bytes: the TextPositionSelector's start and "
            "end count Unicode code points of that text, "
            "as citations.csv's char_start and char_end do, and the TextQuoteSelector's prefix and suffix are "
            f"taken from it ({context} characters at most). The bodies name the record and field the quote backs "
            "(table/record_id/field), the value it states and how the published value follows from it. A source's "
            "canonical ni: URI is the SHA-256 of the document file as published (sources.csv sha256)."),
        "total": len(items),
        "first": {"type": "AnnotationPage", "startIndex": 0, "items": items},
    }


def annotation(citation: dict, source: dict, text: str, context: int) -> dict:
    start, end = citation["char_start"], citation["char_end"]
    backs = "/".join(p for p in (citation["resource"], citation["record_id"], citation["field"]) if p)
    bodies = [{"type": "TextualBody", "purpose": "identifying", "format": "text/plain", "value": backs}]
    if citation["stated_value"] is not None:
        bodies.append({"type": "TextualBody", "purpose": "describing", "format": "text/plain",
                       "value": citation["stated_value"]})
    if citation["inference"] is not None:
        bodies.append({"type": "TextualBody", "purpose": "commenting", "format": "text/plain",
                       "value": citation["inference"]})
    return {
        "id": f"#{citation['citation_id']}",
        "type": "Annotation",
        "motivation": "describing",
        "body": bodies,
        "target": {
            "type": "SpecificResource",
            "source": {
                "id": source["url"] or f"../{source['path']}",
                "type": "Text",
                "label": source["title"],
                "dcterms:identifier": source["source_id"],
                "canonical": ni_sha256(source["sha256"]),
            },
            "selector": [
                {"type": "TextQuoteSelector", "exact": citation["quote"],
                 "prefix": text[max(0, start - context):start], "suffix": text[end:end + context]},
                {"type": "TextPositionSelector", "start": start, "end": end},
            ],
        },
    }


def ni_sha256(hex_digest: str) -> str:
    """The RFC 6920 name of content with this SHA-256 digest: ni:///sha-256;<base64url, unpadded>."""
    return "ni:///sha-256;" + base64.urlsafe_b64encode(bytes.fromhex(hex_digest)).decode("ascii").rstrip("=")
