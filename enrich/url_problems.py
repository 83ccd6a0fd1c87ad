"""What keeps a text from being a URL enrich can call: one rule for the URLs of the settings
(config.environment.http_url) and of the providers' options (collectors.answers.checked_url),
so each is refused where it is given and not at the first request (urllib3's "Failed to parse"
or "Port out of range" on every call, tried again each time). And what keeps a text from being
sent as an HTTP header or basic-auth login (a provider's API key, enrich.models.ProviderConfig):
requests refuses a line break ("InvalidHeader") and cannot encode a character past Latin-1, on
every call."""

from typing import Any
from urllib.parse import SplitResult, urlsplit


def url_problem(raw: Any, schemes: tuple[str, ...]) -> str:
    """What keeps `raw` from being a URL of `schemes` with a host and a usable port ("" when
    nothing does)."""
    if not isinstance(raw, str):
        return f"it is {type(raw).__name__}, not text"
    if any(c.isspace() or not c.isprintable() for c in raw):
        return "it holds spaces or control characters"
    try:
        parts = urlsplit(raw)
        host, port = parts.hostname, parts.port  # a port that is no number raises ValueError
    except ValueError as exc:
        return f"it is not a URL ({exc})"
    scheme = raw.partition(":")[0] if parts.scheme else ""
    if scheme not in schemes:  # as written: websocket-client takes "ws", never "WS"
        return f"its scheme is {scheme!r}" if scheme else "it has no scheme"
    if not host:
        return "it names no host"
    if port == 0:  # no server listens there: every request would be refused
        return "its port is 0: give one from 1 to 65535, or none"
    try:
        host.encode("idna")
    except UnicodeError:
        return f"its host {host!r} is not a valid name"
    return ""


def without_login(raw: Any) -> Any:
    """`raw` without the login (user:password@ before its host) when it is a URL holding one,
    else `raw` itself."""
    try:
        netloc = urlsplit(raw).netloc if isinstance(raw, str) else ""
    except ValueError:
        return raw
    return raw.replace(netloc, netloc.rpartition("@")[2], 1) if "@" in netloc else raw


def login_problem(raw: Any, name: str) -> str:
    """What to say of `raw`, the URL `name` gives, when it holds a login (user:password@ before
    its host; "" when it holds none), shown without it: the URL stands in the log, a run's
    error and target and the API's sites, which any signed-in user reads, so none is taken."""
    shown = without_login(raw)
    if shown == raw:
        return ""
    return (
        f"{name} {shown!r} holds a login (user:password@), which every log line, error and "
        "page naming the URL would show: give the address without it"
    )


def header_problem(raw: str) -> str:
    """What keeps `raw` from being sent as an HTTP header value ("" when nothing does)."""
    for char in raw:
        if ord(char) > 255:
            return f"the character {char!r}, past Latin-1"
        if not char.isprintable():  # line breaks, tabs, NUL, a no-break space
            return f"the invisible or control character {char!r}"
    return ""


def beyond_address(parts: SplitResult) -> bool:
    """Whether `parts` name a path (beyond a lone "/"), a query or a fragment, where a URL
    names an address alone: a broker's (MQTT_URL, `manage.py mqtt_remove_entities --url`: the
    topics are MQTT_DISCOVERY_PREFIX's and MQTT_TOPIC_ROOT's, one written there is ignored), an
    S3 endpoint's or Home Assistant's (config.environment.http_url with `path=""`)."""
    return parts.path not in ("", "/") or bool(parts.query or parts.fragment)
