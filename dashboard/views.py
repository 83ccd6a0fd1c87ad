"""The start page (`/`): the first-run setup while no site exists, the status page after.

Login required (staff or read-only users); creating the site (a POST) needs the permission to
add sites and provider configs, so read-only users get 403. A parameter the page reads that is
given more than once (`?site=1&site=2`, a form field sent twice) is a 400 naming it: which one
was meant is not known, so neither is used and nothing is created. A `site` that is no id (not a
whole number from 1) is a 400 naming it; an id no site has is a 404 naming it, as in the API;
both pages link every site. The setup's `action` must be
one of its buttons' values (`create`, `test`): any other, or none, is a 400 naming it.
"""

from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.text import Truncator
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_http_methods
from rest_framework.exceptions import ValidationError as BadParameter

from collectors.carbon import choice as carbon
from collectors.pricing import api as pricing
from dashboard import first_run
from dashboard.choices import preselected
from dashboard.setup_form import SetupForm
from enrich.api import params
from enrich.models import Site

LOGIN_URL = "/login/"
SETUP_PERMISSIONS = ("enrich.add_site", "enrich.add_providerconfig")
# What the setup form sends once: every field but the ticked providers, and the button pressed.
ONE_VALUE = [
    *(n for n, f in SetupForm.base_fields.items() if not isinstance(f, forms.MultipleChoiceField)),
    "action",
]
# The form's two buttons: only these values act (anything else is a 400 creating nothing).
ACTIONS = ("create", "test")
ACTIONS_SENT = "action=create (create the site) or action=test (test the connection)"


def _setup_page(request: HttpRequest, form: SetupForm, status: int = 200, **extra) -> HttpResponse:
    defaults = {country: preselected(country) for country in ("GB", "DE", "AT", "")}
    context = {
        "form": form,
        "defaults": defaults,
        "can_set_up": request.user.has_perms(SETUP_PERMISSIONS),
        **extra,
    }
    return render(request, "dashboard/setup.html", context, status=status)


def _influx_test(request: HttpRequest, form: SetupForm) -> HttpResponse:
    """The setup form's "Test connection": the URL and database as the form reads them, or why
    one is none. Only a test that passed says which settings to put in .env: after a failed one
    they would point enrich at an InfluxDB or a database that is not there; the check's own
    message says what to fix."""
    given = {}
    for name in ("influxdb_url", "ha_database"):
        field = form.fields[name]
        try:
            given[name] = field.clean(request.POST.get(name, ""))
        except ValidationError as exc:
            check = first_run.InfluxCheck(False, f"{field.label}: {' '.join(exc.messages)}")
            return _setup_page(request, form, status=400, influx_check=check)
    url, database = given["influxdb_url"], given["ha_database"]
    check = first_run.check_influxdb(url, database)
    note = first_run.settings_note(url, database) if check.ok else ""
    return _setup_page(request, form, influx_check=check, influx_note=note)


def _site_id(raw: str) -> int | None:
    """`raw` as a site id, read as the API reads one (a whole number from 1: "01" is 1); None
    when it is none."""
    try:
        return params.integer({"site": raw}, "site", minimum=1)
    except BadParameter:
        return None


def _no_such_site(request: HttpRequest, wanted: str, sites: list[Site]) -> HttpResponse:
    """The page for a `site` no site has: says so and links every site (a 404 for an id, as in
    the API; a 400 for a value that is no id at all, or none: `?site=` in the API's words)."""
    an_id = _site_id(wanted) is not None
    shown = Truncator(repr(wanted)[1:-1]).chars(40)  # control characters escaped, kept short
    problem = (
        f"site: there is no site with id {shown}."
        if an_id
        else f"site: there is no site '{shown}': a site's id is a whole number from 1."
    )
    try:
        params.given({"site": wanted}, "site")
    except BadParameter as exc:
        problem = f"site: {exc.detail['site']}"
    context = {"problem": problem, "sites": sites}
    return render(request, "dashboard/no_site.html", context, status=404 if an_id else 400)


@require_http_methods(["GET", "HEAD", "POST"])  # first: another method is a 405, not a login
@login_required(login_url=LOGIN_URL)
def home(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":  # the setup form, whichever address it was sent to
        return setup(request)
    if problem := params.repeated(request.GET, ["site"]):
        return HttpResponseBadRequest(f"site: {problem['site']}", content_type="text/plain")
    if not Site.objects.exists():
        return _setup_page(request, SetupForm())
    sites = list(Site.objects.order_by("name"))
    wanted = request.GET.get("site")  # given empty, it is none: not read as left out
    site_id = _site_id(wanted)
    site = next((s for s in sites if s.pk == site_id), None) if wanted is not None else sites[0]
    if site is None:
        return _no_such_site(request, wanted, sites)
    context = {"sites": sites, "site": site, **_lacking(site)}
    return render(request, "dashboard/status.html", context)


def _lacking(site: Site) -> dict[str, str]:
    """For each provider kind the site has none of (of prices: none it can collect), what the
    API's 409 says ("" when it has one): the page says it without asking the API for what it
    would refuse (a 409, which the browser's console logs as a failed resource)."""
    return {
        "no_carbon": "" if carbon.carbon_configs(site) else carbon.no_provider(site),
        "no_pricing": pricing.why_unpriced(site),
    }


@require_http_methods(["GET", "HEAD", "POST"])  # first: another method is a 405, not a login
@login_required(login_url=LOGIN_URL)
def setup(request: HttpRequest) -> HttpResponse:
    """POST: `action=test` checks the InfluxDB only, `action=create` creates and collects."""
    if request.method != "POST":
        return redirect("home")
    if not request.user.has_perms(SETUP_PERMISSIONS):
        raise PermissionDenied("Setting up a site needs a staff account.")
    if Site.objects.exists():
        messages.info(request, "A site exists already; edit it in the admin (Sites).")
        return redirect("home")
    form = SetupForm(request.POST)
    if problems := params.repeated(request.POST, ONE_VALUE):
        for name, problem in problems.items():
            form.add_error(None, f"{name}: {problem}")
        return _setup_page(request, form, status=400)
    action = request.POST.get("action")
    if action not in ACTIONS:  # a typo'd or missing action creates nothing
        what = "missing" if action is None else f"{action!r} is unknown"
        form.add_error(None, f"action: {what}; send {ACTIONS_SENT}.")
        return _setup_page(request, form, status=400)
    if action == "test":
        return _influx_test(request, form)
    if not form.is_valid():
        return _setup_page(request, form, status=400)
    data = form.cleaned_data
    site = first_run.create_site(data, form.pricing_region())
    for done in first_run.collect_now(site):
        # A partial run (e.g. prices that all end before now) is no success: its note says why.
        text = f"First collection of {done.provider}: {done.status_label()}"
        if done.status in ("ok", "partial"):
            text += f" ({done.written()} written)"
        said = messages.success if done.status == "ok" else messages.warning
        said(request, f"{text}. {done.error}".strip())
    note = first_run.settings_note(data["influxdb_url"], data["ha_database"])
    if note:
        messages.info(request, note)
    if note := site.other_zone_note():
        messages.warning(request, note)
    return redirect("home")


class Login(auth_views.LoginView):
    """The login page; until the first admin has logged in, it names that account and where
    the first start wrote its password (else a first-time user learns from no page which
    account to use). From then on it says nothing of accounts: the page is public. Not PUT,
    which Django's LoginView takes as a POST: it showed the form again, "required". A user
    already logged in is sent on to `next` (or the start page), not shown the form again."""

    template_name = "dashboard/login.html"
    http_method_names = ["get", "post", "head", "options"]

    @property
    def redirect_authenticated_user(self) -> bool:
        # Showing the form only (GET, HEAD): a login form posted is a login (another user's, from
        # a tab opened before), and a method the page does not take is its 405 for anyone.
        return self.request.method in ("GET", "HEAD")

    def get_redirect_url(self) -> str:
        # A `next` of this login page: the start page instead. A logged-in user would be sent
        # round and round (or, to /login/ itself, Django's "Redirection loop" 500).
        url = super().get_redirect_url()
        return "" if urlsplit(url).path == self.request.path else url

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        first = get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
        if first is None or first.last_login is not None:
            return context
        path = settings.FIRST_START_CREDENTIALS_FILE
        shown = (
            path.relative_to(settings.BASE_DIR) if path.is_relative_to(settings.BASE_DIR) else path
        )
        return {**context, "first_admin": first.get_username(), "credentials_file": shown}


@require_http_methods(["GET", "HEAD"])
@cache_control(public=True, max_age=86400)
def no_icon(request: HttpRequest) -> HttpResponse:
    """`/favicon.ico`, which browsers ask of every page (the admin's, the API's, the status
    page): 204, no icon, kept a day. A 404 there wrote a "Not Found" warning to the web log
    at each page a browser opened."""
    return HttpResponse(status=204)
