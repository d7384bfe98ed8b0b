"""Pure enrichment facts: identity keys, phone facts, company gaps, language."""

from __future__ import annotations

from leadflow.domain import enrichment as facts


class TestIdentityKeys:
    def test_email_case_and_plus_addressing_collapse(self) -> None:
        """Jane+promo@X.com and jane@x.com are the same person when plus tags are stripped."""
        a = facts.identity_keys({"email": "Jane+promo@X.com"}, ["email"])
        b = facts.identity_keys({"email": "jane@x.com"}, ["email"])
        assert a == b == ["email:jane@x.com"]

    def test_plus_addressing_kept_when_configured(self) -> None:
        keys = facts.identity_keys({"email": "jane+a@x.com"}, ["email"], strip_plus=False)
        assert keys == ["email:jane+a@x.com"]

    def test_free_mail_domain_is_never_a_company_key(self) -> None:
        lead = {"email": "jane@gmail.com"}
        assert facts.identity_keys(lead, ["domain"], free_mail=frozenset({"gmail.com"})) == []
        assert facts.identity_keys({"email": "jane@acme.com"}, ["domain"]) == ["domain:acme.com"]

    def test_only_e164_phones_are_keys(self) -> None:
        assert facts.identity_keys({"phone": "+33142685300"}, ["phone"]) == ["phone:+33142685300"]
        assert facts.identity_keys({"phone": "call me"}, ["phone"]) == []


class TestPhoneFacts:
    def test_french_number_gives_country_and_timezone(self) -> None:
        f = facts.phone_facts("01 42 68 53 00", "FR")
        assert (f.valid, f.e164, f.country, f.timezone) == (
            True,
            "+33142685300",
            "FR",
            "Europe/Paris",
        )

    def test_garbage_is_not_valid(self) -> None:
        assert not facts.phone_facts("not a number").valid
        assert not facts.phone_facts("+33 1").valid


class TestCompanyGaps:
    def test_fill_never_overwrites(self) -> None:
        company = {"name": "Given", "size": None}
        filled = facts.fill_company(company, {"name": "Other", "size": 50, "industry": "saas"})
        assert company == {"name": "Given", "size": 50, "industry": "saas"}
        assert filled == ["size", "industry"]

    def test_language_defaults_from_country_with_overrides(self) -> None:
        assert facts.language_for("de", {}) == "de"
        assert facts.language_for("BE", {"BE": "nl"}) == "nl"
        assert facts.language_for(None, {}) is None
