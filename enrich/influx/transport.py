"""HTTP to InfluxDB: one session per gateway, network failures as InfluxUnavailable, and the
server's own words when it refuses something."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager

import requests

from enrich.deadline import NoAnswer, missed, wait_at_most
from enrich.influx.errors import InfluxUnavailable, certificate_refused

SERVICE = "InfluxDB"


def frozen_session(url: str, ca_cert: str = "") -> requests.Session:
    """A session with the environment's proxies, CA bundle and .netrc credentials for `url`
    resolved now; requests would otherwise read os.environ on every request (that lookup
    cost more than a small query). `ca_cert` (INFLUXDB_CA_CERT): the PEM file of the CA the
    server's certificate is verified against, over the environment's bundle."""
    session = requests.Session()
    settings = session.merge_environment_settings(url, {}, None, None, None)
    auth = requests.utils.get_netrc_auth(url)
    session.trust_env = False
    session.proxies.update(settings.get("proxies") or {})
    session.verify = ca_cert or settings.get("verify", True)
    if settings.get("cert"):
        session.cert = settings["cert"]
    if auth:
        session.auth = auth
    return session


def waited(url: str, timeout: float, doing: str) -> float:
    """How long to wait for InfluxDB's answer while `doing`: `timeout` (INFLUXDB_TIMEOUT), or
    less, the time a web request has left (enrich.deadline); InfluxUnavailable at once when it
    has none, or InfluxDB did not answer earlier in that request."""
    try:
        return wait_at_most(SERVICE, timeout)
    except NoAnswer as exc:
        raise InfluxUnavailable(
            f"InfluxDB at {url} was not asked while {doing}: {exc}. Check that influxd is "
            "running and not overloaded."
        ) from None


@contextmanager
def network_errors(url: str, timeout: float, doing: str) -> Iterator[None]:
    """Turn requests' timeouts and connection errors met while `doing` into InfluxUnavailable;
    after a timeout, a web request asks InfluxDB no more (enrich.deadline)."""
    try:
        yield
    except requests.Timeout as exc:
        missed(SERVICE)
        raise InfluxUnavailable(
            f"InfluxDB at {url} did not answer within {timeout:.3g} s while "
            f"{doing} (INFLUXDB_TIMEOUT, or the web request's time left: WEB_TIMEOUT). Check "
            "INFLUXDB_URL and that influxd is running and not overloaded."
        ) from exc
    except requests.exceptions.SSLError as exc:  # retrying cannot help
        raise certificate_refused(url, doing, tls_reason(exc)) from exc
    except requests.RequestException as exc:
        raise InfluxUnavailable(
            f"Cannot reach InfluxDB at {url} while {doing}: {type(exc).__name__}: "
            f"{exc}. Check INFLUXDB_URL and that influxd is running."
        ) from exc


def tls_reason(exc: BaseException) -> object:
    """What the TLS check under a requests or urllib3 error said ("certificate verify failed:
    unable to get local issuer certificate"), else `exc`."""
    seen: BaseException | None = exc
    for _ in range(8):  # requests' SSLError > MaxRetryError > urllib3's SSLError > ssl's
        if seen is None:
            break
        if isinstance(seen, ssl.SSLCertVerificationError) and seen.verify_message:
            return f"certificate verify failed: {seen.verify_message}"
        seen = _under(seen)
    return exc


def _under(exc: BaseException) -> BaseException | None:
    """The error `exc` wraps: urllib3's `reason`, the first argument that is one, or its cause."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, BaseException):
        return reason
    wrapped = next((a for a in exc.args if isinstance(a, BaseException)), None)
    return wrapped or exc.__cause__ or exc.__context__


def server_message(response: requests.Response) -> str:
    """What InfluxDB said was wrong: the JSON answer's error or message, else its text."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip() or f"HTTP {response.status_code}"
    if isinstance(body, dict):
        for key in ("error", "message"):
            if body.get(key):
                return str(body[key])
        for result in body.get("results", []):
            if result.get("error"):
                return str(result["error"])
    return response.text.strip()
