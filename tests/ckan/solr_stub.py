"""A minimal stand-in for Solr: the part of its HTTP API that CKAN's indexer and package_search use.

Solr itself is not installable on these machines. This keeps documents in memory and answers:
- GET  <core>/schema?wt=schema.xml             a schema whose name carries CKAN's schema version
- POST <core>/update/  (XML or JSON)           add documents, delete by id or query, commit
- GET|POST <core>/select/                      q / fq of the forms *:*, field:value, +field:"value",
                                               -field:value, field:(a OR "b"), ANDed; rows, start;
                                               JSON response with numFound and docs
Anything else answers 404. Run: python solr_stub.py PORT
"""
from __future__ import annotations

import json
import re
import sys
import threading
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

SCHEMA = '<?xml version="1.0" encoding="UTF-8"?><schema name="ckan-2.11" version="1.6"></schema>'
TERM = re.compile(r'([+-]?)([\w.]+):(\([^)]*\)|"(?:[^"\\]|\\.)*"|\S+)')


class Index:
    def __init__(self):
        self.docs: dict[str, dict] = {}
        self.lock = threading.Lock()

    def add(self, doc: dict) -> None:
        with self.lock:
            self.docs[str(doc.get("id") or doc.get("index_id"))] = doc

    def delete(self, query: str) -> None:
        with self.lock:
            for key in [k for k, d in self.docs.items() if matches(d, query)]:
                del self.docs[key]

    def search(self, queries: list[str]) -> list[dict]:
        with self.lock:
            return [d for d in self.docs.values() if all(matches(d, q) for q in queries)]


def matches(doc: dict, query: str) -> bool:
    query = query.strip()
    if query in ("", "*:*"):
        return True
    for sign, field, value in TERM.findall(query):
        wanted = [w.strip().strip('"').replace('\\"', '"') for w in value.strip("()").split(" OR ")]
        have = doc.get(field)
        values = [str(v) for v in (have if isinstance(have, list) else [have])] if have is not None else []
        hit = any((w == "*" and bool(values)) or w in values
                  or (field == "text" and w.lower() in json.dumps(doc).lower()) for w in wanted)
        if (sign == "-") == hit:
            return False
    return True


def parse_update(body: bytes, content_type: str) -> tuple[list[dict], list[str]]:
    """(documents to add, delete queries) from an XML or JSON update message."""
    adds, deletes = [], []
    if "json" in content_type:
        message = json.loads(body or b"{}")
        items = message if isinstance(message, list) else [message]
        for item in items:
            if "add" in item:
                adds.append(item["add"]["doc"])
            elif "delete" in item:
                deletes.append(item["delete"].get("query") or f'id:"{item["delete"].get("id")}"')
            elif "id" in item:
                adds.append(item)
        return adds, deletes
    if not body.strip():
        return adds, deletes
    root = ET.fromstring(body)
    for doc in root.iter("doc"):
        fields: dict = {}
        for field in doc.iter("field"):
            name, value = field.get("name"), field.text or ""
            fields[name] = [*fields[name], value] if name in fields and isinstance(fields[name], list) else (
                [fields[name], value] if name in fields else value)
        adds.append(fields)
    for delete in root.iter("delete"):
        deletes += [f'id:"{e.text}"' for e in delete.iter("id")] + [e.text or "" for e in delete.iter("query")]
    return adds, deletes


class Handler(BaseHTTPRequestHandler):
    index: Index

    def _reply(self, status: int, body: str, kind: str = "application/json") -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _params(self, body: bytes = b"") -> dict[str, list[str]]:
        params = parse_qs(urlparse(self.path).query)
        if body and "x-www-form-urlencoded" in self.headers.get("Content-Type", ""):
            for k, v in parse_qs(body.decode("utf-8")).items():
                params.setdefault(k, []).extend(v)
        return params

    def do_GET(self):
        self._route(b"")

    def do_POST(self):
        self._route(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    def _route(self, body: bytes) -> None:
        path = urlparse(self.path).path.rstrip("/")
        if path.endswith("/schema") or path.endswith("/admin/file"):
            return self._reply(200, SCHEMA, "application/xml")
        if path.endswith("/update"):
            adds, deletes = parse_update(body, self.headers.get("Content-Type", ""))
            for doc in adds:
                self.index.add(doc)
            for query in deletes:
                self.index.delete(query)
            return self._reply(200, json.dumps({"responseHeader": {"status": 0, "QTime": 0}}))
        if path.endswith("/select"):
            params = self._params(body)
            queries = params.get("q", ["*:*"]) + params.get("fq", [])
            docs = self.index.search(queries)
            start, rows = int(params.get("start", ["0"])[0]), int(params.get("rows", ["10"])[0])
            return self._reply(200, json.dumps({
                "responseHeader": {"status": 0, "QTime": 0, "params": {k: v[0] for k, v in params.items()}},
                "response": {"numFound": len(docs), "start": start, "docs": docs[start:start + rows]},
                "facet_counts": {"facet_fields": {f: [] for f in params.get("facet.field", [])}}}))
        return self._reply(404, json.dumps({"error": f"not part of the stand-in: {path}"}))

    def log_message(self, *args):
        pass


def serve(port: int) -> ThreadingHTTPServer:
    handler = type("BoundHandler", (Handler,), {"index": Index()})
    return ThreadingHTTPServer(("127.0.0.1", port), handler)


if __name__ == "__main__":
    serve(int(sys.argv[1])).serve_forever()
