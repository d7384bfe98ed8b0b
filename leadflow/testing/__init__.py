"""Test helpers shipped with leadflow, usable by your own tests too.

- `FrozenClock`: a clock you move by hand.
- `rep`, `org`, factories of domain values taking `**overrides`.
- `postgres`: start a throwaway PostgreSQL server in a temporary directory.
- `receivers`: real local HTTP and SMTP servers that record what they receive.
- `live_server`: the app under uvicorn in a thread, for HTTP and browser tests.
"""

from leadflow.testing.clock import FrozenClock
from leadflow.testing.factories import lead, make_org, rep

__all__ = ["FrozenClock", "lead", "make_org", "rep"]
