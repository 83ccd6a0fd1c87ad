from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework import generics
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import APIException, Throttled, ValidationError
from rest_framework.fields import CharField
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from enrich.access import ScopedThrottle
from enrich.addresses import hidden_in
from enrich.api import params
from enrich.api.schemas import PROCESSES, health
from enrich.api.serializers import SiteSerializer
from enrich.health import check_services, without_detail
from enrich.liveness import processes
from enrich.models import Site


class HealthView(APIView):
    """Whether the database, Redis and InfluxDB answer. Anyone gets ok/not ok per service;
    an authenticated user also each service's detail (version, or the error without enrich's
    own services' addresses, as every API answer says errors: enrich.addresses)."""

    permission_classes = [AllowAny]
    # Monitors poll it, and it must answer at once while Redis (the throttles' store) is down.
    throttle_classes = []

    @extend_schema(responses={200: health(True), 503: health(False)})
    def get(self, request):
        result = check_services()
        result = hidden_in(result) if request.user.is_authenticated else without_detail(result)
        return Response(result, status=200 if result["ok"] else 503)


class ProcessesView(APIView):
    """Whether the beat ticks, which workers are alive and consume each queue, and which periodic
    tasks the beat leaves out (a crontab time zone this host cannot load), with the reasons
    (enrich.liveness). Always 200 while it can answer: `ok` says whether all is well."""

    @extend_schema(responses={200: PROCESSES})
    def get(self, request):
        return Response(processes())


LANG = OpenApiParameter(
    "lang",
    str,
    enum=list(dict(settings.LANGUAGES)),
    description="the language of Django's and DRF's own words in the schema (field titles)",
)


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema, without drf-spectacular's `?version=`: the API has one version
    (SPECTACULAR_SETTINGS["VERSION"]), and that parameter would write the caller's text into the
    schema's `info.version` ("0.1.0 (anything)") and into the Content-Disposition header, where
    a newline (`?version=%0A`) is a 500. Like every read, the schema refuses a parameter it
    does not take (`version` too)."""

    def _get_version_parameter(self, request):
        return None

    # drf-spectacular declares `lang` on its own get, which this one replaces.
    @extend_schema(parameters=[LANG], responses={200: dict, 400: dict})
    def get(self, request, *args, **kwargs):
        read_lang(request.query_params)
        return super().get(request, *args, **kwargs)

    def handle_exception(self, exc):
        # drf-spectacular's YAML renderer (the schema's default) writes a message as a mapping,
        # `lang: {string: ..., code: invalid}`, and so the `detail` of a 401, 405 or 406
        # (`detail: {string: Invalid token., code: authentication_failed}`): each message is
        # text, as in JSON.
        if isinstance(exc, APIException):
            exc.detail = _as_text(exc.detail)
        return super().handle_exception(exc)


def _as_text(detail):
    """An error's detail with each message as plain text (a parameter's messages joined)."""
    if isinstance(detail, dict):
        return {name: _as_text(text) for name, text in detail.items()}
    if isinstance(detail, list):
        return " ".join(map(str, detail))
    return str(detail)


def read_lang(query) -> None:
    """`?lang=` of the schema and its page (the language of Django's and DRF's own words in it,
    e.g. a field's title), one of settings.LANGUAGES as drf-spectacular lists them: given twice
    (drf-spectacular takes the last), empty or another (read as English) it is a 400 naming it."""
    params.choice(query, "lang", allowed=list(dict(settings.LANGUAGES)))


def _in_english(page: HttpResponse) -> None:
    """The docs page's language, for a screen reader (Swagger UI's own texts are English)."""
    page.content = page.content.replace(b"<html>", b'<html lang="en">', 1)


class DocsView(SpectacularSwaggerView):
    """The browsable docs page of the schema; a `lang` it cannot pass on to the schema, or a
    `?format=` it cannot write (enrich.api.negotiation), is a 400 in plain text naming it, as
    the pages say it, and its other errors say theirs ("Invalid token."): its HTML renderer
    writes only the status, "400 Bad Request", "401 Unauthorized"."""

    @extend_schema(parameters=[LANG], responses={200: str, (400, "text/plain"): str})
    def get(self, request, *args, **kwargs) -> HttpResponse:
        read_lang(request.query_params)
        answer = super().get(request, *args, **kwargs)
        answer.add_post_render_callback(_in_english)  # its template's <html> names none
        return answer

    def handle_exception(self, exc):
        if not isinstance(exc, APIException):
            return super().handle_exception(exc)
        detail = _as_text(exc.detail)
        if isinstance(detail, dict):
            detail = "; ".join(f"{name}: {text}" for name, text in detail.items())
        answer = super().handle_exception(exc)  # its status, WWW-Authenticate and Retry-After
        said = HttpResponse(
            detail, status=answer.status_code, content_type="text/plain; charset=utf-8"
        )
        for header in ("WWW-Authenticate", "Retry-After"):
            if header in answer:
                said[header] = answer[header]
        return said


class TokenView(ObtainAuthToken):
    """POST username and password: the user's API token. Public, but throttled per client
    (scope "token") and counted by django-axes' login lockout."""

    # A login: the caller is counted by address, whatever token it may also send.
    authentication_classes = []
    throttle_classes = [ScopedThrottle]
    throttle_scope = "token"
    # ObtainAuthToken names its own parsers; these are the project's (enrich.api.parsers).
    parser_classes = api_settings.DEFAULT_PARSER_CLASSES

    # Asked with username and password, answered with the token alone: AuthTokenSerializer
    # declares all three required, each way, which generated clients read as such (they do not
    # read write-only and read-only).
    @extend_schema(
        request=inline_serializer(
            "TokenRequest", {"username": CharField(), "password": CharField()}
        ),
        responses={200: inline_serializer("Token", {"token": CharField()}), 400: dict, 429: dict},
    )
    def post(self, request, *args, **kwargs):
        params.body(request.data, "username and password")
        try:
            return super().post(request, *args, **kwargs)
        except ValidationError:
            # django-axes marks the DRF request, which its middleware does not see: say so here.
            if getattr(request, "axes_locked_out", False):
                raise Throttled(
                    detail="Too many failed logins for this account from this address; the "
                    f"lockout ends {settings.AXES_COOLOFF_TIME * 60:g} minutes after the last one."
                ) from None
            raise


class SiteList(generics.ListAPIView):
    """Sites and their providers (secrets are never included)."""

    serializer_class = SiteSerializer

    @extend_schema(
        parameters=[OpenApiParameter("enabled", bool, description="true or false")],
        responses={200: SiteSerializer(many=True), 400: dict},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        queryset = Site.objects.prefetch_related("providers")
        enabled = params.boolean(self.request.query_params, "enabled")
        return queryset if enabled is None else queryset.filter(enabled=enabled)
