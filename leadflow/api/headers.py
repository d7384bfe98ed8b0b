"""Security headers. Every answer: no MIME sniffing, no referrer, no framing. HTML pages
also get a strict Content-Security-Policy (every asset is served by leadflow itself, no
inline script) and `no-store`, since they show lead data."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HTML_ONLY = [
    (b"content-security-policy", CSP.encode()),
    (b"cache-control", b"no-store"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
#: Only over HTTPS (as seen through the balancer's X-Forwarded-Proto): browsers then refuse
#: plain HTTP to this host for a year.
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
#: FastAPI's interactive docs load their own script bundle; they get the basic headers.
EXEMPT_FROM_CSP = ("/docs", "/redoc")


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        strict = not scope["path"].startswith(EXEMPT_FROM_CSP)
        https = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {k.lower() for k, _ in headers}
                extra = [*ALWAYS, HSTS] if https else list(ALWAYS)
                is_html = any(
                    k.lower() == b"content-type" and v.startswith(b"text/html")
                    for k, v in headers
                )
                # The always-headers are this layer's policy: they replace any value an
                # inner layer set.
                owned = {k for k, _ in extra}
                headers = [(k, v) for k, v in headers if k.lower() not in owned]
                present -= owned
                if is_html and strict:
                    extra += HTML_ONLY
                headers += [(k, v) for k, v in extra if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
