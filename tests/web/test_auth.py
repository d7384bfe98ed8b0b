"""Sign-in, sessions, CSRF, rate limiting and security headers, over real HTTP."""

from __future__ import annotations

import pytest

from leadflow.services import users
from leadflow.services.auth import Role, create_token
from leadflow.testing import FrozenClock
from tests.web.conftest import PASSWORD, World, form_csrf, login


class TestSignIn:
    def test_wrong_password_refused_right_one_signs_in(self, world: World) -> None:
        """A wrong password gets 401 and no session; the right one lands on the dashboard."""
        c = world.client()
        res = login(c, "manager@x.example", "not the password")
        assert res.status_code == 401 and "Wrong e-mail or password" in res.text
        assert "leadflow_session" not in c.cookies
        res = login(c, "manager@x.example", PASSWORD)
        assert res.status_code == 303
        assert c.get("/", follow_redirects=True).url.path == "/dashboard"

    def test_login_without_csrf_token_is_refused(self, world: World) -> None:
        """A forged sign-in form (no token matching the cookie) gets 403."""
        c = world.client()
        c.get("/login")
        res = c.post("/login", data={"email": "manager@x.example", "password": PASSWORD})
        assert res.status_code == 403
        res = c.post(
            "/login", data={"csrf": "forged", "email": "manager@x.example", "password": PASSWORD}
        )
        assert res.status_code == 403
        assert "leadflow_session" not in c.cookies

    def test_rate_limited_after_five_failures(self, world: World) -> None:
        """Five wrong passwords for an e-mail: the sixth try is 429, even with the right one."""
        c = world.client()
        for _ in range(users.MAX_FAILURES_PER_EMAIL):
            assert login(c, "bob@x.example", "wrong-wrong").status_code == 401
        res = login(c, "bob@x.example", PASSWORD)
        assert res.status_code == 429 and "too many failed sign-ins" in res.text
        assert login(c, "alice@x.example", PASSWORD).status_code == 303  # others unaffected

    def test_rate_limit_window_passes(self, world: World, clock: FrozenClock) -> None:
        """After the 15-minute window, the user may try again."""
        c = world.client()
        for _ in range(users.MAX_FAILURES_PER_EMAIL):
            login(c, "bob@x.example", "wrong-wrong")
        clock.advance(minutes=16)
        assert login(c, "bob@x.example", PASSWORD).status_code == 303

    def test_logout_ends_the_session_on_the_server(self, world: World) -> None:
        """The old cookie replayed after logout is no longer signed in."""
        c = world.sign_in("manager@x.example")
        cookie = c.cookies["leadflow_session"]
        csrf = form_csrf(c.get("/dashboard").text)
        assert c.post("/logout", data={"csrf": csrf}).status_code == 303
        replay = world.client()
        replay.cookies.set("leadflow_session", cookie)
        assert replay.get("/dashboard").headers["location"].startswith("/login")

    def test_session_expires(self, world: World, clock: FrozenClock) -> None:
        """A session is good for 12 hours."""
        c = world.sign_in("manager@x.example")
        clock.advance(hours=12, seconds=1)
        assert c.get("/dashboard").status_code == 303

    def test_token_login_still_works(self, world: World) -> None:
        """Pasting an API token signs in too; an intake token may not."""
        token, _ = create_token(world.svc, Role.MANAGER, name="ops")
        intake, _ = create_token(world.svc, Role.INTAKE)
        c = world.client()
        csrf = form_csrf(c.get("/login").text)
        assert c.post("/login/token", data={"csrf": csrf, "token": token}).status_code == 303
        assert c.get("/dashboard").status_code == 200
        c2 = world.client()
        csrf = form_csrf(c2.get("/login").text)
        assert c2.post("/login/token", data={"csrf": csrf, "token": intake}).status_code == 403

    def test_next_is_never_an_open_redirect(self, world: World) -> None:
        """`next=//evil.example` sends you home instead."""
        c = world.client()
        csrf = form_csrf(c.get("/login").text)
        res = c.post(
            "/login",
            data={
                "csrf": csrf,
                "email": "manager@x.example",
                "password": PASSWORD,
                "next": "//evil.example/x",
            },
        )
        assert res.headers["location"] == "/"


class TestFormsAndHeaders:
    def test_every_form_needs_its_csrf_token(self, world: World) -> None:
        """Saving thresholds without the token is 403 and changes nothing."""
        c = world.sign_in("manager@x.example")
        res = c.post("/alerts/thresholds", data={"error_rate": "0.5"})
        assert res.status_code == 403
        csrf = form_csrf(c.get("/alerts").text)
        res = c.post("/alerts/thresholds", data={"csrf": csrf, "error_rate": "0.5"})
        assert res.status_code == 303
        assert 'value="0.5"' in c.get("/alerts").text

    def test_security_headers(self, world: World) -> None:
        """Pages forbid framing, sniffing, inline scripts and third-party assets."""
        res = world.client().get("/login")
        csp = res.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert res.headers["x-frame-options"] == "DENY"
        assert res.headers["x-content-type-options"] == "nosniff"
        cookie = res.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie

    def test_no_external_assets(self, world: World) -> None:
        """Every script, stylesheet and image is served by leadflow itself."""
        c = world.sign_in("admin@x.example")
        for path in ("/dashboard", "/admin/rulebook", "/leads/1", "/admin/org"):
            html = c.get(path).text
            assert "http://" not in html.replace(world.url, "") or "xmlns" in html
            assert "https://" not in html and "//cdn" not in html

    def test_api_with_session_cookie_needs_csrf_header_for_changes(self, world: World) -> None:
        """The browser may read the API with its session; a change needs X-CSRF-Token."""
        c = world.sign_in("manager@x.example")
        assert c.get("/api/v1/leads").status_code == 200
        body = {"latency_p95_seconds": 30}
        assert c.put("/api/v1/metrics/thresholds", json=body).status_code == 403
        csrf = form_csrf(c.get("/alerts").text)
        res = c.put("/api/v1/metrics/thresholds", json=body, headers={"X-CSRF-Token": csrf})
        assert res.status_code == 200


class TestUsers:
    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"email": "x@y.example", "password": "short", "role": "admin"}, "password"),
            ({"email": "not-an-email", "password": PASSWORD, "role": "admin"}, "email"),
            ({"email": "x@y.example", "password": PASSWORD, "role": "rep"}, "rep"),
            ({"email": "x@y.example", "password": PASSWORD, "role": "intake"}, "role"),
            ({"email": "admin@x.example", "password": PASSWORD, "role": "admin"}, "email"),
        ],
    )
    def test_bad_users_refused(self, world: World, kwargs: dict[str, str], field: str) -> None:
        """Short passwords, bad e-mails, rep users without a rep, duplicates: refused."""
        from leadflow.errors import LeadflowError

        with pytest.raises(LeadflowError) as exc:
            users.create_user(world.svc, **kwargs)  # type: ignore[arg-type]
        assert exc.value.field == field

    def test_password_stored_as_argon2(self, world: World) -> None:
        """Only an argon2id hash is stored, never the password."""
        from sqlalchemy import select

        from leadflow.store.web_models import UserRow

        with world.svc.db.read() as s:
            stored = s.scalar(select(UserRow.password_hash).where(UserRow.email == "bob@x.example"))
        assert stored is not None and stored.startswith("$argon2id$") and PASSWORD not in stored
