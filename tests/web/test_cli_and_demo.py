"""`leadflow user create`, the demo sign-ins, and the purge of expired sessions."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from leadflow.cli.main import app
from leadflow.demo.run import seed
from leadflow.demo.users import ensure_demo_users
from leadflow.errors import AuthError
from leadflow.schemas import RepIn, TeamIn
from leadflow.services import org, users, websessions
from leadflow.services.context import Services
from leadflow.services.timers import run_all_due
from leadflow.testing import FrozenClock
from tests.web.conftest import PASSWORD


@pytest.fixture
def cli_env(svc: Services, monkeypatch: pytest.MonkeyPatch) -> Services:
    monkeypatch.setenv("LEADFLOW_DATABASE_URL", svc.db.url)
    return svc


class TestUserCommand:
    def test_create_rep_user_then_sign_in(self, cli_env: Services) -> None:
        """`user create --role rep --rep EMAIL` links the rep; the password then works."""
        org.create_team(cli_env, TeamIn(name="t"))
        rep = org.create_rep(cli_env, RepIn(name="Ann", email="ann@x.example", teams=["t"]))
        result = CliRunner().invoke(
            app,
            [
                "user",
                "create",
                "--email",
                "Ann@X.example",
                "--role",
                "rep",
                "--rep",
                "ann@x.example",
                "--password-stdin",
            ],
            input=PASSWORD + "\n",
        )
        assert result.exit_code == 0, result.output
        user = users.sign_in(cli_env, "ann@x.example", PASSWORD, client="test")
        assert user.rep_id == rep["id"] and user.name == "Ann"

    def test_errors_exit_non_zero_and_say_why(self, cli_env: Services) -> None:
        """A short password or an unknown rep: exit 1 with the reason, no user stored."""
        runner = CliRunner()
        short = runner.invoke(
            app,
            ["user", "create", "--email", "a@x.example", "--role", "admin", "--password-stdin"],
            input="short\n",
        )
        assert short.exit_code == 1 and "at least 10 characters" in short.output
        unknown = runner.invoke(
            app,
            [
                "user",
                "create",
                "--email",
                "a@x.example",
                "--role",
                "rep",
                "--rep",
                "42",
                "--password-stdin",
            ],
            input=PASSWORD + "\n",
        )
        assert unknown.exit_code == 1 and "no rep" in unknown.output
        assert users.list_users(cli_env) == []


class TestDemoAndSessions:
    def test_demo_logins_work(self, svc: Services) -> None:
        """The demo prints an admin, a manager and a rep whose passwords sign in."""
        seed(svc)
        logins = ensure_demo_users(svc)
        assert [role for _, role, _ in logins] == ["admin", "manager", "rep"]
        for email, role, password in logins:
            assert users.sign_in(svc, email, password, client="t").role.value == role
        again = ensure_demo_users(svc)  # a restart: fresh passwords, old ones stop working
        with pytest.raises(AuthError, match="wrong e-mail or password"):
            users.sign_in(svc, logins[0][0], logins[0][2], client="t")
        assert users.sign_in(svc, again[0][0], again[0][2], client="t")

    def test_worker_purges_expired_sessions(self, svc: Services, clock: FrozenClock) -> None:
        """Sessions past their expiry are deleted by the timer run; live ones are kept."""
        users.create_user(svc, email="m@x.example", password=PASSWORD, role="manager")
        user = users.sign_in(svc, "m@x.example", PASSWORD, client="t")
        old = websessions.start(svc, user.id)
        clock.advance(hours=11)
        fresh = websessions.start(svc, user.id)
        clock.advance(hours=2)
        assert run_all_due(svc)["websessions"] == 1
        assert websessions.identify(svc, fresh, None).user_id == user.id
        with pytest.raises(AuthError, match="sign in again"):
            websessions.identify(svc, old, None)
