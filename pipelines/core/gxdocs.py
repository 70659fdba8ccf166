"""Great Expectations Data Docs a reader can use offline: GX's own pages, with no script, nothing from the network,
no advertising, and descriptive expectations shown as informational rather than as failures.

GX 1.x records each expectation's severity but its Data Docs ignore it. Here an unmet expectation of severity
"info" is shown with an information mark, and a validation result counts as succeeded when no critical
expectation failed (the rule the quality stage applies to the build; the statistics still count every unmet one).
The page templates GX's pages need a script for are replaced by the ones in templates/gx/.
Imported by the quality stage only: it imports great_expectations.
"""
from __future__ import annotations

import re
from pathlib import Path

from great_expectations.expectations.metadata_types import FailureSeverity
from great_expectations.render.components import RenderedStringTemplateContent
from great_expectations.render.renderer.content_block.validation_results_table_content_block import (
    ValidationResultsTableContentBlockRenderer,
)
from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2 import ChoiceLoader, FileSystemLoader

TEMPLATES = Path(__file__).parent / "templates" / "gx"
INFORMATIONAL = FailureSeverity.INFO


def site_config(base_directory: Path) -> dict:
    """The Data Docs site of the quality stage, for context.add_data_docs_site."""
    view = {"module_name": __name__, "class_name": OfflinePageView.__name__}
    return {
        "class_name": "SiteBuilder", "show_how_to_buttons": False,
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder",
                               "view": {"module_name": __name__, "class_name": OfflineIndexPageView.__name__}},
        "site_section_builders": {
            "expectations": {"view": view},
            "validations": {"view": view, "renderer": {
                "class_name": "ValidationResultsPageRenderer",
                "column_section_renderer": {
                    "class_name": "ValidationResultsColumnSectionRenderer",
                    "table_renderer": {"module_name": __name__, "class_name": InformationalResultsTable.__name__}}}},
            "profiling": "False",
        },
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(base_directory)},
    }


def blocks_publication(result) -> bool:
    """Whether an expectation's result stops the build: it failed and its severity is not informational."""
    return not result.success and result.expectation_config.severity != INFORMATIONAL


class _OfflineTemplates:
    """Looks templates up in TEMPLATES before GX's own (GX's custom_views_directory is searched only after them,
    so it cannot replace a template)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.env.loader = ChoiceLoader([FileSystemLoader(TEMPLATES), self.env.loader])


class OfflinePageView(_OfflineTemplates, DefaultJinjaPageView):
    pass


class OfflineIndexPageView(_OfflineTemplates, DefaultJinjaIndexPageView):
    pass


class InformationalResultsTable(ValidationResultsTableContentBlockRenderer):
    """GX's table of results, where an unmet informational expectation is marked as such, not as a failure."""

    @classmethod
    def _get_content_block_fn(cls, expectation_type, expectation_config=None):
        row_fn = super()._get_content_block_fn(expectation_type=expectation_type, expectation_config=expectation_config)
        if row_fn is None:
            return None

        def row(configuration=None, result=None, runtime_configuration=None, **kwargs):
            rows = row_fn(configuration=configuration, result=result, runtime_configuration=runtime_configuration,
                          **kwargs)
            if result is not None and not result.success and not blocks_publication(result):
                rows[0][0] = informational_mark()
            return rows

        return row


def informational_mark() -> RenderedStringTemplateContent:
    """The status cell of an unmet informational expectation: a new one for each row, as GX escapes a cell's
    parameters in place when it draws it (a shared one came out escaped twice on the second row)."""
    return RenderedStringTemplateContent(
        content_block_type="string_template",
        string_template={
            "template": "$icon $label",
            "params": {"icon": "", "label": "not met (informational: describes the data, does not block publication)",
                       "markdown_status_icon": "ℹ"},
            "styling": {"params": {"icon": {"tag": "i", "classes": ["fas", "fa-info-circle", "text-info"]},
                                   "label": {"classes": ["text-info"]}}},
        },
    )

_REMOTE_TAG = re.compile(r"<(script|link|img|iframe)\b[^>]*\b(?:src|href)=\"https?://[^\"]*\"[^>]*>(?:</\1>)?",
                         re.I | re.S)
_SCRIPT = re.compile(r"<script\b.*?</script>", re.I | re.S)
_STATIC_LINK = re.compile(r'\b(href|src)="(?:\./|\.\./)*static/')
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_REMOTE_URL = re.compile(r"url\(\s*['\"]?https?://[^)]*\)", re.I)
OFFLINE_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;\
margin:0 auto;max-width:1200px;padding:1rem;color:#222}
table{border-collapse:collapse;width:100%;margin:.5rem 0}\
td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}
.collapse:not(.show){display:block}.navbar,.sticky-top{position:static}.d-none{display:none}
.fa-check-circle::before{content:"\\2714";color:#137333;font-style:normal}\
.fa-times::before{content:"\\2716";color:#b3261e;font-style:normal}
.fa-info-circle::before{content:"\\2139";color:#0b57d0;font-style:normal}.text-info{color:#0b57d0}
"""


def make_self_contained(site: Path, already: list[Path] = ()) -> None:
    """Strip what is left of remote style sheets, fonts and images (tags and CSS url()) and of scripts from GX's
    pages, number GX's random block ids, and link every page to a local style sheet; but the pages `already` made
    so (published pages copied back in by an incremental build)."""
    (site / "static" / "styles" / "offline.css").write_text(OFFLINE_CSS, encoding="utf-8")
    done = set(already)
    for page in (p for p in site.rglob("*.html") if p not in done):
        depth = len(page.relative_to(site).parts) - 1
        html = _REMOTE_URL.sub("none", _SCRIPT.sub("", _REMOTE_TAG.sub("", page.read_text(encoding="utf-8"))))
        numbers: dict[str, str] = {}  # GX names collapsible blocks with random UUIDs: number them in page order
        html = _UUID.sub(lambda m, numbers=numbers: numbers.setdefault(m.group(), f"block-{len(numbers) + 1}"), html)
        html = _STATIC_LINK.sub(rf'\1="{"../" * depth}static/', html)  # GX miscounts the depth of nested pages
        style = f'<link rel="stylesheet" href="{"../" * depth}static/styles/offline.css">'
        page.write_text(html.replace("</head>", f"{style}</head>", 1), encoding="utf-8")
    for sheet in site.rglob("*.css"):
        sheet.write_text(_REMOTE_URL.sub("none", sheet.read_text(encoding="utf-8")), encoding="utf-8")
