"""The gateway's request path: authenticate the tenant, ask the limiter, forward or refuse."""

from limiter import Limiter, WindowLimiter, load_limits

LIMITS = load_limits("limits.toml")
LIMITER: Limiter = WindowLimiter(LIMITS)


def handle(request: dict) -> dict:
    tenant = request.get("headers", {}).get("x-tenant")
    if not tenant:
        return {"status": 401, "body": "missing x-tenant header"}
    if not LIMITER.allow(tenant):
        return {"status": 429, "headers": {"retry-after": "1"}, "body": "rate limit exceeded"}
    return forward(request)


def forward(request: dict) -> dict:
    # The real gateway proxies to the upstream service here.
    return {"status": 200, "body": "ok"}
