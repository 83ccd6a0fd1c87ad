"""Emporia Vue adapter against the replay server: Cognito SRP login checked with the server's
side of the SRP math, login and renewal against moto's cognito-idp server, token refresh,
usage shapes, every minute of the mains, nulls, backfill, the request budget, and two pipeline
runs into the real InfluxDB."""

import base64
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer
from pycognito.aws_srp import AWSSRP

from collectors import pipeline, registry
from collectors.base import ConfigError, Credentials, Window
from collectors.smart_meter.emporia import cognito
from collectors.smart_meter.emporia.adapter import EmporiaVueAdapter
from enrich.http import AuthError, MalformedResponse, TransientError
from enrich.influx import get_timeseries
from enrich.models import ProviderConfig, Site
from enrich.redis.client import get_redis
from tests.collectors.scenarios_smart_meter import (
    CHART,
    COGNITO_PATH,
    EMPORIA_NOW,
    MAINS_MINUTES,
    MINUTE_USAGE,
    SITE,
    USAGE,
    answer_app_api,
    cognito_answers,
    emporia_config,
    emporia_credentials,
    emporia_routes,
    emporia_routes_without_login,
    mains_minutes,
)
from tests.support.isolation import fresh_database
from tests.support.replay import load_fixture

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
MINUTE = timedelta(minutes=1)
MAINS_CHART = {"apiMethod": "getChartUsage"}


def t(hour: int, minute: int) -> datetime:
    return datetime(2026, 5, 1, hour, minute, tzinfo=UTC)


def api_calls(server, **query):
    """/AppAPI requests whose query holds all of `query`."""
    return [
        r
        for r in server.calls("GET", "/AppAPI")
        if all(r.query.get(k) == v for k, v in query.items())
    ]


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


# Cognito's side of the SRP math, written here from RFC 5054 (3072-bit group, g = 2, SHA-256)
# and Cognito's HKDF, independently of pycognito's client side that the adapter uses.
N = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C"
    "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF",
    16,
)
G = 2


def padded(value: int | str) -> bytes:
    """A positive number as Cognito hashes it: even-length hex, 00 first when the top bit is
    set (read as positive, like Java's BigInteger)."""
    text = value if isinstance(value, str) else f"{value:x}"
    if len(text) % 2:
        text = "0" + text
    elif text[0] in "89abcdefABCDEF":
        text = "00" + text
    return bytes.fromhex(text)


def sha256_int(data: bytes) -> int:
    return int(hashlib.sha256(data).hexdigest(), 16)


def server_expected_signature(challenge: dict, srp_a_hex: str, timestamp: str) -> str:
    """Cognito's side: v = g^x, S = (A * v^u)^b, the same HKDF and HMAC, from the password."""
    params = challenge["ChallengeParameters"]
    big_a, big_b = int(srp_a_hex, 16), int(params["SRP_B"], 16)
    inner = hashlib.sha256(f"{POOL.split('_')[1]}{USER_ID}:{PASSWORD}".encode()).hexdigest()
    x = sha256_int(padded(params["SALT"]) + bytes.fromhex(inner))
    v = pow(G, x, N)
    k = sha256_int(padded(N) + padded(G))
    assert big_b == (k * v + pow(G, SERVER_B, N)) % N
    u = sha256_int(padded(big_a) + padded(big_b))
    s = pow(big_a * pow(v, u, N), SERVER_B, N)
    prk = hmac.new(padded(u), padded(s), "sha256").digest()
    key = hmac.new(prk, b"Caldera Derived Key\x01", "sha256").digest()[:16]
    message = (
        b"ghlOXVLi1"
        + USER_ID.encode()
        + base64.b64decode(params["SECRET_BLOCK"])
        + timestamp.encode()
    )
    return base64.b64encode(hmac.new(key, message, "sha256").digest()).decode()


def power(result, measurement, device, circuit=None, at=None):
    found = [
        r
        for r in result.readings
        if r.measurement == measurement
        and r.tags["device"] == device
        and r.tags.get("circuit") == circuit
        and (at is None or r.time == at)
    ]
    assert len(found) == 1, found
    return found[0]


def home_minutes(result, device="Main panel") -> dict[datetime, float]:
    found = [
        r for r in result.readings if r.measurement == "smart_meter" and r.tags["device"] == device
    ]
    minutes = {r.time: r.fields["total_power_w"] for r in found}
    assert len(minutes) == len(found), "one whole-home reading per minute"
    return minutes


# --- login ---


def two_runs_answers(server) -> None:
    """The answers of two runs five minutes apart: in the first, the mains chart from 13:56
    whose last two minutes are not ready yet (null); in the second, circuits at 14:10 and the
    mains chart from 14:01 whose last minute is not ready yet."""
    emporia_routes(server)
    answer_app_api(
        server,
        {**CHART, "end": "2026-05-01T14:06:00.000Z"},
        json={
            "firstUsageInstant": "2026-05-01T13:56:00Z",
            "usageList": [0.0171, 0.0174, 0.0169, 0.0180, 0.0177, 0.0182, 0.0179, 0.0183]
            + [None, None],
        },
    )
    second_usage = server.load_fixture("emporia/usage_1min.json")
    second_usage["deviceListUsages"]["instant"] = "2026-05-01T14:10:00Z"
    answer_app_api(
        server, {**MINUTE_USAGE, "instant": "2026-05-01T14:10:00.000Z"}, json=second_usage
    )
    answer_app_api(
        server,
        {**MAINS_CHART, "start": "2026-05-01T14:01:00.000Z"},
        json={
            "firstUsageInstant": "2026-05-01T14:01:00Z",
            "usageList": [0.0182, 0.0179, 0.0183, 0.0185, 0.0186, 0.02, 0.021, 0.022, 0.023, None],
        },
    )


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
    cognito_answers(replay_server, "challenge", "tokens", path="/c")
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


def test_a_challenge_with_b_zero_mod_n_is_refused_before_any_proof(replay_server):
    challenge = replay_server.load_fixture("emporia/cognito_challenge.json")
    challenge["ChallengeParameters"]["SRP_B"] = f"{2 * N:x}"  # would make the key guessable
    replay_server.add("POST", "/c", json=challenge)
    with pytest.raises(MalformedResponse, match="SRP challenge is unusable"):
        cognito.Cognito("emporia_vue", replay_server.url_for("/c"), POOL, "client").login(
            "Vue.Owner@example.com", PASSWORD
        )
    assert len(replay_server.calls("POST", "/c")) == 1  # no RespondToAuthChallenge


def test_timestamp_is_cognitos_format_without_day_padding():
    # pycognito's format, used by the proof: English names whatever the process locale
    assert (
        AWSSRP.get_cognito_formatted_timestamp(datetime(2026, 5, 1, 4, 5, 3))
        == "Fri May 1 04:05:03 UTC 2026"
    )


def test_refused_password_is_an_auth_error_that_says_what_to_do(replay_server):
    cognito_answers(
        replay_server,
        "not_authorized",
        status=400,
        headers={"Content-Type": "application/x-amz-json-1.1"},
    )
    with pytest.raises(AuthError) as caught:
        fetch(replay_server)
    assert "METER_PASSWORD" in str(caught.value) and "Incorrect username" in str(caught.value)
    assert len(replay_server.calls("POST", COGNITO_PATH)) == 1  # not retried
    assert not replay_server.calls("GET")


def test_mfa_challenge_is_a_clear_auth_error(replay_server):
    cognito_answers(replay_server, "challenge", "mfa_challenge")
    with pytest.raises(AuthError, match="SOFTWARE_TOKEN_MFA.*Emporia app"):
        fetch(replay_server)


def test_401_refreshes_the_token_and_retries_once(replay_server):
    cognito_answers(replay_server, "challenge", "tokens", "refreshed")
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


def test_a_second_401_after_the_refresh_is_an_auth_error(replay_server):
    cognito_answers(replay_server, "challenge", "tokens", "refreshed")
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
    cognito_answers(replay_server, "not_authorized", status=400)
    cognito_answers(replay_server, "challenge", "tokens")
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


class Wall:
    """Wall-clock seconds the test moves by hand (the saved expiry is wall-clock time)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def saved_tokens(expires_at: float, account: str = "vue.owner@example.com") -> dict:
    tokens = replay_fixture_tokens()
    return {"account": account, **tokens, "expires_at": expires_at}


def replay_fixture_tokens() -> dict:
    result = load_fixture("emporia/cognito_tokens.json")["AuthenticationResult"]
    return {
        "id_token": result["IdToken"],
        "access_token": result["AccessToken"],
        "refresh_token": result["RefreshToken"],
    }


def with_session(server, session=None, reported=None) -> Credentials:
    on_renewed = (lambda r: reported.append(dict(r.session))) if reported is not None else None
    return replace(emporia_credentials(server), session=session or {}, on_renewed=on_renewed)


def test_a_login_is_reported_with_its_wall_clock_expiry(replay_server):
    emporia_routes(replay_server)
    wall, reported = Wall(), []
    fetch(replay_server, EmporiaVueAdapter(wall=wall), with_session(replay_server, None, reported))
    assert reported == [saved_tokens(wall.now + 3600)]


def test_saved_tokens_are_used_by_a_fresh_worker_without_logging_in(replay_server):
    emporia_routes_without_login(replay_server)
    wall, reported = Wall(), []
    credentials = with_session(replay_server, saved_tokens(wall.now + 1800), reported)
    result = fetch(replay_server, EmporiaVueAdapter(wall=wall), credentials)
    assert result.readings and replay_server.calls("POST", COGNITO_PATH) == []
    devices = replay_server.calls("GET", "/customers/devices")
    assert devices[0].headers["authtoken"].endswith("id-one.sig")
    assert reported == []  # nothing new to save


def test_saved_tokens_about_to_expire_are_refreshed_not_logged_in_again(replay_server):
    cognito_answers(replay_server, "refreshed")
    emporia_routes_without_login(replay_server)
    wall, reported = Wall(), []
    credentials = with_session(replay_server, saved_tokens(wall.now + 120), reported)
    fetch(replay_server, EmporiaVueAdapter(wall=wall), credentials)
    [refresh] = replay_server.calls("POST", COGNITO_PATH)
    assert refresh.json()["AuthFlow"] == "REFRESH_TOKEN_AUTH"
    assert [r["id_token"][-10:] for r in reported] == ["id-two.sig"]
    assert reported[0]["refresh_token"] == saved_tokens(0)["refresh_token"]


@pytest.mark.django_db
def test_the_pipeline_saves_renewed_tokens_and_hands_them_to_the_next_fetch(replay_server):
    site = Site.objects.create(name="Vue home", latitude=40.0, longitude=-75.0)
    config = ProviderConfig.objects.create(
        site=site,
        source="smart_meter",
        provider="emporia_vue",
        username="Vue.Owner@example.com",
        password=PASSWORD,
        options=dict(emporia_credentials(replay_server).options),
    )
    emporia_routes(replay_server)
    wall = Wall()
    credentials = pipeline.credentials(config, fetching=True)
    fetch(replay_server, EmporiaVueAdapter(wall=wall), credentials)  # logs in: saved
    config.refresh_from_db()
    assert config.saved_session() == saved_tokens(wall.now + 3600)

    replay_server.reset()
    emporia_routes_without_login(replay_server)
    again = pipeline.credentials(config, fetching=True)
    fetch(replay_server, EmporiaVueAdapter(wall=wall), again)  # a restarted worker
    assert replay_server.calls("POST", COGNITO_PATH) == []


def test_saved_tokens_of_another_account_are_not_used(replay_server):
    emporia_routes(replay_server)
    wall = Wall()
    other = with_session(replay_server, saved_tokens(wall.now + 1800, "previous@example.com"))
    fetch(replay_server, EmporiaVueAdapter(wall=wall), other)
    flows = [r.json().get("AuthFlow") for r in replay_server.calls("POST", COGNITO_PATH)]
    assert flows[0] == "USER_SRP_AUTH"


# --- against moto's Cognito ---


@pytest.fixture
def moto_cognito() -> Iterator[dict[str, str]]:
    """moto's cognito-idp server on loopback with a user pool, an app client and the Vue
    owner: the login and renewal as a Cognito server speaks them (moto does not check the
    SRP proof; the replay tests above check it with the server's side of the math)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}/"
    requests.post(f"{url}moto-api/reset", timeout=5).raise_for_status()
    idp = boto3.client(
        "cognito-idp",
        endpoint_url=url,
        region_name="us-east-2",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    policy = {"MinimumLength": 8, "RequireUppercase": False, "RequireSymbols": False}
    pool = idp.create_user_pool(PoolName="emporia", Policies={"PasswordPolicy": policy})
    pool_id = pool["UserPool"]["Id"]
    app = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="emporia-app")
    user = {"UserPoolId": pool_id, "Username": "Vue.Owner@example.com"}
    idp.admin_create_user(**user, TemporaryPassword="temporary-1")
    idp.admin_set_user_password(**user, Password=PASSWORD, Permanent=True)
    try:
        yield {
            "cognito_url": url,
            "user_pool_id": pool_id,
            "client_id": app["UserPoolClient"]["ClientId"],
        }
    finally:
        server.stop()


def claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_login_and_renewal_against_motos_cognito(replay_server, moto_cognito):
    emporia_routes_without_login(replay_server)
    clock, reported = Clock(), []
    credentials = replace(
        emporia_credentials(replay_server, **moto_cognito),
        on_renewed=lambda renewed: reported.append(dict(renewed.session)),
    )
    adapter = EmporiaVueAdapter(clock=clock)
    fetch(replay_server, adapter, credentials)
    first_run = len(replay_server.calls("GET"))
    [login] = reported
    assert claims(login["id_token"])["cognito:username"] == "Vue.Owner@example.com"
    assert claims(login["id_token"])["aud"] == moto_cognito["client_id"]
    assert claims(login["id_token"])["token_use"] == "id"
    clock.now += 3600 - 299  # inside the last 5 minutes of the hour-long token
    fetch(replay_server, adapter, credentials)
    login, renewal = reported
    assert renewal["id_token"] != login["id_token"]
    assert renewal["refresh_token"] == login["refresh_token"]  # a refresh keeps it
    tokens = [r.headers["authtoken"] for r in replay_server.calls("GET")]
    assert set(tokens[:first_run]) == {login["id_token"]}
    assert set(tokens[first_run:]) == {renewal["id_token"]}


def test_an_account_motos_cognito_does_not_know_is_an_auth_error(replay_server, moto_cognito):
    emporia_routes_without_login(replay_server)
    credentials = replace(
        emporia_credentials(replay_server, **moto_cognito), username="nobody@example.com"
    )
    with pytest.raises(AuthError, match="METER_PASSWORD.*UserNotFoundException"):
        fetch(replay_server, credentials=credentials)
    assert not replay_server.calls("GET")


# --- usage ---


def test_circuits_and_nested_devices_are_the_minute_of_the_device_list_usage(replay_server):
    emporia_routes(replay_server)
    result = fetch(replay_server)
    minute = t(14, 5)
    home = power(result, "smart_meter", "Main panel", at=minute)
    # 0.0186 kWh in one minute = 0.0186 * 60 * 1000 W on average
    assert home.fields["total_power_w"] == pytest.approx(1116.0)
    assert home.fields["daily_kwh"] == pytest.approx(18.42)
    assert home.tags == {
        "meter_type": "emporia_vue",
        "device": "Main panel",
        "device_gid": "1234",
        "provider": "emporia_vue",
        "site": "Home",  # two homes' meters never share a series
    }
    plug = power(result, "smart_meter", "Office plug")  # a nested device is a device of its own
    assert plug.time == minute
    assert plug.fields == pytest.approx({"total_power_w": 126.0, "daily_kwh": 1.23})
    assert plug.tags["device_gid"] == "2345"
    circuit_rows = [r for r in result.readings if r.measurement == "smart_meter_circuit"]
    assert {r.time for r in circuit_rows} == {minute}  # circuits: that one minute only
    circuits = {r.tags["circuit"]: r.fields for r in circuit_rows}
    assert set(circuits) == {"Dryer", "Solar", "Furnace", "Balance"}
    assert circuits["Solar"]["power_w"] == pytest.approx(-2490.0)  # exporting solar stays negative
    assert circuits["Furnace"] == pytest.approx({"power_w": 432.0, "percentage": 38.7})
    assert circuits["Balance"] == pytest.approx({"power_w": 24.0, "percentage": 2.0})
    assert circuits["Dryer"] == {"power_w": 0.0, "percentage": 0.0}
    (usage,) = api_calls(replay_server, **MINUTE_USAGE)
    assert usage.query == {
        "apiMethod": "getDeviceListUsages",
        "deviceGids": "1234+2345",
        "instant": "2026-05-01T14:05:00.000Z",
        "scale": "1MIN",
        "energyUnit": "KilowattHours",
    }
    # Whole home = the top-level Vue (the plug is inside its mains).
    assert result.current["total_power_w"] == pytest.approx(1116.0)
    assert result.current["time"] == "2026-05-01T14:05:00+00:00"


def test_whole_panel_channels_are_no_circuits(replay_server):
    """Emporia answers `MainsFromGrid`, `MainsToGrid` and `TotalUsage` beside the mains
    (external_apis.md, Emporia: special channel numbers): figures of the whole panel. Stored
    as circuits they counted the home twice in the circuits' sum (and as a 100 % "circuit")."""
    usage = replay_server.load_fixture("emporia/usage_1min.json")
    channels = usage["deviceListUsages"]["devices"][0]["channelUsages"]
    aggregates = {"MainsFromGrid": 0.0186, "MainsToGrid": 0.0, "TotalUsage": 0.0601}
    for number, kwh in aggregates.items():
        channels.append(
            {"name": number, "usage": kwh, "deviceGid": 1234, "channelNum": number,
             "percentage": kwh / 0.0186 * 100, "nestedDevices": []}
        )  # fmt: skip
    answer_app_api(replay_server, MINUTE_USAGE, json=usage)  # before the usual answers
    emporia_routes(replay_server)
    result = fetch(replay_server)
    circuits = {
        r.tags["circuit"]: r.fields["power_w"]
        for r in result.readings
        if r.measurement == "smart_meter_circuit"
    }
    assert circuits == pytest.approx(
        {"Dryer": 0.0, "Solar": -2490.0, "Furnace": 432.0, "Balance": 24.0}
    )
    home = power(result, "smart_meter", "Main panel", at=t(14, 5))
    assert home.fields["total_power_w"] == pytest.approx(1116.0)  # the mains, as before
    assert result.current["total_power_w"] == pytest.approx(1116.0)


def test_the_whole_home_has_every_minute_of_the_window(replay_server):
    emporia_routes(replay_server)
    result = fetch(replay_server)  # window 14:01:30 .. 14:06:30
    (chart,) = api_calls(replay_server, **MAINS_CHART)  # one call for the one Vue
    assert chart.query == {
        "apiMethod": "getChartUsage",
        "deviceGid": "1234",
        "channel": "1,2,3",
        "start": "2026-05-01T13:56:00.000Z",  # 14:01 less 5 minutes asked again
        "end": "2026-05-01T14:06:00.000Z",
        "scale": "1MIN",
        "energyUnit": "KilowattHours",
    }
    # chart_usage_live.json's minutes
    assert home_minutes(result) == pytest.approx(mains_minutes(t(13, 56), t(14, 5)))
    assert home_minutes(result, "Office plug") == pytest.approx({t(14, 5): 126.0})
    assert result.current["devices"]["Main panel"]["total_power_w"] == pytest.approx(1116.0)


def test_null_minutes_of_the_chart_are_left_out_and_written_by_the_next_run(replay_server, caplog):
    """Two runs 5 minutes apart with the pipeline's windows (start = now - interval): the
    minutes still null at the end of the first run are in the second run's chart."""
    two_runs_answers(replay_server)
    later = EMPORIA_NOW + FIVE_MINUTES
    adapter = EmporiaVueAdapter()
    caplog.set_level("DEBUG", logger="collectors.smart_meter.emporia")
    first = fetch(replay_server, adapter, win=window(EMPORIA_NOW))
    # 14:04 null: left out, not 0; 14:05 null in the chart but in the device list usage.
    assert home_minutes(first) == pytest.approx(
        mains_minutes(t(13, 56), t(14, 5), left_out={t(14, 4)})
    )
    assert (  # counted in words: it said "2 minute(s)"
        "emporia_vue: Main panel: 2 minutes of mains not ready since 2026-05-01T13:56:00+00:00; "
        "asked again next run"
    ) in caplog.messages
    second = fetch(replay_server, adapter, win=window(later))  # 14:06:30 .. 14:11:30
    assert api_calls(replay_server, **MAINS_CHART)[-1].query["start"] == "2026-05-01T14:01:00.000Z"
    # 14:04 picked up; 14:10 null in the chart: the device list usage's minute
    assert home_minutes(second) == pytest.approx(mains_minutes(t(14, 1), t(14, 10)))
    circuits = [r for r in second.readings if r.measurement == "smart_meter_circuit"]
    assert {r.time for r in circuits} == {t(14, 10)}
    assert len(circuits) == 4


def test_chart_values_that_are_not_numbers_are_refused(replay_server):
    emporia_routes(replay_server)
    answer_app_api(
        replay_server,
        {**CHART, "end": "2026-05-01T14:06:00.000Z"},
        json={"firstUsageInstant": "2026-05-01T13:56:00Z", "usageList": [0.0171, "0.0174"]},
    )
    with pytest.raises(MalformedResponse, match=r"usageList\[1\] should be a number or null"):
        fetch(replay_server)


def test_null_usage_is_asked_again_then_skipped_never_zero(replay_server, caplog):
    emporia_routes(replay_server, usage="emporia/usage_1min_null.json")
    answer_app_api(
        replay_server,
        MINUTE_USAGE,
        json=replay_server.load_fixture("emporia/usage_1min_null_again.json"),
    )
    caplog.set_level("INFO", logger="collectors.smart_meter.emporia")
    result = fetch(replay_server)
    # One channel, counted in words: it said "usage of 1 channel(s)".
    assert "emporia_vue: usage of 1 channel still not ready after 3 tries" in caplog.text
    assert len(api_calls(replay_server, **MINUTE_USAGE)) == 3  # bounded: three tries
    circuits = {
        r.tags["circuit"] for r in result.readings if r.measurement == "smart_meter_circuit"
    }
    assert "Furnace" not in circuits  # still null after three tries: nothing written
    assert circuits == {"Dryer", "Solar", "Balance"}
    plug = power(result, "smart_meter", "Office plug")  # filled in by the second try
    assert plug.fields["total_power_w"] == pytest.approx(126.0)


def test_a_device_whose_minute_stays_null_keeps_its_day_total(replay_server):
    """The plug's minute usage is null in all three tries, while the day total (1D) has its
    1.23 kWh: the whole home is left out, never 0 W, and today's kWh was dropped with it."""
    emporia_routes(replay_server, usage="emporia/usage_1min_null.json")
    result = fetch(replay_server)
    assert len(api_calls(replay_server, **MINUTE_USAGE)) == 3
    plug = power(result, "smart_meter", "Office plug")
    assert (plug.time, plug.fields) == (t(14, 5), {"daily_kwh": 1.23})
    assert result.current["devices"]["Office plug"]["daily_kwh"] == 1.23
    assert result.current["total_power_w"] == pytest.approx(1116.0)  # the Vue's, as before


def test_null_usage_filled_by_a_retry_is_kept(replay_server):
    emporia_routes(replay_server, usage="emporia/usage_1min_null.json")
    answer_app_api(
        replay_server, MINUTE_USAGE, json=replay_server.load_fixture("emporia/usage_1min.json")
    )
    result = fetch(replay_server)
    assert power(result, "smart_meter_circuit", "Main panel", "Furnace").fields[
        "power_w"
    ] == pytest.approx(432.0)
    assert len(api_calls(replay_server, **MINUTE_USAGE)) == 2


def test_malformed_usage_is_refused(replay_server):
    emporia_routes(replay_server)
    bad = replay_server.load_fixture("emporia/usage_1min.json")
    bad["deviceListUsages"]["devices"][0]["channelUsages"][1]["usage"] = "0.01"
    answer_app_api(
        replay_server, {**USAGE, "scale": "1MIN", "instant": "2026-05-01T14:05:00.000Z"}, json=bad
    )
    with pytest.raises(MalformedResponse, match="usage should be a number"):
        fetch(replay_server)


@pytest.mark.influxdb
def test_channels_of_one_device_sharing_a_name_are_stored_as_separate_circuits(replay_server):
    """Two channels named "Kitchen" and one the user named "Balance": each keeps its value in
    InfluxDB (one tag set for two circuits kept only the last one written). Emporia's own
    Balance and the channels whose names are unique keep their plain names."""
    emporia_routes(replay_server)
    usage = replay_server.load_fixture("emporia/usage_1min.json")
    channels = usage["deviceListUsages"]["devices"][0]["channelUsages"]
    channels[1]["name"] = channels[2]["name"] = "Kitchen"  # Dryer (0 W) and Solar (-2,490 W)
    channels.insert(4, {**channels[3], "name": "Balance", "channelNum": "8", "usage": 0.001})
    answer_app_api(
        replay_server, {**USAGE, "scale": "1MIN", "instant": "2026-05-01T14:05:00.000Z"}, json=usage
    )
    result = fetch(replay_server)
    with fresh_database("emporia_names") as db:
        ts = get_timeseries()
        ts.write(db, result.readings)
        rows = ts.query(db, "SELECT power_w FROM smart_meter_circuit GROUP BY circuit")
        stored = {r.tags["circuit"]: r.values["power_w"] for r in rows}
    assert stored == pytest.approx(
        {
            "Kitchen (channel 2)": 0.0,
            "Kitchen (channel 5)": -2490.0,
            "Furnace": 432.0,
            "Balance (channel 8)": 60.0,
            "Balance": 24.0,
        }
    )


# --- backfill ---


def test_after_an_outage_the_mains_are_backfilled_from_chart_usage(replay_server, caplog):
    emporia_routes(replay_server)
    answer_app_api(
        replay_server, MAINS_CHART, json=replay_server.load_fixture("emporia/chart_usage.json")
    )
    start = t(13, 40)  # the pipeline's window reaches back to the last success
    caplog.set_level("INFO", logger="collectors.smart_meter.emporia")
    result = fetch(replay_server, win=Window(start=start, end=EMPORIA_NOW, now=EMPORIA_NOW))
    charts = api_calls(replay_server, **MAINS_CHART)
    assert len(charts) == 1  # only the top-level device's mains: one call
    assert charts[0].query == {
        "apiMethod": "getChartUsage",
        "deviceGid": "1234",
        "channel": "1,2,3",
        "start": "2026-05-01T13:35:00.000Z",
        "end": "2026-05-01T14:06:00.000Z",
        "scale": "1MIN",
        "energyUnit": "KilowattHours",
    }
    minutes = home_minutes(result)
    times = sorted(minutes)
    assert len(times) == 25  # 24 minutes of the chart (13:42 had no data) + the live 14:05
    assert t(13, 42) not in times  # a gap stays a gap
    assert times[0] == start and times[-1] == t(14, 5)
    assert minutes[t(13, 40)] == pytest.approx(726.0)  # 0.0121 kWh/min
    assert minutes[t(14, 4)] == pytest.approx(1110.0)  # 0.0185
    assert minutes[t(14, 5)] == pytest.approx(1116.0)  # the device list usage: 0.0186
    assert (
        "emporia_vue: after an outage, asked the mains from 2026-05-01T13:35:00+00:00: "
        "24 minutes came back"  # counted in words, not "24 minute(s)"
    ) in caplog.messages


def test_the_chart_is_bounded_to_a_day(replay_server):
    emporia_routes(replay_server)
    answer_app_api(
        replay_server,
        MAINS_CHART,
        json={"firstUsageInstant": "2026-04-30T14:06:00Z", "usageList": []},
    )
    result = fetch(replay_server, win=window(span=timedelta(days=3)))
    (chart,) = api_calls(replay_server, **MAINS_CHART)
    assert (chart.query["start"], chart.query["end"]) == (
        "2026-04-30T14:06:00.000Z",
        "2026-05-01T14:06:00.000Z",
    )
    assert home_minutes(result) == pytest.approx({t(14, 5): 1116.0})  # an empty chart: no more


def test_a_failing_chart_call_is_transient(replay_server):
    emporia_routes(replay_server)
    answer_app_api(
        replay_server, {**CHART, "end": "2026-05-01T14:06:00.000Z"}, status=503, body="busy"
    )
    with pytest.raises(TransientError):
        fetch(replay_server)
    assert len(api_calls(replay_server, **MAINS_CHART)) == 2  # 1 + HTTP_MAX_RETRIES


# --- budget ---


def test_budget_attributes():
    adapter = EmporiaVueAdapter()
    # Each Emporia account has its own budget; before its Vues are known a fetch reserves the
    # device list, the minute usage and its two retries, the day total and one chart.
    assert (adapter.budget, adapter.budget_scope, adapter.calls_per_fetch) == (
        "2000/day",
        "login",
        6,
    )
    assert adapter.history == timedelta(days=1)


def test_five_minute_fetches_stay_far_under_emporias_2000_requests_a_day(replay_server):
    """Six hours of fetches (a quarter day, to keep the test short): 72 minute usages, 72 mains
    charts, 24 day totals, 6 device lists = 174 requests, so 696 a day for one Vue, within the
    864 that calls_per_fetch = 3 reserves; and every minute of the six hours has the mains."""
    clock = Clock()
    adapter = EmporiaVueAdapter(clock=clock)
    emporia_routes(replay_server)
    cognito_answers(replay_server, "refreshed")
    now = EMPORIA_NOW
    stored: dict[datetime, float] = {}
    for _ in range(72):
        end = now.replace(second=0)
        start = end - FIVE_MINUTES - FIVE_MINUTES  # the window's start floored, less 5 minutes
        answer_app_api(
            replay_server,
            {**CHART, "start": _iso(start), "end": _iso(end)},
            json={"firstUsageInstant": _iso(start), "usageList": [0.015] * 10},
        )
        stored |= home_minutes(fetch(replay_server, adapter, win=window(now)))
        now += FIVE_MINUTES
        clock.now += 300
    api = replay_server.calls("GET")
    minute = api_calls(replay_server, **MINUTE_USAGE)
    charts = api_calls(replay_server, **MAINS_CHART)
    day = api_calls(replay_server, scale="1D")
    devices = replay_server.calls("GET", "/customers/devices")
    assert (len(minute), len(charts), len(day), len(devices)) == (72, 72, 24, 6)
    assert len(api) * 4 == 696 <= 2000  # a day
    credentials = emporia_credentials(replay_server)  # + the day that ended (one zone), + 5 %
    assert (
        adapter.calls_per_period(adapter.target(SITE, credentials), credentials, 300, 86400) == 732
    )
    refreshes = [r for r in replay_server.calls("POST", COGNITO_PATH) if "REFRESH" in r.text]
    assert len(refreshes) == 6  # the hour-long id token renewed hourly, no new logins
    # 13:56 .. 20:00 without a gap (the fixture's one device list usage answers 14:05: 1116 W).
    first, last = t(13, 56), t(20, 0)
    assert sorted(stored) == [first + i * MINUTE for i in range(int((last - first) / MINUTE) + 1)]
    assert all(w == pytest.approx(900.0) for m, w in stored.items() if m != t(14, 5))  # 0.015


@pytest.mark.influxdb
def test_the_day_that_ended_gets_its_complete_total_at_its_last_minute(
    replay_server, isolated, settings
):
    """The Vue's day is Chicago's (devices.json). Runs every 5 minutes ask today's total every
    15: the last one of 30 April was 23:49's (30.6 kWh), 10 minutes short of the day, and no
    point said what the day used. The first run 15 minutes into 1 May (the day settled, the
    Vue's last minutes uploaded: day_ends.SETTLE) asks 30 April's at its last minute (23:59
    CDT = 04:59 UTC): its complete 31.2 kWh is stored there; 1 May's so far was asked before
    it, by the run at 00:10. Each run's readings are written, as the pipeline does: what InfluxDB holds tells a run
    whether an ended day's total is still missing (day_ends.py)."""

    def answer(scale: str, minute: str, fixture: str, mains_kwh: float | None = None) -> None:
        """The answer of `scale` at 2026-05-01T<minute>Z: the fixture's, at that instant (and
        with the Vue's mains at `mains_kwh`, the plug's at 0.01)."""
        at = f"2026-05-01T{minute}:00.000Z"
        body = replay_server.load_fixture(f"emporia/{fixture}")
        body["deviceListUsages"]["instant"] = at.replace(".000", "")
        if mains_kwh is not None:
            mains = body["deviceListUsages"]["devices"][0]["channelUsages"][0]
            mains["usage"] = mains_kwh
            mains["nestedDevices"][0]["channelUsages"][0]["usage"] = 0.01
        answer_app_api(replay_server, {**USAGE, "scale": scale, "instant": at}, json=body)

    for minute in ("04:49", "04:54", "05:04", "05:09", "05:14", "05:19"):
        answer("1MIN", minute, "usage_1min.json")
    for minute, kwh in (("04:49", 30.6), ("04:59", 31.2), ("05:09", 0.15)):
        answer("1D", minute, "usage_1day.json", kwh)
    no_minutes = {"firstUsageInstant": "2026-05-01T04:40:00Z", "usageList": []}
    answer_app_api(replay_server, MAINS_CHART, json=no_minutes)
    emporia_routes(replay_server)
    clock = Clock()
    adapter = EmporiaVueAdapter(clock=clock)
    daily = {}
    for hour, minute in ((4, 50), (4, 55), (5, 5), (5, 10), (5, 15), (5, 20)):  # 23:50 .. 00:20
        now = datetime(2026, 5, 1, hour, minute, 30, tzinfo=UTC)
        result = fetch(replay_server, adapter, win=window(now))
        isolated.write(settings.INFLUXDB_DATABASE, result.readings)
        daily |= {
            (r.tags["device"], r.time): r.fields["daily_kwh"]
            for r in result.readings
            if "daily_kwh" in r.fields
        }
        clock.now += 300
    assert daily == pytest.approx(
        {
            ("Main panel", t(4, 49)): 30.6,  # 23:49 CDT, so far
            ("Office plug", t(4, 49)): 0.01,
            ("Main panel", t(4, 59)): 31.2,  # 30 April's complete total, at its last minute
            ("Office plug", t(4, 59)): 0.01,
            ("Main panel", t(5, 9)): 0.15,  # 1 May so far, 15 minutes after 23:49's ask
            ("Office plug", t(5, 9)): 0.01,
        }
    )
    assert [r.query["instant"][11:16] for r in api_calls(replay_server, scale="1D")] == [
        "04:49",
        "05:09",
        "04:59",
    ]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


# --- through the pipeline ---


@pytest.fixture
def isolated(settings):
    """Own InfluxDB database and Redis key prefix; the pipeline's adapter made fresh."""
    tag = uuid.uuid4().hex[:10]
    settings.INFLUXDB_DATABASE = f"test_emporia_{tag}"
    settings.REDIS_KEY_PREFIX = f"test-emporia-{tag}"
    ts = get_timeseries()
    ts.create_database(settings.INFLUXDB_DATABASE)
    registry.adapter_for.cache_clear()  # no tokens or devices of another test's server
    yield ts
    registry.adapter_for.cache_clear()
    ts.drop_database(settings.INFLUXDB_DATABASE)
    redis = get_redis()
    for key in redis.scan_iter(f"{settings.REDIS_KEY_PREFIX}:*"):
        redis.delete(key)


@pytest.mark.influxdb
@pytest.mark.django_db
def test_two_pipeline_runs_store_every_minute_of_the_mains(isolated, settings, replay_server):
    """The pipeline's windows (now - 300 s) do not overlap; the null minute 14:04 of the first
    run is still written, by the second, and circuits stay at one minute per run."""
    two_runs_answers(replay_server)
    config = emporia_config(replay_server)
    first = pipeline.collect(config, now=EMPORIA_NOW)
    second = pipeline.collect(config, now=EMPORIA_NOW + FIVE_MINUTES)
    # 9 whole-home minutes + plug + 4 circuits, then 10 + plug + 4
    assert (first.status, first.points_written) == ("ok", 14)
    assert (second.status, second.points_written) == ("ok", 15)
    starts = [r.query["start"] for r in api_calls(replay_server, **MAINS_CHART)]
    assert starts == ["2026-05-01T13:56:00.000Z", "2026-05-01T14:01:00.000Z"]
    db = settings.INFLUXDB_DATABASE
    rows = isolated.query(
        db,
        "SELECT total_power_w FROM smart_meter WHERE device = $device",
        params={"device": "Main panel"},
    )
    stored = {r.time: r.values["total_power_w"] for r in rows}
    assert stored == MAINS_MINUTES  # 14:04: null in the first, written by the second
    circuits = isolated.query(db, "SELECT power_w FROM smart_meter_circuit GROUP BY circuit")
    assert sorted({r.time for r in circuits}) == [t(14, 5), t(14, 10)]


def test_missing_credentials_are_a_config_error():
    with pytest.raises(ConfigError, match="METER_USERNAME and METER_PASSWORD"):
        EmporiaVueAdapter().target(SITE, Credentials(username="a@example.com"))
