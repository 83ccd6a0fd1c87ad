"""Who may do what on the REST API, and how often.

- Reading (GET, HEAD, OPTIONS) needs any authenticated user, e.g. the read-only token Home
  Assistant's REST sensors use (`manage.py create_token --read-only NAME`).
- Everything else — changing, deleting, or queueing work (downsample, archive, restore, view
  rebuild, any future POST/PUT/PATCH/DELETE) — needs a staff user or the permission
  `enrich.trigger_work` ("Can change data and start work through the API").
- Throttles count requests per client and scope as `enrich.redis.budget` budgets in Redis, so
  every web process shares one count. The scope is the view's `throttle_scope` (the token
  endpoint: "token"), else "trigger" for a changing method, "user" for an authenticated read
  and "anon" for an anonymous one. Rates: settings REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].
"""

import ipaddress
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.authentication import SessionScheme
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.throttling import BaseThrottle

from enrich.redis.budget import Budget, BudgetUnavailable

logger = logging.getLogger(__name__)

TRIGGER_PERMISSION = "enrich.trigger_work"


def may_trigger(user) -> bool:
    """Staff, or granted enrich.trigger_work (directly or through a group)."""
    return bool(user and user.is_active and (user.is_staff or user.has_perm(TRIGGER_PERMISSION)))


class TokenAuth(TokenAuthentication):
    """DRF's `Authorization: Token <key>`, with a key holding a NUL refused as an invalid token
    before the database is asked (PostgreSQL refuses the query: a 500 on every endpoint, health
    included). Gunicorn refuses such a header already; other servers pass it on."""

    def authenticate_credentials(self, key):
        if "\x00" in key:
            raise AuthenticationFailed("Invalid token.")
        return super().authenticate_credentials(key)


def takes_method(request, view) -> bool:
    """Whether `view` has a handler for the request's method. DRF answers any other with a 405
    (Allow naming those it takes) and does nothing, but only after the login, CSRF and
    permission checks: a signed-in browser's DELETE would be a 403 "CSRF Failed", a read-only
    user's a 403 "This token may only read", neither saying the method is what is wrong."""
    method = request.method.lower()
    return method in view.http_method_names and hasattr(view, method)


class SessionAuth(SessionAuthentication):
    """DRF's admin session login, its CSRF check left out for a method the view does not take
    (the 405 follows, nothing is done)."""

    def enforce_csrf(self, request):
        view = (request.parser_context or {}).get("view")
        if view is None or takes_method(request, view):
            super().enforce_csrf(request)


class SessionAuthScheme(SessionScheme):
    """SessionAuth in the API's schema, as DRF's session login is (cookieAuth): drf-spectacular
    matches the exact class only."""

    target_class = "enrich.access.SessionAuth"


class ReadOrTrigger(BasePermission):
    """Any authenticated user reads; only staff or enrich.trigger_work changes or triggers."""

    needs = (
        "Changing data or starting work needs a staff user or the permission "
        f"{TRIGGER_PERMISSION} (admin → Users)."
    )
    message = f"This token may only read. {needs}"

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False  # DRF answers 401 (no or bad token) rather than 403
        if not takes_method(request, view):
            return True  # DRF's 405 follows: nothing is done
        if request.method in SAFE_METHODS or may_trigger(user):
            return True
        if not isinstance(request.successful_authenticator, TokenAuthentication):
            # Signed in with a session (the browsable API after /login/): there is no token.
            self.message = f"User {user.get_username()!r} may only read. {self.needs}"
        return False


def client_address(request) -> str:
    """The client's IP address, as the login lockout and the throttles count it (`counted`).
    With TRUSTED_PROXY_COUNT = n reverse proxies in front, the address the outermost of them
    saw (n-th from the right in X-Forwarded-For); entries to its left come from the client and
    are ignored, so a client cannot choose its address. An entry that is no IP address counts
    as the nearest proxy's (REMOTE_ADDR); "" when that is none."""
    count = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    nearest = request.META.get("REMOTE_ADDR", "")
    if count and hops:
        hop = hops[-min(count, len(hops))]
        if _is_ip(hop):
            return counted(hop)
        logger.warning("X-Forwarded-For entry %r is no IP address; the request counts as from "
                       "the nearest proxy, %s", hop[:60], nearest)  # fmt: skip
    # django-axes keeps the address in an IP address column: anything else fails its queries.
    return counted(nearest) if _is_ip(nearest) else ""


def counted(address: str) -> str:
    """An IPv6 address as its /64 network's first address: one host holds the whole /64
    (privacy addresses, a server's allocation), so counted one by one, each of its 2^64
    addresses got a lockout and throttle budget of its own. An IPv4-mapped one
    (::ffff:198.51.100.7, from a dual-stack proxy) as its IPv4 address; IPv4 as it is."""
    ip = ipaddress.ip_address(address)
    if ip.version == 4:
        return address
    if ip.ipv4_mapped:
        return str(ip.ipv4_mapped)
    return str(ipaddress.IPv6Address(int(ip) >> 64 << 64))


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def login_username(request, credentials: dict | None = None) -> str | None:
    """The username django-axes records a login under, cut to the 255 characters its table
    holds: a longer one would fail the insert (a 500). No account has one (Django's are 150 at
    most), so the cut never joins two accounts."""
    source = credentials or getattr(request, "data", request.POST)
    name = source.get("username") if hasattr(source, "get") else None
    return name[:255] if isinstance(name, str) else name


def username_problem(name: str) -> str:
    """Why `name` cannot be a user name ("" when it can): Django's rule for the field (letters,
    digits and @.+-_, at most 150 characters), checked before the database sees it."""
    field = get_user_model()._meta.get_field("username")
    try:
        field.clean(name, None)
    except DjangoValidationError as exc:
        return " ".join(exc.messages)
    return ""


def throttle_scope(request, view) -> str:
    scope = getattr(view, "throttle_scope", None)
    if scope:
        return scope
    if request.method not in SAFE_METHODS:
        return "trigger"
    return "user" if request.user and request.user.is_authenticated else "anon"


class ScopedThrottle(BaseThrottle):
    """One sliding-window budget per scope and client (user id, or address when anonymous)."""

    budget: Budget | None = None

    def allow_request(self, request, view) -> bool:
        scope = throttle_scope(request, view)
        rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope]
        user = request.user
        client = f"user-{user.pk}" if user and user.is_authenticated else client_address(request)
        self.budget = Budget.from_spec(f"api-{scope}", rate, target=client or "unknown")
        try:
            return self.budget.try_acquire()
        except BudgetUnavailable as exc:
            # Refusing everything while Redis is down would also take health and reads down;
            # admin logins stay limited by django-axes, which keeps its count in the database.
            logger.warning("API throttle not applied: %s", exc)
            return True

    def wait(self) -> float | None:
        try:
            return self.budget.retry_after() if self.budget else None
        except BudgetUnavailable:
            return None
