"""Option values a provider's collection refuses from the options alone, before any call, and
values at the bounds, which it accepts: the run's error (test_option_refusals) and the admin's
(test_options_refused_before_saving) are checked with the same tables."""

from collectors.pricing.adapter import MIN_HOURS
from collectors.registry import ADAPTERS
from tests.collectors.scenarios_pricing import SCENARIOS as PRICING

# options.window_hours under a minute (every price provider), or of no whole minutes.
HOURS_UNDER_A_MINUTE = [1e-9, "1e-320", 0.0166]
HOURS_OF_NO_WHOLE_MINUTES = [0.33, 1.01, "2.51"]
# A number of seconds no pause or wait could be.
NOT_SECONDS = ["abc", None, [], {}, -1, "nan", "inf", "-inf", True, 10**400]
NULL_RETRY_SECONDS = [*NOT_SECONDS, 30.5]  # emporia_vue: 0 or more, at most 30
REALTIME_TIMEOUTS = [*NOT_SECONDS, 0, "0", 60.5]  # sense: more than 0, at most 60
# sense's options.realtime_url, and what its refusal says is wrong with it.
REALTIME_URLS = [
    ("nota url", "spaces"),
    ("http://127.0.0.1:9", "scheme is 'http'"),
    ("ftp://x", "scheme is 'ftp'"),
    ("WS://x", "scheme is 'WS'"),
    (123, "int, not text"),
    (["ws://x"], "list, not text"),
    ("ws://", "names no host"),
    ("ws://[::1", "not a URL"),
    ("ws://x:port", "not a URL"),
    ("ws://☃☃..com", "not a valid name"),
]
USER_POOL_IDS = ["_x", "a/b_c", "us-east-2", "us-east-2_", "eu-west_1x", 7]  # emporia_vue
# emporia_vue's Cognito endpoint, and app client id (Cognito's form: [\w+]{1,128}).
COGNITO_URLS = ["nota url", "cognito-idp.us-east-2.amazonaws.com", "https://", "ftp://x", 443]
CLIENT_IDS = ["4qte47jb stod8", "4qte/47jb", "x" * 129, "４qte47", 26, ["4qte47jb"]]
# sense's device id, sent as a header: a line break, a space at its start and a character
# past Latin-1 failed every login in requests (InvalidHeader, UnicodeEncodeError); a header
# cannot hold another control character either (ESC, DEL).
DEVICE_IDS = ["a\nb", " abc", "\u00a0abc", "☃", "a\x1bb", "a\x7fb", 12345]
# An id or code given as JSON of another type, read as text ("True", "-1") or as left out (0,
# [], {}): saved, and each run asked for a home, tariff or ZIP code nobody gave.
NOT_TEXT = [True, False, -1, 0, 12345, [], {}, 1.5]
TEXT_OPTIONS = [("tibber", "home_id"), ("octopus", "product_code"), ("octopus", "tariff_code"),
                ("airnow", "zip_code"), ("emporia_vue", "client_id"),
                ("emporia_vue", "user_pool_id")]  # fmt: skip
FORECASTS = ["true", 1, "yes", None, "false", 0]  # electricitymaps: JSON true or false only
# home_assistant's names a tag cannot hold, and what the refusal says.
HOME_ASSISTANT_NAMES = [
    ({"circuits": {"Heat\npump": "sensor.heat_pump_power"}},
     "the circuit name 'Heat\\npump' cannot be an InfluxDB tag: a tag cannot hold a line"),
    ({"circuits": {"Oven\\": "sensor.oven_power"}},
     "the circuit name 'Oven\\\\' cannot be an InfluxDB tag: a tag cannot hold a backslash"),
    ({"device": "main\\ panel"},
     "options.device 'main\\\\ panel' cannot be an InfluxDB tag: a tag cannot hold a "
     "backslash at its end or before a comma, '=' or a space"),
]  # fmt: skip

# options.base_url that is no http(s) URL with a host, for each provider with an API root of
# its own (Home Assistant's and Google's have their own cases below).
# (Port 0 was saved, and each run's call was refused.)
BASE_URLS = ["nota url", "ftp://api.example.com", "api.example.com", "https://", 443,
             "http://127.0.0.1:0"]  # fmt: skip
# Home Assistant's address (no default): an http(s) URL with a host and a usable port, as the
# others' (only a missing scheme was refused: these were saved, and each run's call failed).
HOME_ASSISTANT_URLS = ["http://", "http://127.0.0.1:0", "http://127.0.0.1:65536",
                       "http://home assistant:8123", "http://[::1", "http://ha.local:port"]  # fmt: skip
# A URL holding a login (user:password@): it stood whole in GET /api/sites/ for any signed-in
# caller, and Home Assistant's in the run's target, its log line and /api/enrichment/current.
LOGIN_URL = "https://alice:pw-SECRET-77@api.example.com"
# Every provider reading options.base_url but those two: read from the registry, so a new
# provider's refusals are checked without a list to extend.
ROOTED = sorted(
    a.provider
    for a in ADAPTERS
    if "base_url" in a.options and a.provider not in ("home_assistant", "google_calendar")
)

# (provider, options): each value above, over the provider's scenario options, and others the
# adapters' own tests find refused before any call.
REFUSED = [
    *[(p, {"window_hours": hours}) for p in sorted(PRICING) for hours in HOURS_UNDER_A_MINUTE],
    *[("awattar", {"window_hours": hours}) for hours in HOURS_OF_NO_WHOLE_MINUTES],
    *[("emporia_vue", {"null_retry_seconds": value}) for value in NULL_RETRY_SECONDS],
    *[("emporia_vue", {"user_pool_id": pool}) for pool in USER_POOL_IDS],
    *[("emporia_vue", {"cognito_url": url}) for url in COGNITO_URLS],
    *[("emporia_vue", {"client_id": client}) for client in CLIENT_IDS],
    *[("sense", {"device_id": device}) for device in DEVICE_IDS],
    *[("sense", {"realtime_timeout": value}) for value in REALTIME_TIMEOUTS],
    *[("sense", {"realtime_url": url}) for url, _ in REALTIME_URLS],
    *[("electricitymaps", {"forecast": forecast}) for forecast in FORECASTS],
    *[(p, {name: value}) for p, name in TEXT_OPTIONS for value in NOT_TEXT],
    *[(provider, {"base_url": url}) for provider in ROOTED for url in BASE_URLS],
    *[("home_assistant", options) for options, _ in HOME_ASSISTANT_NAMES],
    ("home_assistant", {"base_url": "homeassistant.local:8123"}),
    *[("home_assistant", {"base_url": url}) for url in HOME_ASSISTANT_URLS],
    ("home_assistant", {"circuits": ["sensor.oven_power"]}),
    *[(p, {"base_url": LOGIN_URL}) for p in (*ROOTED, "home_assistant", "google_calendar")],
    ("emporia_vue", {"cognito_url": LOGIN_URL}),
    ("sense", {"realtime_url": LOGIN_URL.replace("https", "wss")}),
    ("sense", {"phantom_nights": 1.5}),
    ("emporia_vue", {"high_power_w": -1}),
    # Past a float's range: OverflowError out of the run, and out of the admin's check.
    ("home_assistant", {"high_power_w": 10**400}),
    ("sense", {"phantom_nights": 10**400}),
    ("watttime", {"plan": "premium"}),
    ("octopus", {"product_code": "AGILE 24"}),
    ("octopus", {"tariff_code": "E-1R-AGILE-24-10-01-I"}),
    ("tibber", {"home_id": "home/1"}),
    ("google_calendar", {"travel_minutes": 1441}),
    *[("google_calendar", {"working_hours": v}) for v in ("9-17", "09:00-09:00", ["09:00"])],
    ("google_calendar", {"base_url": "ftp://calendar.example.com"}),
]

# (provider, options) at the bounds: accepted by the collection and by the admin.
ACCEPTED = [
    ("awattar", {"window_hours": MIN_HOURS}),
    ("awattar", {"window_hours": "24"}),
    ("emporia_vue", {"null_retry_seconds": 0}),
    ("emporia_vue", {"null_retry_seconds": "30"}),
    ("emporia_vue", {"user_pool_id": "us-gov-west-1_AbC123"}),
    ("emporia_vue", {"cognito_url": "https://cognito-idp.us-east-2.amazonaws.com/"}),
    ("emporia_vue", {"client_id": "4qte47jbstod8apnfic0bunmrq"}),
    ("emporia_vue", {"client_id": "A_b+" + "x" * 124}),
    ("sense", {"device_id": "c2b8f6f0-7e1a-4a4e-9d8b-1f6f2f3a4b5c"}),
    ("sense", {"device_id": "Küche\t1 "}),
    ("sense", {"realtime_timeout": 60, "realtime_url": "wss://[::1]:8443/feed/"}),
    ("sense", {"realtime_timeout": "0.5", "realtime_url": "ws://localhost:8080"}),
    ("electricitymaps", {"forecast": False}),
    ("airnow", {"zip_code": " 98104 "}),
]
