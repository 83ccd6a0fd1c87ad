"""The response cache and last-good store, against the real Redis at REDIS_URL (db 15)."""

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from django.conf import settings

from enrich.redis.cache import CacheUnavailable, ResponseCache, cache_key, last_good_key
from enrich.redis.client import get_redis
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def cache(prefix):
    return ResponseCache(prefix=prefix)


def test_round_trip_of_json_values(cache, prefix):
    value = {"gco2_kwh": 212.5, "forecast": [200, 190.25, None], "zone": "Zürich", "ok": True}
    fetched_at = datetime.now(UTC) - timedelta(seconds=30)
    cache.put("carbon_intensity", "watttime", "CAISO_NORTH", value, fetched_at=fetched_at)

    answer = cache.get("carbon_intensity", "watttime", "CAISO_NORTH")
    assert answer.value == value
    assert answer.fetched_at == fetched_at
    assert answer.fetched_at.tzinfo is not None
    assert 30 <= answer.age_seconds < 90
    assert answer.stale is False

    # Stored as plain JSON under the documented key (never pickle).
    raw = get_redis().get(f"{prefix}:cache:carbon_intensity:watttime:CAISO_NORTH")
    assert json.loads(raw) == {
        "value": value,
        "fetched_at": fetched_at.isoformat(),
        "ttl_seconds": 900,
    }


def test_scalar_and_list_values_round_trip(cache):
    cache.put("electricity_pricing", "awattar", "AT", [0.21, 0.19])
    cache.put("air_quality", "airnow", "94110", 42)
    assert cache.get("electricity_pricing", "awattar", "AT").value == [0.21, 0.19]
    assert cache.get("air_quality", "airnow", "94110").value == 42


def test_miss_returns_none(cache):
    assert cache.get("carbon_intensity", "watttime", "NOWHERE") is None
    assert cache.last_good("carbon_intensity", "watttime", "NOWHERE") is None


def test_entry_expires_after_its_ttl_but_last_good_survives(cache, prefix):
    cache.put("smart_meter", "emporia", "device-7", {"total_power_w": 950}, ttl=1)
    fresh_key = f"{prefix}:cache:smart_meter:emporia:device-7"
    assert 0 < get_redis().pttl(fresh_key) <= 1000
    assert get_redis().pttl(f"{prefix}:lastgood:smart_meter:emporia:device-7") == -1  # no expiry
    assert cache.get("smart_meter", "emporia", "device-7").value == {"total_power_w": 950}

    time.sleep(1.2)

    assert cache.get("smart_meter", "emporia", "device-7") is None
    assert get_redis().exists(fresh_key) == 0
    fallback = cache.last_good("smart_meter", "emporia", "device-7")
    assert fallback.value == {"total_power_w": 950}
    assert fallback.stale is True
    assert fallback.age_seconds >= 1.2


def test_last_good_is_not_stale_while_fresh(cache):
    cache.put("carbon_intensity", "uk_carbon_intensity", "GB-13", {"index": "low"})
    answer = cache.last_good("carbon_intensity", "uk_carbon_intensity", "GB-13")
    assert answer.value == {"index": "low"}
    assert answer.stale is False


def test_newer_put_replaces_both_entries(cache):
    cache.put("electricity_pricing", "tibber", "home-1", {"price": 0.30})
    cache.put("electricity_pricing", "tibber", "home-1", {"price": 0.25})
    assert cache.get("electricity_pricing", "tibber", "home-1").value == {"price": 0.25}
    assert cache.last_good("electricity_pricing", "tibber", "home-1").value == {"price": 0.25}


def test_freshness_counts_from_fetched_at(cache, prefix):
    ten_min_ago = datetime.now(UTC) - timedelta(minutes=10)
    cache.put("carbon_intensity", "watttime", "PJM", {"v": 1}, fetched_at=ten_min_ago)
    # 15 min TTL, fetched 10 min ago: fresh for about 5 more minutes.
    pttl = get_redis().pttl(f"{prefix}:cache:carbon_intensity:watttime:PJM")
    assert 290_000 < pttl <= 300_000
    assert cache.get("carbon_intensity", "watttime", "PJM").age_seconds >= 600

    # Fetched 20 min ago: already stale, so only the last-good store takes it.
    twenty_min_ago = datetime.now(UTC) - timedelta(minutes=20)
    cache.put("carbon_intensity", "watttime", "MISO", {"v": 2}, fetched_at=twenty_min_ago)
    assert cache.get("carbon_intensity", "watttime", "MISO") is None
    fallback = cache.last_good("carbon_intensity", "watttime", "MISO")
    assert fallback.value == {"v": 2} and fallback.stale is True


def test_fetched_at_in_another_zone_is_stored_as_utc(cache):
    cest = datetime.now(UTC).astimezone(timezone(timedelta(hours=2)))
    cache.put("air_quality", "airnow", "10001", {"aqi": 30}, fetched_at=cest)
    answer = cache.get("air_quality", "airnow", "10001")
    assert answer.fetched_at == cest
    assert answer.fetched_at.utcoffset() == timedelta(0)


def test_entries_are_shared_by_target_not_by_site(cache, prefix):
    # Two homes in the same grid region ask for the same provider + zone: one entry.
    cache.put("carbon_intensity", "watttime", "CAISO_NORTH", {"gco2_kwh": 250})
    for _site in ("home-a", "home-b"):
        assert cache.get("carbon_intensity", "watttime", "CAISO_NORTH").value == {"gco2_kwh": 250}
    assert sorted(get_redis().scan_iter(match=f"{prefix}:*")) == [
        f"{prefix}:cache:carbon_intensity:watttime:CAISO_NORTH",
        f"{prefix}:lastgood:carbon_intensity:watttime:CAISO_NORTH",
    ]
    # Another zone, provider or source is another entry.
    assert cache.get("carbon_intensity", "watttime", "CAISO_SOUTH") is None
    assert cache.get("carbon_intensity", "electricitymaps", "CAISO_NORTH") is None
    assert cache.get("air_quality", "watttime", "CAISO_NORTH") is None


def test_odd_targets_are_escaped_deterministically_and_never_collide(cache):
    assert (
        cache_key("air_quality", "airnow", "SW1A 1AA", prefix="enrich")
        == "enrich:cache:air_quality:airnow:SW1A%201AA"
    )
    assert (
        last_good_key("air_quality", "airnow", "51.5074,-0.1278", prefix="enrich")
        == "enrich:lastgood:air_quality:airnow:51.5074%2C-0.1278"
    )
    # The separator inside a part cannot make two different answers share a key.
    assert cache_key("occupancy", "a:b", "c", prefix="p") != cache_key(
        "occupancy", "a", "b:c", prefix="p"
    )

    targets = ["SW1A 1AA", "51.5074,-0.1278", "-33.86:151.2", "tariff/AGILE-24-10-01", "a*b?"]
    for i, target in enumerate(targets):
        cache.put("air_quality", "airnow", target, {"i": i})
    for i, target in enumerate(targets):
        assert cache.get("air_quality", "airnow", target).value == {"i": i}


def test_default_ttls_match_the_prd():
    assert settings.CACHE_TTL_SECONDS == {
        "carbon_intensity": 15 * 60,
        "electricity_pricing": 60 * 60,
        "air_quality": 60 * 60,
        "smart_meter": 5 * 60,
        "occupancy": 15 * 60,
    }
    cache = ResponseCache()
    assert cache.ttl_for("carbon_intensity") == 900
    assert cache.ttl_for("smart_meter") == 300


def _settings_in_subprocess(**env):
    code = "import json; from config import settings; print(json.dumps(settings.CACHE_TTL_SECONDS))"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_ttl_is_overridable_by_environment():
    result = _settings_in_subprocess(CACHE_TTL_CARBON_INTENSITY_SECONDS="60")
    assert result.returncode == 0, result.stderr
    ttls = json.loads(result.stdout)
    assert ttls["carbon_intensity"] == 60
    assert ttls["electricity_pricing"] == 3600


@pytest.mark.parametrize("bad", ["0", "-5", "ten"])
def test_bad_ttl_in_environment_stops_with_its_name(bad):
    result = _settings_in_subprocess(CACHE_TTL_AIR_QUALITY_SECONDS=bad)
    assert result.returncode != 0
    assert "CACHE_TTL_AIR_QUALITY_SECONDS" in result.stderr


def test_unknown_source_is_a_clear_error(cache):
    with pytest.raises(ValueError, match=r"Unknown cache source 'weather'.*carbon_intensity"):
        cache.get("weather", "owm", "London")
    with pytest.raises(ValueError, match="CACHE_TTL_SECONDS"):
        cache.put("weather", "owm", "London", {"t": 10})


def test_bad_values_are_refused_with_a_reason(cache):
    with pytest.raises(TypeError, match="must be JSON"):
        cache.put("carbon_intensity", "watttime", "PJM", {"at": datetime.now(UTC)})
    with pytest.raises(ValueError, match="timezone-aware"):
        cache.put("carbon_intensity", "watttime", "PJM", 1, fetched_at=datetime.now())
    with pytest.raises(ValueError, match="ttl must be above 0"):
        cache.put("carbon_intensity", "watttime", "PJM", 1, ttl=0)
    assert cache.last_good("carbon_intensity", "watttime", "PJM") is None


def test_redis_down_raises_cache_unavailable_naming_the_url(prefix):
    url = f"redis://127.0.0.1:{free_port()}/15"
    cache = ResponseCache(url, prefix=prefix)
    for call in (
        lambda: cache.get("carbon_intensity", "watttime", "PJM"),
        lambda: cache.last_good("carbon_intensity", "watttime", "PJM"),
        lambda: cache.put("carbon_intensity", "watttime", "PJM", {"v": 1}),
    ):
        with pytest.raises(CacheUnavailable) as error:
            call()
        assert f"REDIS_URL={url}" in str(error.value)
        assert "Start Redis" in str(error.value)


def test_redis_down_message_hides_the_password(prefix):
    url = f"redis://worker:s3cret@127.0.0.1:{free_port()}/15"
    with pytest.raises(CacheUnavailable) as error:
        ResponseCache(url, prefix=prefix).get("carbon_intensity", "watttime", "PJM")
    assert "s3cret" not in str(error.value)
    assert "redis://worker:***@127.0.0.1:" in str(error.value)
