"""Settings of the REST API: who may do what, throttles, the admin login lockout (read by
config.settings; the classes named here live in enrich.access)."""

from config.environment import A_YEAR, number, text
from enrich.version import VERSION

# --- REST API: who may do what, throttles, admin login lockout (enrich.access) ---------------
# Reads need any token; changes and triggers need staff or the permission enrich.trigger_work.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "enrich.access.TokenAuth",  # DRF's, with a NUL in the key a 401 (not a 500)
        "enrich.access.SessionAuth",  # DRF's, with a method the view lacks a 405 (not a 403)
    ],
    "DEFAULT_PERMISSION_CLASSES": ["enrich.access.ReadOrTrigger"],
    "DEFAULT_THROTTLE_CLASSES": ["enrich.access.ScopedThrottle"],
    # Per client: N/second, N/minute, N/hour, N/day or N/<k>min (checked at start, enrich.apps).
    "DEFAULT_THROTTLE_RATES": {
        "anon": text("API_THROTTLE_ANON", default="30/minute"),
        "user": text("API_THROTTLE_USER", default="300/minute"),
        "trigger": text("API_THROTTLE_TRIGGER", default="30/hour"),
        "token": text("API_THROTTLE_TOKEN", default="5/minute"),
    },
    # DRF's JSON parser, with a body nested too deep for Python's json a 400 (enrich.api.parsers).
    "DEFAULT_PARSER_CLASSES": [
        "enrich.api.parsers.JSONParser",
        "enrich.api.parsers.FormParser",  # a charset Python does not know a 400, not UTF-8
        "enrich.api.parsers.MultiPartParser",  # a part without a name a 400, not dropped
    ],
    "DEFAULT_SCHEMA_CLASS": "enrich.api.openapi.AutoSchema",
    # DRF's, with an unknown ?format= a 400 naming it instead of a 404 (enrich.api.negotiation).
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "enrich.api.negotiation.Negotiation",
}
# Reverse proxies in front of the web app; 0 = the client is the connection's own address.
TRUSTED_PROXY_COUNT = number("TRUSTED_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "enrich.access.client_address"
AXES_USERNAME_CALLABLE = "enrich.access.login_username"
AXES_FAILURE_LIMIT = number("ADMIN_LOGIN_FAILURE_LIMIT", 5)
# At most a year (in minutes): a longer one failed every login ("Python int too large").
AXES_COOLOFF_TIME = (
    number("ADMIN_LOGIN_COOLOFF_MINUTES", 15, float, at_most=A_YEAR / 60) / 60
)  # hours
# A username is locked from the address that failed, so guessing cannot lock the admin out.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
SPECTACULAR_SETTINGS = {
    "TITLE": "enrich API",
    # What HTTP answers for every operation alike is said once here, not in each operation's
    # responses (a path lists the methods it takes; the others are its 405).
    "DESCRIPTION": "Enrichment data and storage optimisation for Home Assistant's InfluxDB.\n\n"
    "Besides the statuses each operation declares, any answers 405 for a method its path does "
    "not list (`Allow` names those it takes) and 406 for an `Accept` it cannot write; a body "
    "is a 411 without a `Content-Length` where the server cannot tell its end, a 413 over "
    "2,621,440 bytes (DATA_UPLOAD_MAX_MEMORY_SIZE) and a 415 in a type the operation's "
    "request body does not list. Every operation takes `?format=` (`json`, or `api` for the "
    "browsable page; the schema's `yaml` or `json`): another value is a 400 naming `format`. "
    "A GET given a query parameter its operation does not list is a 400 naming it. "
    "docs/api.md says each.",
    "VERSION": VERSION,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # The docs page works offline: Swagger UI is served from drf-spectacular-sidecar.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}
