"""Pure enrichment facts: identity keys for dedup, phone → country/timezone, country →
language, and filling company gaps from a firmographic record."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import phonenumbers
from phonenumbers import timezone as phone_timezone

from leadflow.domain.matching import lead_domains

COUNTRY_LANGUAGE: Mapping[str, str] = {
    "FR": "fr", "BE": "fr", "LU": "fr", "MC": "fr", "CH": "de", "DE": "de", "AT": "de",
    "ES": "es", "MX": "es", "AR": "es", "CO": "es", "CL": "es", "PE": "es", "IT": "it",
    "PT": "pt", "BR": "pt", "NL": "nl", "GB": "en", "IE": "en", "US": "en", "CA": "en",
    "AU": "en", "NZ": "en", "IN": "en", "ZA": "en", "SG": "en", "SE": "sv", "NO": "no",
    "DK": "da", "FI": "fi", "PL": "pl", "CZ": "cs", "RO": "ro", "GR": "el", "TR": "tr",
    "JP": "ja", "CN": "zh", "KR": "ko", "RU": "ru", "UA": "uk", "MA": "fr", "TN": "fr",
    "SN": "fr", "CI": "fr",
}  # fmt: skip
"""The default language of a country (a rulebook may override per country)."""

COUNTRY_TIMEZONE: Mapping[str, str] = {
    "FR": "Europe/Paris", "BE": "Europe/Brussels", "LU": "Europe/Luxembourg",
    "CH": "Europe/Zurich", "DE": "Europe/Berlin", "AT": "Europe/Vienna",
    "ES": "Europe/Madrid", "IT": "Europe/Rome", "PT": "Europe/Lisbon",
    "NL": "Europe/Amsterdam", "GB": "Europe/London", "IE": "Europe/Dublin",
    "SE": "Europe/Stockholm", "NO": "Europe/Oslo", "DK": "Europe/Copenhagen",
    "FI": "Europe/Helsinki", "PL": "Europe/Warsaw", "CZ": "Europe/Prague",
    "RO": "Europe/Bucharest", "GR": "Europe/Athens", "TR": "Europe/Istanbul",
    "JP": "Asia/Tokyo", "KR": "Asia/Seoul", "IN": "Asia/Kolkata", "SG": "Asia/Singapore",
    "MA": "Africa/Casablanca", "TN": "Africa/Tunis", "SN": "Africa/Dakar", "NZ": "Pacific/Auckland",
}  # fmt: skip
"""Countries with a single timezone; wider ones (US, CA, BR, AU, RU…) need the phone."""

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")

COMPANY_FIELDS = ("name", "size", "industry", "country", "state")


@dataclass(frozen=True, slots=True)
class PhoneFacts:
    valid: bool
    e164: str | None = None
    country: str | None = None
    timezone: str | None = None


def phone_facts(raw: str, default_region: str | None = None) -> PhoneFacts:
    """What a phone number tells: its E.164 form, country, and timezone when unambiguous."""
    region = default_region if default_region and default_region != "EU" else None
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return PhoneFacts(False)
    if not phonenumbers.is_valid_number(parsed):
        return PhoneFacts(False)
    zones = [z for z in phone_timezone.time_zones_for_number(parsed) if not z.startswith("Etc/")]
    return PhoneFacts(
        True,
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164),
        phonenumbers.region_code_for_number(parsed),
        zones[0] if len(zones) == 1 else None,
    )


def normalise_email(email: str, strip_plus: bool = True) -> str:
    """Lowercase; `jane+promo@x.com` → `jane@x.com` when plus-addressing is stripped."""
    local, _, domain = email.strip().lower().rpartition("@")
    if strip_plus and "+" in local:
        local = local.split("+", 1)[0]
    return f"{local}@{domain}"


def identity_keys(
    lead: Mapping[str, Any],
    keys: Iterable[str],
    *,
    strip_plus: bool = True,
    free_mail: frozenset[str] = frozenset(),
) -> list[str]:
    """`email:…`, `phone:…`, `domain:…` keys, sorted (a fixed lock order for writers)."""
    out: set[str] = set()
    wanted = set(keys)
    email = lead.get("email")
    if "email" in wanted and isinstance(email, str) and "@" in email:
        out.add("email:" + normalise_email(email, strip_plus))
    phone = lead.get("phone")
    if "phone" in wanted and isinstance(phone, str) and _E164.match(phone):
        out.add("phone:" + phone)
    if "domain" in wanted:
        domains = lead_domains(lead, free_mail) if free_mail else lead_domains(lead)
        out.update("domain:" + d for d in domains[:1])
    return sorted(out)


def fill_company(company: dict[str, Any], record: Mapping[str, Any]) -> list[str]:
    """Fill the company fields the lead left empty; never overwrite what was given."""
    filled = []
    for field in COMPANY_FIELDS:
        if company.get(field) in (None, "") and record.get(field) not in (None, ""):
            company[field] = record[field]
            filled.append(field)
    return filled


def language_for(country: str | None, overrides: Mapping[str, str]) -> str | None:
    if not country:
        return None
    country = country.upper()
    return overrides.get(country) or COUNTRY_LANGUAGE.get(country)


def timezone_for(country: str | None) -> str | None:
    return COUNTRY_TIMEZONE.get(country.upper()) if country else None
