"""The query parameters a read (GET or HEAD) of the API takes: those its OpenAPI schema declares,
the `parameters` of the `extend_schema` on its `get`, so the schema and what the endpoint takes
are one list and cannot drift. Any other is a 400 naming it and listing those it takes
(`{"duraton": "is not a parameter of GET /api/plan; use hours, before, ..."}`): read as left
out, a mistyped `duration` or `kw` answered for the default, with a 200. DRF's own `?format=`
is taken by every endpoint (enrich.api.negotiation reads it).

A view whose parameters depend on its path (the views' rows: each view's own filters) checks
them itself (`params.known_query`) and says so with `checks_own_query = True`."""

from drf_spectacular.utils import OpenApiParameter

from enrich.api import params

READS = ("GET", "HEAD")


def query_names(view) -> list[str]:
    """The names of the query parameters the schema declares for `view`'s GET, in the schema's
    order (none when its `get` has no `extend_schema`)."""
    schema_class = getattr(view.get, "kwargs", {}).get("schema")
    if schema_class is None:
        return []
    schema = schema_class()
    schema.view, schema.method = view, "GET"  # drf-spectacular reads them to scope the parameters
    return [
        parameter.name
        for parameter in schema.get_override_parameters()
        if isinstance(parameter, OpenApiParameter)
        and parameter.location == OpenApiParameter.QUERY
        and not parameter.exclude
    ]


def refuse_unknown(request) -> None:
    """A 400 naming the first query parameter of a read that its view does not take; nothing
    for another method (a POST's fields are read with `params.fields`, which refuses one it
    does not take), for a view without a GET (DRF's 405 follows) or one that checks its own."""
    view = (request.parser_context or {}).get("view")
    if (
        request.method not in READS
        or view is None
        or not hasattr(view, "get")
        or getattr(view, "checks_own_query", False)
    ):
        return
    what = f"a parameter of {request.method} {request.path}"
    params.known_query(request.query_params, query_names(view), what)
