"""The Google Calendar setup page (staff only): connect, and the OAuth callback.

Connecting stores the site's calendar credentials (a refresh token), so it needs what the
admin's "OAuth connections" stand for: the permission to change them (CONNECT), and, for a
site without a Google Calendar provider config yet, the one to add provider configs, as the
admin asks for adding one (the callback creates it). Seeing the page needs the permission to
view or change OAuth connections, as the admin's list of them does. A superuser has them all.

GET  /oauth/google/           status (HEAD too) per site and the "Connect Google Calendar" button
POST /oauth/google/connect    starts Google's consent flow for a site (`site` in the form or
                              the query string, once; another name is a 400 naming it)
GET  /oauth/google/callback   finishes it (state checked once, PKCE verifier from Redis)

Google sends each of the callback's `state`, `code` and `error` once and none empty (a denied
consent has an `error` and no `code`): a callback holding one of them twice or empty was changed
on its way, and is refused (400, naming it) before anything is used.
"""

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST, require_safe
from rest_framework.exceptions import ValidationError

from collectors.occupancy.google import oauth
from collectors.occupancy.google.connection import SETUP_PATH
from enrich.api import params
from enrich.crypto import SecretUnreadable
from enrich.models import OAuthConnection, Site
from enrich.redis.client import RedisUnavailable

CONNECT = "enrich.change_oauthconnection"
ADD_CONFIG = "enrich.add_providerconfig"
SEE = ("enrich.view_oauthconnection", CONNECT)
CALLBACK_PARAMETERS = ("state", "code", "error")
CONNECT_FIELDS = ("site",)  # in the form (the setup page's button) or the query string


def redirect_uri(request: HttpRequest) -> str:
    return settings.GOOGLE_REDIRECT_URI or request.build_absolute_uri(
        reverse("oauth-google-callback")
    )


def _not_allowed(user, site: Site) -> str:
    """Why `user` may not connect `site`'s calendar ("" when it may)."""
    needed = [CONNECT] + ([ADD_CONFIG] if oauth.calendar_config(site) is None else [])
    missing = [permission for permission in needed if not user.has_perm(permission)]
    if not missing:
        return ""
    return (
        f"Connecting Google Calendar for site {site.name!r} stores its calendar credentials: "
        f"it needs the permission {' and '.join(missing)} (admin → Users or Groups; a "
        "superuser has every permission)."
    )


def _changed_on_its_way(query) -> str:
    """What to say about each callback parameter `query` holds twice or empty ("" when none)."""
    problems = []
    for name in CALLBACK_PARAMETERS:
        try:
            params.given(query, name)
        except ValidationError as exc:
            problems.append(f"{name}: {exc.detail[name]}")
    return " ".join(problems)


def _problem(request: HttpRequest, title: str, message: str, status: int = 400) -> HttpResponse:
    return render(
        request, "oauth/problem.html", {"title": title, "message": message}, status=status
    )


@require_safe  # first: another method is a 405 (with Allow), not the admin's login
@staff_member_required
def setup(request: HttpRequest) -> HttpResponse:
    if not any(request.user.has_perm(permission) for permission in SEE):
        raise PermissionDenied(
            f"The Google Calendar setup page needs the permission {SEE[0]} or {CONNECT} "
            "(admin → Users or Groups)."
        )
    rows = []
    for site in Site.objects.order_by("name"):
        config = oauth.calendar_config(site)
        connection = (
            OAuthConnection.objects.filter(provider_config=config).first() if config else None
        )
        client_problem = ""
        try:
            client_id, client_secret = oauth.client_credentials(config)
        except SecretUnreadable as exc:  # not "set GOOGLE_CLIENT_ID": the saved one is unreadable
            client_id = client_secret = ""
            client_problem = str(exc)
        rows.append(
            {
                "site": site,
                "connection": connection,
                "client_ready": bool(client_id and client_secret),
                "client_problem": client_problem,
                "not_allowed": _not_allowed(request.user, site),
            }
        )
    return render(
        request,
        "oauth/setup.html",
        {
            "rows": rows,
            "redirect_uri": redirect_uri(request),
            "setup_path": SETUP_PATH,
            "not_connected": OAuthConnection.NOT_CONNECTED_LABEL,
        },
    )


def _unusable(request: HttpRequest) -> str:
    """What to say of the connect POST's query string and form ("" when both are usable), read
    by the rules of the API's POSTs that start something (params.fields): a name it does not
    take (the form's CSRF token aside), `site` given in both, or a query's `site` given twice
    or empty."""
    names = (set(request.GET) | set(request.POST)) - {"csrfmiddlewaretoken"}
    try:
        params.known(names, CONNECT_FIELDS, f"a field of POST {request.path}")
        for name in CONNECT_FIELDS:
            if name in request.GET and name in request.POST:
                raise ValidationError({name: "given in the query and in the form: give it once."})
            params.given(request.GET, name)
    except ValidationError as exc:
        return " ".join(f"{name}: {said}" for name, said in exc.detail.items())
    return ""


@require_POST
@staff_member_required
def connect(request: HttpRequest) -> HttpResponse:
    if said := _unusable(request):
        return _problem(
            request,
            "This connect request cannot be used",
            f"{said} Nothing was started. Use 'Connect Google Calendar' on the setup page.",
        )
    form = (request.GET if "site" in request.GET else request.POST).copy()
    if form.getlist("site") == [""]:  # the setup page's choice of site left empty: "required"
        del form["site"]
    try:
        site_id = params.integer(form, "site", minimum=1)
    except ValidationError as exc:
        return _problem(request, "Unknown site", f"site: {exc.detail['site']}")
    site = Site.objects.filter(pk=site_id).first() if site_id else None
    if site is None:
        said = f"there is no site with id {site_id}" if site_id else "required"
        return _problem(
            request,
            "Unknown site",
            f"site: {said}. Choose a site on the setup page (create one in the admin first).",
        )
    if said := _not_allowed(request.user, site):
        return _problem(request, "Not allowed", f"{said} Nothing was started.", status=403)
    try:
        url = oauth.start_consent(site, request.user.pk, redirect_uri(request))
    except (oauth.OAuthSetupError, SecretUnreadable) as exc:
        return _problem(request, "Google Calendar cannot be connected yet", str(exc))
    except RedisUnavailable as exc:
        return _problem(request, "Redis is unavailable", str(exc), status=503)
    return HttpResponseRedirect(url)


@require_GET  # not HEAD: the callback uses up the sign-in's state
@staff_member_required
def callback(request: HttpRequest) -> HttpResponse:
    if said := _changed_on_its_way(request.GET):
        return _problem(
            request,
            "This sign-in answer cannot be used",
            f"{said} Google sends each once and none empty, so this answer was changed on its "
            "way. Nothing was changed. Start again with 'Connect Google Calendar' on the setup "
            "page.",
        )
    try:
        pending = oauth.take_pending(request.GET.get("state", ""))
    except RedisUnavailable as exc:
        return _problem(request, "Redis is unavailable", str(exc), status=503)
    if pending is None or pending.user_id != request.user.pk:
        return _problem(
            request,
            "This sign-in answer cannot be used",
            "Its state is unknown, expired (after 10 minutes) or was already used, or the "
            "sign-in was started by another user. Nothing was changed. Start again with "
            "'Connect Google Calendar' on the setup page.",
        )
    site = Site.objects.filter(pk=pending.site_id).first()
    if site is not None and (said := _not_allowed(request.user, site)):  # taken away meanwhile
        return _problem(request, "Not allowed", f"{said} Nothing was changed.", status=403)
    error = request.GET.get("error", "")
    if error == "access_denied":
        return _problem(
            request,
            "Access was not granted",
            "You declined enrich's request to read your calendars in Google's consent screen. "
            "Nothing was changed. To use calendar occupancy, connect again and choose Allow.",
            status=200,
        )
    if error or not request.GET.get("code"):
        return _problem(
            request,
            "Google did not complete the sign-in",
            f"Google answered: {error or 'no authorization code'}. Nothing was changed. Check "
            "the OAuth client in the Google Cloud console (redirect URI, consent screen, test "
            "users) and connect again.",
        )
    try:
        connection = oauth.finish_consent(pending, request.GET["code"])
    except (oauth.OAuthSetupError, SecretUnreadable) as exc:
        return _problem(request, "Google Calendar was not connected", str(exc), status=502)
    return render(
        request,
        "oauth/connected.html",
        {
            "connection": connection,
            "site": connection.provider_config.site,
            "available": getattr(connection, "available_calendars", []),
            "setup_path": SETUP_PATH,
        },
    )
