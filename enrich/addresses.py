"""Recorded errors as any signed-in user or API client reads them (GET /retention/runs/<run_id>,
/retention/history, /retention/stats, /retention/alerts, a provider's last run in
/api/enrichment/current, a service's error in /api/health/, so the status page and Home Assistant's entities): without the
addresses of enrich's own services (InfluxDB, Redis and the Celery broker, PostgreSQL, S3,
MQTT, Home Assistant) and of the alerts' webhook receiver (its URL may hold its id, a
password), each one HIDDEN. The record keeps the whole error for whoever runs
enrich: the admin (staff) shows it whole, as the server log does where the work logs it.

Hidden: every URL of a scheme other than http(s) (redis://, postgres://); an http(s) URL, a
`host:port` and urllib3's `host='…', port=…` whose host and port are a service's (its URL in
the settings, the Celery app's broker, the database's host), and the path and query urllib3
names after them ("with url: /query?db=…"); a quoted name of an InfluxDB database of the
settings ('enrich'). A provider's address (api.example.com) stays: it says which service
failed. An address a service had before its setting changed is not known, and stays."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from celery import current_app
from django.conf import settings

HIDDEN = "[hidden]"
SERVICE_URLS = ("INFLUXDB_URL", "REDIS_URL", "CELERY_BROKER_URL", "S3_ENDPOINT_URL", "MQTT_URL",
                "HA_URL", "ALERT_WEBHOOK_URL")  # fmt: skip
DATABASES = ("INFLUXDB_DATABASE", "HA_INFLUXDB_DATABASE", "TIER_DATABASE",
             "DEMO_INFLUXDB_DATABASE", "RESTORE_INFLUXDB_DATABASE")  # fmt: skip
PORTS = {"http": 80, "https": 443, "redis": 6379, "rediss": 6379, "mqtt": 1883, "mqtts": 8883}

_URL = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*)://[^\s'\"<>()]+")
_POOL = re.compile(r"host='([^']*)', port=(\d+)")
_HOST_PORT = re.compile(r"(?<![\w./:@-])(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):(\d{1,5})\b")
# urllib3 names the path and query after the host and port: hidden where those are
_URL_PATH = re.compile(rf"(\({re.escape(HIDDEN)}\): Max retries exceeded with url: )\S+")


def _address(url: str) -> tuple[str, int] | None:
    try:
        parts = urlsplit(url)
        port = parts.port or PORTS.get(parts.scheme.lower())
    except ValueError:
        return None
    return (parts.hostname.lower(), port) if parts.hostname and port else None


def _services() -> set[tuple[str, int]]:
    urls = [getattr(settings, name, "") or "" for name in SERVICE_URLS]
    found = {_address(url) for url in [*urls, str(current_app.conf.broker_url or "")]}
    database = settings.DATABASES["default"]
    if database.get("HOST"):
        found.add((database["HOST"].lower(), int(database.get("PORT") or 5432)))
    return {address for address in found if address}


def hidden(text: str) -> str:
    """`text` without the addresses of enrich's services and its databases' names."""
    if not text:
        return text
    services = _services()

    def ours(host: str, port: str | int) -> bool:
        return (host.strip("[]").lower(), int(port)) in services

    def url(m: re.Match[str]) -> str:
        if m.group(1).lower() not in ("http", "https"):
            return HIDDEN
        return HIDDEN if _address(m.group(0)) in services else m.group(0)

    text = _URL.sub(url, text)
    text = _POOL.sub(lambda m: HIDDEN if ours(m.group(1), m.group(2)) else m.group(0), text)
    text = _HOST_PORT.sub(lambda m: HIDDEN if ours(m.group(1), m.group(2)) else m.group(0), text)
    text = _URL_PATH.sub(lambda m: m.group(1) + HIDDEN, text)
    for name in {getattr(settings, setting, "") for setting in DATABASES} - {""}:
        text = text.replace(f"'{name}'", HIDDEN).replace(f'"{name}"', HIDDEN)
    return text


def hidden_host(text: str, url: str) -> str:
    """`text` `hidden`, and the host of `url` (a service's) also where it stands alone, as an
    error page of the service may name it ("Server at hooks.example.org Port 443")."""
    text = hidden(text)
    host = _address(url or "")
    if not text or not host:
        return text
    name = re.escape(host[0])
    return re.sub(rf"(?<![\w.-]){name}(?![\w-]|\.\w)", HIDDEN, text, flags=re.IGNORECASE)


def hidden_in(value: Any) -> Any:
    """`value` (a run's details: dicts, lists, text) with every text `hidden`."""
    if isinstance(value, str):
        return hidden(value)
    if isinstance(value, dict):
        return {key: hidden_in(item) for key, item in value.items()}
    if isinstance(value, list):
        return [hidden_in(item) for item in value]
    return value
