"""Re-entry after absence: a returning rep gets their normal share, not a catch-up flood."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from leadflow.schemas import AbsenceIn
from leadflow.services import org
from leadflow.services.context import Services
from leadflow.testing import FrozenClock
from tests.integration.lifecycle.conftest import activate, add_lead, make_org


@pytest.mark.parametrize("method", ["round_robin", "weighted"])
def test_returning_rep_is_not_flooded(svc: Services, clock: FrozenClock, method: str) -> None:
    """Away for 12 leads, back for 9: the returning rep gets 3 of 9, like everyone."""
    ids = make_org(svc)
    rules = [{"name": "sales", "assign": {"team": "sales", "method": method}}]
    activate(svc, None, rules=rules)
    now = clock.now()
    org.add_absence(svc, ids[0], AbsenceIn(start=now, end=now + timedelta(hours=1)))
    during = Counter(add_lead(svc)["owner_rep_id"] for _ in range(12))
    assert ids[0] not in during
    clock.advance(hours=2)
    after = Counter(add_lead(svc)["owner_rep_id"] for _ in range(9))
    assert after == Counter({ids[0]: 3, ids[1]: 3, ids[2]: 3})
