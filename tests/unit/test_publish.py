"""publish's plan and its failure reporting, against a fake portal (the real CKAN is in integration/)."""
from pathlib import Path

import pytest

from pipelines.config import load_config
from pipelines.publish import EXIT_REJECTED, PublishError, publish

ROOT = Path(__file__).resolve().parents[2]


class FakePortal:
    url = "http://fake"

    def __init__(self, fail_on: int | None = None):
        self.calls, self.fail_on, self.uploads = [], fail_on, 0

    def dataset(self, name):
        return None

    def call(self, action, upload=None, **data):
        self.calls.append(action)
        if upload is not None:
            self.uploads += 1
            if self.uploads == self.fail_on:
                raise PublishError(f"{action}: the portal rejected the payload: too large", EXIT_REJECTED)
        return {"id": f"id-{len(self.calls)}", "version": None}


def test_a_first_publish_creates_then_uploads_then_sets_the_version_last():
    portal = FakePortal()
    actions = publish(load_config(ROOT), portal, "org", dry_run=False, say=lambda *_: None)
    assert actions["dataset"] == "create"
    assert portal.calls[0] == "package_create" and portal.calls[-1] == "package_patch"
    tables = len(load_config(ROOT).all_tables)
    assert portal.calls.count("resource_create") == tables + 2  # every table, the annotations and datapackage.json
    assert portal.calls.count("resource_patch") == tables  # a schema attached to each table, none to the annotations


def test_a_failure_midway_says_the_dataset_is_partially_updated_and_keeps_the_old_version():
    portal = FakePortal(fail_on=3)
    with pytest.raises(PublishError) as caught:
        publish(load_config(ROOT), portal, "org", dry_run=False, say=lambda *_: None)
    message = str(caught.value)
    assert "PARTIALLY updated" in message and "sent ['sources', 'organizations']" in message
    assert "'court_bans'" in message.split("not sent")[1] and "Run publish again" in message
    assert "package_patch" not in portal.calls and caught.value.code == EXIT_REJECTED


def test_dry_run_sends_nothing():
    portal = FakePortal()
    lines = []
    publish(load_config(ROOT), portal, "org", dry_run=True, say=lines.append)
    assert portal.calls == [] and "dry run: nothing was sent" in lines
