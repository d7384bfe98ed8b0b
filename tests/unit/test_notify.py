"""Pure parts of notification delivery: retry schedule, signatures, message text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from leadflow.notify import render, signing
from leadflow.notify.retry import after_failure

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


class TestRetry:
    def test_delay_doubles_at_each_attempt(self) -> None:
        """5 s, 10 s, 20 s after the first, second and third failures."""
        delays = [
            after_failure(n, NOW, base_seconds=5, max_attempts=10).retry_at for n in (1, 2, 3)
        ]
        assert [d - NOW for d in delays if d] == [timedelta(seconds=s) for s in (5, 10, 20)]

    def test_delay_is_capped_at_an_hour(self) -> None:
        """However many failures, a message is retried at least hourly until given up."""
        d = after_failure(30, NOW, base_seconds=5, max_attempts=99)
        assert d.retry_at == NOW + timedelta(hours=1)

    def test_gives_up_after_max_attempts(self) -> None:
        """The last allowed attempt failing ends the message."""
        assert after_failure(8, NOW, base_seconds=5, max_attempts=8).give_up


class TestSignature:
    def test_signature_covers_timestamp_and_body(self) -> None:
        """Changing either the body or the timestamp invalidates the signature."""
        sig = signing.sign("k" * 16, 1_700_000_000, b'{"a":1}')
        assert signing.verify("k" * 16, b'{"a":1}', "1700000000", sig, 1_700_000_010)
        assert not signing.verify("k" * 16, b'{"a":2}', "1700000000", sig, 1_700_000_010)
        assert not signing.verify("k" * 16, b'{"a":1}', "1700000001", sig, 1_700_000_010)
        assert not signing.verify("k" * 16, b'{"a":1}', "nope", sig, 1_700_000_010)

    def test_old_timestamp_is_rejected_as_a_replay(self) -> None:
        """Outside the tolerance window a correctly signed request is refused."""
        sig = signing.sign("secret-key-12345", 1000, b"x")
        assert signing.verify("secret-key-12345", b"x", "1000", sig, 1000 + 300)
        assert not signing.verify("secret-key-12345", b"x", "1000", sig, 1000 + 301)


class TestRender:
    def test_offer_text_has_company_expiry_and_accept_link(self) -> None:
        """An offer e-mail says what, until when, and where to accept."""
        data = {
            "offer_id": 7,
            "expires_at": "2026-03-02T10:02:00+00:00",
            "lead": {"id": 3, "score": 90, "company": {"name": "Acme", "country": "FR"}},
        }
        text = render.text("offer.made", data, "https://lf.example/")
        assert text.splitlines()[0] == "New lead offered to you: Acme"
        assert "Expires: 2026-03-02T10:02:00+00:00" in text
        assert text.endswith("Accept: https://lf.example/?offer=7")
        assert render.subject("offer.made", data) == "[leadflow] New lead offered to you: Acme"
