"""`leadflow load` checks every reference before writing: a bad name changes nothing."""

from __future__ import annotations

import pytest

from leadflow.errors import ValidationError
from leadflow.services import loader, org
from leadflow.services.context import Services

ORG = """\
teams:
  - {name: sales, manager: boss@x.example}
territories:
  - {name: nordics, team: sales, countries: [NO, SE, DK]}
reps:
  - {name: Boss, email: boss@x.example, teams: [sales]}
  - {name: Ola, email: ola@x.example, teams: [sales], territories: [nordics]}
"""


@pytest.mark.parametrize(
    ("bad", "line", "field"),
    [
        ("  - {name: Eve, email: eve@x.example, teams: [sale]}\n", 8, "reps.2.teams.0"),
        (
            "  - {name: Eve, email: eve@x.example, territories: [nordic]}\n",
            8,
            "reps.2.territories.0",
        ),
        (
            "accounts:\n  - {name: A, domains: [a.example], owner: nobody@x.example}\n",
            9,
            "accounts.0.owner",
        ),
    ],
)
def test_unknown_reference_names_line_and_field_and_writes_nothing(
    svc: Services, bad: str, line: int, field: str
) -> None:
    with pytest.raises(ValidationError) as err:
        loader.load(svc, loader.parse(ORG + bad))
    assert err.value.field == field
    assert err.value.message.startswith(f"line {line}: {field}: unknown")
    assert org.counts(svc)["teams"] == 0 and org.counts(svc)["reps"] == 0


def test_norway_stays_a_country_code(svc: Services) -> None:
    loader.load(svc, loader.parse(ORG))
    (territory,) = org.list_territories(svc)
    assert territory["countries"] == ["NO", "SE", "DK"]


def test_a_field_error_names_its_line(svc: Services) -> None:
    with pytest.raises(ValidationError) as err:
        loader.parse(ORG + "  - {name: Eve, email: not-an-email}\n")
    assert err.value.message.startswith("line 8: reps.2.email:")


def test_reloading_an_edited_territory_updates_it(svc: Services) -> None:
    """`leadflow load` again after editing a territory: the new criteria apply."""
    loader.load(svc, loader.parse(ORG))
    edited = ORG.replace("countries: [NO, SE, DK]", "countries: [NO, SE, DK, FI, IS]")
    stats = loader.load(svc, loader.parse(edited))
    assert stats["territories"] == 0 and stats["updated"] >= 1
    (territory,) = org.list_territories(svc)
    assert territory["countries"] == ["NO", "SE", "DK", "FI", "IS"]
    again = loader.load(svc, loader.parse(edited))
    assert again["updated"] == 2  # only the two reps are rewritten; the territory is unchanged
