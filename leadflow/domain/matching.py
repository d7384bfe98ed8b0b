"""Match a lead to its account (by e-mail or website domain) and to a territory."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from leadflow.domain.model import Account, LeadData, Org, Territory

FREE_MAIL_DOMAINS = frozenset(
    [
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.fr",
        "yahoo.co.uk",
        "hotmail.com",
        "hotmail.fr",
        "hotmail.co.uk",
        "outlook.com",
        "outlook.fr",
        "live.com",
        "live.fr",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "gmx.com",
        "gmx.de",
        "gmx.fr",
        "web.de",
        "orange.fr",
        "wanadoo.fr",
        "free.fr",
        "laposte.net",
        "sfr.fr",
        "protonmail.com",
        "proton.me",
        "yandex.com",
        "yandex.ru",
        "mail.com",
        "mail.ru",
        "zoho.com",
        "hey.com",
        "fastmail.com",
        "tutanota.com",
        "qq.com",
        "163.com",
    ]
)


def lead_domains(lead: LeadData, free_mail: frozenset[str] = FREE_MAIL_DOMAINS) -> list[str]:
    """Candidate company domains of a lead, best first; free-mail domains never count."""
    out: list[str] = []
    company = lead.get("company") or {}
    website = company.get("domain")
    if website:
        out.append(normalise_domain(str(website)))
    email = lead.get("email")
    if email and "@" in email:
        out.append(normalise_domain(email.rsplit("@", 1)[1]))
    seen: list[str] = []
    for d in out:
        if d and d not in free_mail and d not in seen:
            seen.append(d)
    return seen


def normalise_domain(value: str) -> str:
    value = value.strip().lower()
    for prefix in ("https://", "http://"):
        if value.startswith(prefix):
            value = value[len(prefix) :]
    value = value.split("/", 1)[0].split(":", 1)[0]
    return value.removeprefix("www.")


def parent_domains(domain: str) -> list[str]:
    """`eu.acme.com` → [`eu.acme.com`, `acme.com`]: a subsidiary's lead finds the parent."""
    parts = domain.split(".")
    return [".".join(parts[i:]) for i in range(len(parts) - 1)]


def match_territory(lead: LeadData, territories: Iterable[Territory]) -> Territory | None:
    """The matching territory with the lowest priority number (then first defined)."""
    company: Mapping[str, Any] = lead.get("company") or {}
    best: Territory | None = None
    for t in territories:
        if _matches(t, company) and (best is None or t.priority < best.priority):
            best = t
    return best


def _upper(value: Any) -> str:
    return str(value).upper() if value is not None else ""


def _matches(t: Territory, company: Mapping[str, Any]) -> bool:
    if t.countries and _upper(company.get("country")) not in t.countries:
        return False
    if t.states and _upper(company.get("state")) not in t.states:
        return False
    if t.regions and _upper(company.get("region")) not in t.regions:
        return False
    if t.postcode_prefixes:
        postcode = str(company.get("postcode") or "").upper().replace(" ", "")
        if not any(postcode.startswith(p) for p in t.postcode_prefixes):
            return False
    if t.industries and str(company.get("industry") or "").casefold() not in t.industries:
        return False
    size = company.get("size")
    if t.size_min is not None and not (isinstance(size, int) and size >= t.size_min):
        return False
    return t.size_max is None or (isinstance(size, int) and size <= t.size_max)


def match_account(
    lead: LeadData, by_domain: Mapping[str, Account], free_mail: frozenset[str]
) -> dict[str, Any]:
    """The lead's account as rules see it (`account.*`): most specific domain wins.

    `by_domain` needs only the candidate domains (the service loads just those rows).
    """
    if not by_domain:  # no candidate account loaded (the common case): nothing to match
        return {"matched": False}
    candidates = [p for d in lead_domains(lead, free_mail) for p in parent_domains(d)]
    matched_on = next((c for c in candidates if c in by_domain), None)
    if matched_on is None:
        return {"matched": False}
    best = by_domain[matched_on]
    return {
        "matched": True,
        "id": best.id,
        "name": best.name,
        "strategic": best.strategic,
        "owner_rep_id": best.owner_rep_id,
        "team": best.team,
        "domain": matched_on,
    }


def lead_context(doc: LeadData, org: Org, account: Mapping[str, Any]) -> dict[str, Any]:
    """The lead as rules see it: its fields plus `account.*`, `territory.*`, `email_domain`."""
    ctx = dict(doc)
    email = doc.get("email")
    ctx["email_domain"] = email.rsplit("@", 1)[1] if email and "@" in email else None
    ctx["account"] = account
    territory = match_territory(doc, org.territories)
    ctx["territory"] = (
        {"matched": True, "name": territory.name, "team": territory.team}
        if territory
        else {"matched": False}
    )
    return ctx
