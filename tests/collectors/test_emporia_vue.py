"""Emporia Vue adapter against the replay server: Cognito SRP login checked with the server's
side of the SRP math, token refresh, usage shapes, nulls, backfill and the request budget."""

import base64
import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta

import pytest

from collectors.base import ConfigError, Credentials, Window
from collectors.smart_meter import cognito
from collectors.smart_meter.emporia_vue import EmporiaVueAdapter
from enrich.http import AuthError, MalformedResponse, TransientError
from tests.collectors.scenarios_smart_meter import (
    COGNITO_PATH,
    EMPORIA_NOW,
    SITE,
    USAGE,
    emporia_credentials,
    emporia_routes,
)

POOL = "us-east-2_ghlOXVLi1"
USER_ID = "5e3c1f7a-2b9d-4c8e-9f10-3a7b6c5d4e21"
PASSWORD = "vue-password-1"
# The server's secret b behind SRP_B in tests/fixtures/emporia/cognito_challenge.json.
SERVER_B = int(
    "a0156753e01f57ec43b0ae1524da8c9bee6c4aa89337f4898d6ee591ef26790043d3c80898c25a16443f2a20d7e9"
    "0d5040b0667fb69a6627d28582d7a78152827931f0ab2dc216284f12329bbdc304f96ce201f042782f7f7ff00974"
    "640074cdd5014eb63fa7d7edd1ac9f6695d85bf27c4e370663a37843b64db95efa2d1055",
    16,
)
FIVE_MINUTES = timedelta(minutes=5)


@pytest.fixture(autouse=True)
def fast_retries(settings):
    settings.HTTP_BACKOFF_SECONDS = 0.01
    settings.HTTP_MAX_RETRIES = 1


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def window(now=EMPORIA_NOW, span=FIVE_MINUTES) -> Window:
    return Window(start=now - span, end=now, now=now)


def fetch(server, adapter=None, credentials=None, win=None):
    adapter = adapter or EmporiaVueAdapter()
    credentials = credentials or emporia_credentials(server)
    target = adapter.target(SITE, credentials)
    return adapter.fetch(target, credentials, win or window())


def server_expected_signature(challenge: dict, srp_a_hex: str, timestamp: str) -> str:
    """Cognito's side: v = g^x, S = (A * v^u)^b, the same HKDF and HMAC, from the password."""
    params = challenge["ChallengeParameters"]
    big_a, big_b = int(srp_a_hex, 16), int(params["SRP_B"], 16)
    inner = hashlib.sha256(f"{POOL.split('_')[1]}{USER_ID}:{PASSWORD}".encode()).hexdigest()
    x = cognito.hash_hex(cognito.padded_hex(params["SALT"]) + inner)
    v = pow(cognito.G, x, cognito.N)
    assert big_b == (cognito.K * v + pow(cognito.G, SERVER_B, cognito.N)) % cognito.N
    u = cognito.hash_hex(cognito.padded_hex(big_a) + cognito.padded_hex(big_b))
    s = pow(big_a * pow(v, u, cognito.N), SERVER_B, cognito.N)
    prk = hmac.new(
        bytes.fromhex(cognito.padded_hex(u)), bytes.fromhex(cognito.padded_hex(s)), "sha256"
    ).digest()
    key = hmac.new(prk, b"Caldera Derived Key\x01", "sha256").digest()[:16]
    message = (
        b"ghlOXVLi1"
        + USER_ID.encode()
        + base64.b64decode(params["SECRET_BLOCK"])
        + timestamp.encode()
    )
    return base64.b64encode(hmac.new(key, message, "sha256").digest()).decode()


def power(result, measurement, device, circuit=None):
    found = [
        r
        for r in result.readings
        if r.measurement == measurement
        and r.tags["device"] == device
        and r.tags.get("circuit") == circuit
    ]
    assert len(found) == 1, found
    return found[0]


# --- login ---


def test_srp_login_sends_a_proof_the_server_side_math_accepts(replay_server):
    emporia_routes(replay_server)
    fetch(replay_server)
    initiate, respond = replay_server.calls("POST", COGNITO_PATH)
    for call, action in ((initiate, "InitiateAuth"), (respond, "RespondToAuthChallenge")):
        assert call.headers["X-Amz-Target"] == f"AWSCognitoIdentityProviderService.{action}"
        assert call.headers["Content-Type"] == "application/x-amz-json-1.1"
    start = initiate.json()
    assert start["AuthFlow"] == "USER_SRP_AUTH"
    assert start["ClientId"] == "4qte47jbstod8apnfic0bunmrq"
    assert start["AuthParameters"]["USERNAME"] == "Vue.Owner@example.com"
    assert "PASSWORD" not in start["AuthParameters"]  # only a proof of it leaves the process
    answer = respond.json()
    assert answer["ChallengeName"] == "PASSWORD_VERIFIER"
    responses = answer["ChallengeResponses"]
    challenge = replay_server.load_fixture("emporia/cognito_challenge.json")
    assert responses["USERNAME"] == USER_ID
    assert (
        responses["PASSWORD_CLAIM_SECRET_BLOCK"] == challenge["ChallengeParameters"]["SECRET_BLOCK"]
    )
    assert re.fullmatch(
        r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [1-9]\d? \d\d:\d\d:\d\d UTC \d{4}",
        responses["TIMESTAMP"],
    )
    expected = server_expected_signature(
        challenge, start["AuthParameters"]["SRP_A"], responses["TIMESTAMP"]
    )
    assert responses["PASSWORD_CLAIM_SIGNATURE"] == expected
    # The API calls carry the id token in `authtoken`.
    assert {r.headers["authtoken"] for r in replay_server.calls("GET")} == {
        "eyJraWQiOiJpZCIsImFsZyI6IlJTMjU2In0.id-one.sig"
    }


def test_a_wrong_password_gives_a_proof_the_server_rejects(replay_server):
    replay_server.add(
        "POST", "/c", json=replay_server.load_fixture("emporia/cognito_challenge.json")
    )
    replay_server.add("POST", "/c", json=replay_server.load_fixture("emporia/cognito_tokens.json"))
    cognito.Cognito("emporia_vue", replay_server.url_for("/c"), POOL, "client").login(
        "Vue.Owner@example.com", "not-the-password"
    )
    initiate, respond = (r.json() for r in replay_server.calls("POST", "/c"))
    challenge = replay_server.load_fixture("emporia/cognito_challenge.json")
    responses = respond["ChallengeResponses"]
    expected = server_expected_signature(
        challenge, initiate["AuthParameters"]["SRP_A"], responses["TIMESTAMP"]
    )
    assert responses["PASSWORD_CLAIM_SIGNATURE"] != expected


def test_timestamp_is_cognitos_format_without_day_padding():
    assert (
        cognito.timestamp(datetime(2026, 5, 1, 4, 5, 3, tzinfo=UTC))
        == "Fri May 1 04:05:03 UTC 2026"
    )


def test_refused_password_is_an_auth_error_that_says_what_to_do(replay_server):
    replay_server.add(
        "POST",
        COGNITO_PATH,
        status=400,
        json=replay_server.load_fixture("emporia/cognito_not_authorized.json"),
        headers={"Content-Type": "application/x-amz-json-1.1"},
    )
    with pytest.raises(AuthError) as caught:
        fetch(replay_server)
    assert "METER_PASSWORD" in str(caught.value) and "Incorrect username" in str(caught.value)
    assert len(replay_server.calls("POST", COGNITO_PATH)) == 1  # not retried
    assert not replay_server.calls("GET")


def test_mfa_challenge_is_a_clear_auth_error(replay_server):
    replay_server.add(
        "POST", COGNITO_PATH, json=replay_server.load_fixture("emporia/cognito_challenge.json")
    )
    replay_server.add(
        "POST", COGNITO_PATH, json=replay_server.load_fixture("emporia/cognito_mfa_challenge.json")
    )
    with pytest.raises(AuthError, match="SOFTWARE_TOKEN_MFA.*Emporia app"):
        fetch(replay_server)


def test_401_refreshes_the_token_and_retries_once(replay_server):
    replay_server.add(
        "POST", COGNITO_PATH, json=replay_server.load_fixture("emporia/cognito_challenge.json")
    )
    replay_server.add(
        "POST", COGNITO_PATH, json=replay_server.load_fixture("emporia/cognito_tokens.json")
    )
    replay_server.add(
        "POST", COGNITO_PATH, json=replay_server.load_fixture("emporia/cognito_refreshed.json")
    )
    replay_server.add(
        "GET", "/customers/devices", status=401, json={"message": "Unauthorized"}, times=1
    )
    emporia_routes_without_login(replay_server)
    result = fetch(replay_server)
    refresh = replay_server.calls("POST", COGNITO_PATH)[2].json()
    assert refresh["AuthFlow"] == "REFRESH_TOKEN_AUTH"
    assert refresh["AuthParameters"] == {
        "REFRESH_TOKEN": "eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIn0.refresh-one"
    }
    devices = replay_server.calls("GET", "/customers/devices")
    assert [r.headers["authtoken"][-10:] for r in devices] == ["id-one.sig", "id-two.sig"]
    assert result.readings


def emporia_routes_without_login(server) -> None:
    server.add("GET", "/customers/devices", json=server.load_fixture("emporia/devices.json"))
    server.add(
        "GET",
        "/AppAPI",
        query={**USAGE, "scale": "1MIN"},
        json=server.load_fixture("emporia/usage_1min.json"),
    )
    server.add(
        "GET",
        "/AppAPI",
        query={**USAGE, "scale": "1D"},
        json=server.load_fixture("emporia/usage_1day.json"),
    )


def test_a_second_401_after_the_refresh_is_an_auth_error(replay_server):
    replay_server.add(
        "POST", COGNITO_PATH, json=replay_server.load_fixture("emporia/cognito_challenge.json")
    )
    replay_server.add(
        "POST", COGNITO_PATH, json=replay_server.load_fixture("emporia/cognito_tokens.json")
    )
    replay_server.add(
        "POST", COGNITO_PATH, json=replay_server.load_fixture("emporia/cognito_refreshed.json")
    )
    replay_server.add("GET", "/customers/devices", status=401, json={"message": "Unauthorized"})
    with pytest.raises(AuthError):
        fetch(replay_server)
    assert len(replay_server.calls("GET", "/customers/devices")) == 2


def test_token_is_renewed_before_it_expires_and_a_refused_refresh_logs_in_again(replay_server):
    clock = Clock()
    adapter = EmporiaVueAdapter(clock=clock)
    emporia_routes(replay_server)
    fetch(replay_server, adapter)
    assert len(replay_server.calls("POST", COGNITO_PATH)) == 2
    clock.now += 3600 - 299  # inside the last 5 minutes of the hour-long token
    replay_server.add(
        "POST",
        COGNITO_PATH,
        status=400,
        json=replay_server.load_fixture("emporia/cognito_not_authorized.json"),
    )
    replay_server.add(
        "POST", COGNITO_PATH, json=replay_server.load_fixture("emporia/cognito_challenge.json")
    )
    replay_server.add(
        "POST", COGNITO_PATH, json=replay_server.load_fixture("emporia/cognito_tokens.json")
    )
    fetch(replay_server, adapter)
    flows = [
        r.json().get("AuthFlow", "challenge") for r in replay_server.calls("POST", COGNITO_PATH)
    ]
    assert flows == [
        "USER_SRP_AUTH",
        "challenge",
        "REFRESH_TOKEN_AUTH",
        "USER_SRP_AUTH",
        "challenge",
    ]


# --- usage ---


def test_minute_usage_becomes_watts_per_device_and_circuit(replay_server):
    emporia_routes(replay_server)
    result = fetch(replay_server)
    minute = datetime(2026, 5, 1, 14, 5, tzinfo=UTC)
    assert {r.time for r in result.readings} == {minute}
    home = power(result, "smart_meter", "Main panel")
    # 0.0186 kWh in one minute = 0.0186 * 60 * 1000 W on average
    assert home.fields["total_power_w"] == pytest.approx(1116.0)
    assert home.fields["daily_kwh"] == pytest.approx(18.42)
    assert home.tags == {
        "meter_type": "emporia_vue",
        "device": "Main panel",
        "device_gid": "1234",
        "provider": "emporia_vue",
    }
    plug = power(result, "smart_meter", "Office plug")  # a nested device is a device of its own
    assert plug.fields == pytest.approx({"total_power_w": 126.0, "daily_kwh": 1.23})
    assert plug.tags["device_gid"] == "2345"
    circuits = {
        r.tags["circuit"]: r.fields
        for r in result.readings
        if r.measurement == "smart_meter_circuit"
    }
    assert set(circuits) == {"Dryer", "Solar", "Furnace", "Balance"}
    assert circuits["Solar"]["power_w"] == pytest.approx(-2490.0)  # exporting solar stays negative
    assert circuits["Furnace"] == pytest.approx({"power_w": 432.0, "percentage": 38.7})
    assert circuits["Balance"] == pytest.approx({"power_w": 24.0, "percentage": 2.0})
    assert circuits["Dryer"] == {"power_w": 0.0, "percentage": 0.0}
    usage = replay_server.calls("GET", "/AppAPI")[0].query
    assert usage == {
        "apiMethod": "getDeviceListUsages",
        "deviceGids": "1234+2345",
        "instant": "2026-05-01T14:05:00.000Z",
        "scale": "1MIN",
        "energyUnit": "KilowattHours",
    }
    # Whole home = the top-level Vue (the plug is inside its mains).
    assert result.current["total_power_w"] == pytest.approx(1116.0)
    assert result.current["time"] == "2026-05-01T14:05:00+00:00"


def test_null_usage_is_asked_again_then_skipped_never_zero(replay_server):
    emporia_routes(replay_server, usage="emporia/usage_1min_null.json")
    replay_server.add(
        "GET",
        "/AppAPI",
        query={**USAGE, "scale": "1MIN"},
        json=replay_server.load_fixture("emporia/usage_1min_null_again.json"),
    )
    result = fetch(replay_server)
    minute_calls = [r for r in replay_server.calls("GET", "/AppAPI") if r.query["scale"] == "1MIN"]
    assert len(minute_calls) == 3  # bounded: three tries
    circuits = {
        r.tags["circuit"] for r in result.readings if r.measurement == "smart_meter_circuit"
    }
    assert "Furnace" not in circuits  # still null after three tries: nothing written
    assert circuits == {"Dryer", "Solar", "Balance"}
    plug = power(result, "smart_meter", "Office plug")  # filled in by the second try
    assert plug.fields["total_power_w"] == pytest.approx(126.0)


def test_null_usage_filled_by_a_retry_is_kept(replay_server):
    emporia_routes(replay_server, usage="emporia/usage_1min_null.json")
    replay_server.add(
        "GET",
        "/AppAPI",
        query={**USAGE, "scale": "1MIN"},
        json=replay_server.load_fixture("emporia/usage_1min.json"),
    )
    result = fetch(replay_server)
    assert power(result, "smart_meter_circuit", "Main panel", "Furnace").fields[
        "power_w"
    ] == pytest.approx(432.0)
    assert (
        len([r for r in replay_server.calls("GET", "/AppAPI") if r.query["scale"] == "1MIN"]) == 2
    )


def test_malformed_usage_is_refused(replay_server):
    emporia_routes(replay_server)
    bad = replay_server.load_fixture("emporia/usage_1min.json")
    bad["deviceListUsages"]["devices"][0]["channelUsages"][1]["usage"] = "0.01"
    replay_server.add(
        "GET",
        "/AppAPI",
        query={**USAGE, "scale": "1MIN", "instant": "2026-05-01T14:05:00.000Z"},
        json=bad,
    )
    with pytest.raises(MalformedResponse, match="usage should be a number"):
        fetch(replay_server)


# --- backfill ---


def test_after_an_outage_the_mains_are_backfilled_from_chart_usage(replay_server):
    emporia_routes(replay_server)
    replay_server.add(
        "GET",
        "/AppAPI",
        query={"apiMethod": "getChartUsage"},
        json=replay_server.load_fixture("emporia/chart_usage.json"),
    )
    start = datetime(2026, 5, 1, 13, 40, tzinfo=UTC)
    result = fetch(replay_server, win=Window(start=start, end=EMPORIA_NOW, now=EMPORIA_NOW))
    charts = [
        r for r in replay_server.calls("GET", "/AppAPI") if r.query["apiMethod"] == "getChartUsage"
    ]
    assert len(charts) == 1  # only the top-level device's mains: one call
    assert charts[0].query == {
        "apiMethod": "getChartUsage",
        "deviceGid": "1234",
        "channel": "1,2,3",
        "start": "2026-05-01T13:40:00.000Z",
        "end": "2026-05-01T14:05:00.000Z",
        "scale": "1MIN",
        "energyUnit": "KilowattHours",
    }
    homes = sorted(
        (
            r
            for r in result.readings
            if r.measurement == "smart_meter" and r.tags["device"] == "Main panel"
        ),
        key=lambda r: r.time,
    )
    times = [r.time for r in homes]
    assert len(homes) == 25  # 24 backfilled minutes (13:42 had no data) + the live 14:05
    assert datetime(2026, 5, 1, 13, 42, tzinfo=UTC) not in times  # a gap stays a gap
    assert times[0] == start and times[-1] == datetime(2026, 5, 1, 14, 5, tzinfo=UTC)
    assert homes[0].fields == {"total_power_w": pytest.approx(726.0)}  # 0.0121 kWh/min
    assert homes[-2].fields == {"total_power_w": pytest.approx(1110.0)}  # 14:04: 0.0185


def test_backfill_is_bounded_to_a_day_and_skipped_in_normal_runs(replay_server):
    emporia_routes(replay_server)
    replay_server.add(
        "GET",
        "/AppAPI",
        query={"apiMethod": "getChartUsage"},
        json={"firstUsageInstant": "2026-04-30T14:06:00Z", "usageList": []},
    )
    adapter = EmporiaVueAdapter()
    fetch(replay_server, adapter)  # a normal 5-minute window
    assert not [
        r for r in replay_server.calls("GET", "/AppAPI") if r.query["apiMethod"] == "getChartUsage"
    ]
    fetch(replay_server, adapter, win=window(span=timedelta(days=3)))
    chart = [
        r for r in replay_server.calls("GET", "/AppAPI") if r.query["apiMethod"] == "getChartUsage"
    ]
    assert chart[0].query["start"] == "2026-04-30T14:06:00.000Z"


def test_a_failing_chart_call_is_transient(replay_server):
    emporia_routes(replay_server)
    replay_server.add(
        "GET", "/AppAPI", query={"apiMethod": "getChartUsage"}, status=503, body="busy"
    )
    with pytest.raises(TransientError):
        fetch(replay_server, win=window(span=timedelta(hours=2)))


# --- budget ---


def test_budget_attributes():
    adapter = EmporiaVueAdapter()
    assert (adapter.budget, adapter.budget_scope, adapter.calls_per_fetch) == (
        "2000/day",
        "account",
        2,
    )
    assert adapter.history == timedelta(days=1)


def test_five_minute_fetches_stay_far_under_emporias_2000_requests_a_day(replay_server):
    """Six hours of fetches (a quarter day, to keep the test short): 72 minute calls, 24 day
    totals, 6 device lists = 102 requests, so 408 a day, within calls_per_fetch = 2."""
    clock = Clock()
    adapter = EmporiaVueAdapter(clock=clock)
    emporia_routes(replay_server)
    replay_server.add(
        "POST", COGNITO_PATH, json=replay_server.load_fixture("emporia/cognito_refreshed.json")
    )
    now = EMPORIA_NOW
    for _ in range(72):
        fetch(replay_server, adapter, win=window(now))
        now += FIVE_MINUTES
        clock.now += 300
    api = replay_server.calls("GET")
    minute = [r for r in api if r.path == "/AppAPI" and r.query["scale"] == "1MIN"]
    day = [r for r in api if r.path == "/AppAPI" and r.query["scale"] == "1D"]
    devices = replay_server.calls("GET", "/customers/devices")
    assert (len(minute), len(day), len(devices)) == (72, 24, 6)
    assert len(api) * 4 == 408 <= 2 * 288  # a day; what calls_per_fetch = 2 promises
    refreshes = [r for r in replay_server.calls("POST", COGNITO_PATH) if "REFRESH" in r.text]
    assert len(refreshes) == 6  # the hour-long id token renewed hourly, no new logins


def test_missing_credentials_are_a_config_error():
    with pytest.raises(ConfigError, match="METER_USERNAME and METER_PASSWORD"):
        EmporiaVueAdapter().target(SITE, Credentials(username="a@example.com"))
