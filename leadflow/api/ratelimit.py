"""Rate limits: token buckets per (scope, caller), in each process's memory.

A caller is its token (a digest of it, never the token) or else its IP address. Limits
are per process: with N API processes behind a balancer a caller gets up to N times the
limit, which is what the limits are sized for (see docs/deploy.md). Settings:
`LEADFLOW_RATE_LIMIT_INTAKE`, `…_LOGIN`, `…_CLAIM` as `N/second|minute|hour`, `0` = off.

`RateLimiter` is usable on its own (e.g. as a FastAPI dependency through `limit()`);
`RateLimits` is the ASGI middleware applying the configured rules by method and path.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from leadflow.errors import LeadflowError, ValidationError
from leadflow.observability.metrics import RATE_LIMITED

_PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600,
            "hour": 3600}
MAX_KEYS = 50_000  # memory bound: idle buckets are dropped past this many callers


@dataclass(frozen=True)
class Rate:
    count: int
    per_seconds: float

    @classmethod
    def parse(cls, text: str, *, field: str = "rate") -> Rate | None:
        """`100/minute`, `5/s`, `0` (no limit)."""
        text = text.strip().lower()
        if text in ("", "0", "off", "none"):
            return None
        m = re.fullmatch(r"(\d+)\s*/\s*([a-z]+)", text)
        if not m or m.group(2) not in _PERIODS or int(m.group(1)) <= 0:
            raise ValidationError(
                f"{text!r} is not a rate: write N/second, N/minute or N/hour (0 = off)",
                field=field,
            )
        return cls(int(m.group(1)), float(_PERIODS[m.group(2)]))


class RateLimiter:
    """Token bucket: `count` requests at once, refilled at count/per_seconds per second."""

    def __init__(self, rate: Rate, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last time)
        self._lock = threading.Lock()

    def hit(self, key: str) -> float | None:
        """Take one token for `key`; None if allowed, else seconds until one is free."""
        refill = self.rate.count / self.rate.per_seconds
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.rate.count), now))
            tokens = min(float(self.rate.count), tokens + (now - last) * refill)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                if len(self._buckets) > MAX_KEYS:
                    self._prune(now, refill)
                return None
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / refill

    def _prune(self, now: float, refill: float) -> None:
        full = [k for k, (t, last) in self._buckets.items()
                if t + (now - last) * refill >= self.rate.count]
        for k in full:
            del self._buckets[k]


_SESSION = re.compile(r"(?:^|;\s*)leadflow_session=([^;]+)")


class RateLimited(LeadflowError):
    status_code = 429


def caller_key(headers: dict[str, str], client: str | None, *, by_ip_only: bool = False) -> str:
    """Who is calling, for counting: a digest of their token, or their address."""
    auth = headers.get("authorization", "")
    token = auth.partition(" ")[2].strip() if auth.lower().startswith("bearer ") else ""
    if not token:
        cookie = _SESSION.search(headers.get("cookie", ""))
        token = cookie.group(1) if cookie else ""
    if token and not by_ip_only:
        return "t:" + hashlib.sha256(token.encode()).hexdigest()[:24]
    return "ip:" + (client or "unknown")


@dataclass(frozen=True)
class Rule:
    scope: str
    method: str
    path: re.Pattern[str]
    limiter: RateLimiter
    by_ip_only: bool = False


def rules_from_settings(intake: str, login: str, claim: str) -> list[Rule]:
    wanted = [
        ("intake", "POST", r"^/api/v1/leads$", intake, False),
        # Login guesses come without a valid token: count them per address.
        ("login", "POST", r"^/login$", login, True),
        ("claim", "POST", r"^/api/v1/.+/(claim|claim-next|accept)$", claim, False),
    ]
    rules = []
    for scope, method, path, text, by_ip in wanted:
        rate = Rate.parse(text, field=f"rate_limit_{scope}")
        if rate is not None:
            rules.append(Rule(scope, method, re.compile(path), RateLimiter(rate), by_ip))
    return rules


def too_many(scope: str, retry_after: float) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    RATE_LIMITED.labels(scope=scope).inc()
    seconds = max(1, math.ceil(retry_after))
    body = json.dumps({"detail": {
        "message": f"too many {scope} requests: retry in {seconds} s",
        "field": "rate_limit",
    }}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(seconds).encode()),
    ]
    return 429, headers, body


class RateLimits:
    def __init__(self, app: ASGIApp, rules: list[Rule]) -> None:
        self.app = app
        self.rules = rules

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.rules:
            for rule in self.rules:
                if scope["method"] == rule.method and rule.path.match(scope["path"]):
                    headers = {k.decode("latin-1"): v.decode("latin-1")
                               for k, v in scope.get("headers", ())}
                    client = scope.get("client")
                    key = caller_key(headers, client[0] if client else None,
                                     by_ip_only=rule.by_ip_only)
                    wait = rule.limiter.hit(key)
                    if wait is not None:
                        status, hdrs, body = too_many(rule.scope, wait)
                        await send({"type": "http.response.start", "status": status,
                                    "headers": hdrs})
                        await send({"type": "http.response.body", "body": body})
                        return
                    break
        await self.app(scope, receive, send)


def limit(scope: str, rate: Rate) -> Callable[[Request], None]:
    """A FastAPI dependency limiting one endpoint: `Depends(limit("export", Rate(5, 60)))`."""
    limiter = RateLimiter(rate)

    def check(request: Request) -> None:
        client = request.client.host if request.client else None
        wait = limiter.hit(caller_key(dict(request.headers), client))
        if wait is not None:
            RATE_LIMITED.labels(scope=scope).inc()
            raise RateLimited(f"too many {scope} requests: retry in {max(1, math.ceil(wait))} s",
                          field="rate_limit")

    return check
