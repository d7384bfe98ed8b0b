"""Rulebook versions through the services: validate, save, activate, roll back."""

from __future__ import annotations

import pytest

from leadflow.errors import NotFound, RulebookError
from leadflow.services import rulebooks
from leadflow.services.context import Services
from tests.integration.conftest import ROUND_ROBIN_FR, make_team, post

BROKEN = ROUND_ROBIN_FR.replace("team: france", "team: spain")


class TestRulebookVersions:
    def test_default_rulebook_queues_everything(self, svc: Services) -> None:
        """Before any rulebook, leads wait in `unassigned` (version 0)."""
        assert rulebooks.get_active(svc)["version"] == 0
        assert post(svc)["queue"] == "unassigned"

    def test_validate_stores_nothing(self, svc: Services) -> None:
        """Validation compiles against the org and stores no version."""
        make_team(svc, "france", 1)
        _, compiled = rulebooks.validate(svc, ROUND_ROBIN_FR)
        assert [r.name for r in compiled.rules] == ["france"]
        assert rulebooks.list_versions(svc) == []

    def test_save_activates_and_keeps_earlier_versions(self, svc: Services) -> None:
        """Each save is a new version; the newest is active, the older ones kept."""
        make_team(svc, "france", 1)
        v1 = rulebooks.save(svc, ROUND_ROBIN_FR, actor="ana")
        v2 = rulebooks.save(svc, "rules: []\nfallback: {queue: triage}", actor="bo")
        versions = rulebooks.list_versions(svc)
        assert [v["version"] for v in versions] == [v2["version"], v1["version"]]
        assert [v["active"] for v in versions] == [True, False]
        assert versions[1]["created_by"] == "ana" and versions[1]["rules"] == 1
        active = rulebooks.get_active(svc)
        assert active["version"] == v2["version"]
        assert active["source"].startswith("rules: []")
        assert post(svc, company={"country": "FR"})["queue"] == "triage"

    def test_roll_back_to_an_earlier_version(self, svc: Services) -> None:
        """Activating a stored version makes routing use it again at once."""
        ids = make_team(svc, "france", 1)
        v1 = rulebooks.save(svc, ROUND_ROBIN_FR)
        rulebooks.save(svc, "rules: []\nfallback: {queue: triage}")
        rulebooks.activate(svc, v1["version"])
        assert post(svc, company={"country": "FR"})["owner_rep_id"] == ids[0]
        assert rulebooks.get_version(svc, v1["version"])["document"]["rules"][0]["name"] == "france"

    def test_invalid_rulebook_is_never_stored_nor_activated(self, svc: Services) -> None:
        """An unknown team is refused naming rule and field; the active version is unchanged."""
        make_team(svc, "france", 1)
        good = rulebooks.save(svc, ROUND_ROBIN_FR)
        with pytest.raises(RulebookError) as info:
            rulebooks.save(svc, BROKEN)
        assert (info.value.rule, info.value.field) == ("france", "assign.team")
        assert [v["version"] for v in rulebooks.list_versions(svc)] == [good["version"]]
        assert rulebooks.get_active(svc)["version"] == good["version"]

    def test_unparseable_rulebook_or_missing_version(self, svc: Services) -> None:
        with pytest.raises(RulebookError, match="not valid YAML"):
            rulebooks.save(svc, "rules: [")
        assert rulebooks.list_versions(svc) == []
        with pytest.raises(NotFound):
            rulebooks.activate(svc, 42)
        with pytest.raises(NotFound):
            rulebooks.get_version(svc, 42)
