"""The API's 503 when InfluxDB cannot be read: what cannot be read and why, in words an API
client can act on, without InfluxDB's address (INFLUXDB_URL, host and port), database or query;
the whole error, address included, goes to the server log for whoever runs enrich."""

import logging

from rest_framework.response import Response

from enrich.influx import InfluxAuthError, InfluxUnavailable, TimeseriesError

logger = logging.getLogger(__name__)


def _why(exc: TimeseriesError) -> str:
    if isinstance(exc, InfluxUnavailable):
        return ("InfluxDB does not answer (it is down, starting or overloaded); try again later. "
                "The server log names the address tried.")  # fmt: skip
    if isinstance(exc, InfluxAuthError):
        return "InfluxDB refused enrich's credentials; the server log says more."
    return "InfluxDB refused the read; the server log says why."


def unreadable(what: str, exc: TimeseriesError) -> str:
    """That `what` ("The carbon data") cannot be read, and why; `exc` is logged whole."""
    logger.error("%s cannot be read: %s", what, exc)
    return f"{what} cannot be read: {_why(exc)}"


def influx_down(what: str, exc: TimeseriesError) -> Response:
    """The 503 saying `what` cannot be read (`unreadable`)."""
    return Response({"detail": unreadable(what, exc)}, status=503)
