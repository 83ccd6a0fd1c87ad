"""Every model registered in the admin has a working list page and add page (or refuses adding);
a flexible load beyond what /api/plan accepts, provider options PostgreSQL cannot store and an
API budget no run can read are refused; django-axes' cleanup of expired login attempts runs
from its list."""

import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from collectors.models import MAX_CARBON_PRICE, MAX_LOAD_KW, CollectorRun, FlexibleLoad
from config.api_access import AXES_COOLOFF_TIME
from enrich.models import ProviderConfig, Site

pytestmark = pytest.mark.django_db

MODELS = sorted(admin.site._registry, key=lambda m: m._meta.label)


@pytest.mark.parametrize("model", MODELS, ids=[m._meta.label for m in MODELS])
def test_list_page_renders(admin_client, model):
    meta = model._meta
    response = admin_client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
    assert response.status_code == 200
    assert meta.verbose_name_plural.lower() in response.content.decode().lower()


@pytest.mark.parametrize("model", MODELS, ids=[m._meta.label for m in MODELS])
def test_add_page_renders_or_is_refused(admin_client, admin_user, rf, model):
    meta = model._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_add")
    response = admin_client.get(url)
    request = rf.get(url)
    request.user = admin_user
    can_add = admin.site._registry[model].has_add_permission(request)
    assert response.status_code == (200 if can_add else 403)


LOAD_ADD = "admin:collectors_flexibleload_add"


def refused_load(admin_client, **given: str) -> tuple[dict, dict]:
    """Post the add form of a flexible load with `given` fields; it must come back with errors
    and save nothing. Returns (the form, its errors)."""
    site = Site.objects.create(name="Wien", latitude=48.2, longitude=16.4)
    form = {"site": site.pk, "name": "Dishwasher", "hours": "2", "deadline": "07:00",
            "carbon_price": "", "kw": "", "contiguous": "on", "max_windows": "",
            "enabled": "on"} | given  # fmt: skip
    page = admin_client.post(reverse(LOAD_ADD), form)
    assert page.status_code == 200
    assert not FlexibleLoad.objects.exists()
    return form, page.context["adminform"].form.errors


def test_a_flexible_load_beyond_the_plan_limits_is_refused(admin_client):
    # /api/plan refuses more (a figure of the plan would become infinite); a load configured
    # here feeds /api/plan/loads and the MQTT sensors, so the admin refuses it too
    form, errors = refused_load(admin_client, carbon_price="1000001", kw="100001")
    assert errors["kw"] == [f"Ensure this value is less than or equal to {MAX_LOAD_KW}."]
    assert errors["carbon_price"] == [
        f"Ensure this value is less than or equal to {MAX_CARBON_PRICE}."
    ]
    form.update(kw=str(MAX_LOAD_KW), carbon_price=str(MAX_CARBON_PRICE))
    assert admin_client.post(reverse(LOAD_ADD), form).status_code == 302
    assert FlexibleLoad.objects.get().kw == MAX_LOAD_KW


def test_a_flexible_load_of_no_whole_number_of_minutes_is_refused(admin_client):
    # Plans are made in whole minutes (/api/plan refuses hours=1.01): a load of 1.01 h was
    # saved and planned with an end at ...:00:36, its sensor's times off the minute.
    form, errors = refused_load(admin_client, hours="1.01")
    assert errors["hours"] == [
        "1.01 hours is not a whole number of minutes: e.g. 1.5 (90 min), 0.75 (45 min)."
    ]
    form.update(hours="0.3333")  # 20 minutes, to the half second
    assert admin_client.post(reverse(LOAD_ADD), form).status_code == 302
    assert FlexibleLoad.objects.get().hours == 0.3333


def test_a_refused_number_shows_an_example_that_fits_its_field(admin_client):
    # Every number field's refusal said "e.g. 51.5 or -0.12", a position's example: a load's
    # hours, carbon price and power too, none of which can be negative.
    fields = ("hours", "carbon_price", "kw")
    _, errors = refused_load(admin_client, **dict.fromkeys(fields, "١"))
    assert {name: errors[name] for name in fields} == dict.fromkeys(
        fields, ["Enter a number in the digits 0-9, e.g. 2.5."]
    )
    # A site's latitude and longitude, in the admin and the setup form (for a first site): a
    # position's.
    Site.objects.all().delete()
    form = {"name": "Flat", "latitude": "1_0", "longitude": "1_0", "timezone": "UTC",
            "providers-TOTAL_FORMS": "0", "providers-INITIAL_FORMS": "0"}  # fmt: skip
    admin_page = admin_client.post(reverse("admin:enrich_site_add"), form)
    setup = {"name": "Flat", "latitude": "1_0", "longitude": "1_0", "timezone": "UTC",
             "influxdb_url": "http://127.0.0.1:8186", "ha_database": "ha",
             "action": "create"}  # fmt: skip
    setup_page = admin_client.post("/setup/", setup)
    for shown in (admin_page.context["adminform"].form.errors, setup_page.context["form"].errors):
        assert shown["latitude"] == ["Enter a number in the digits 0-9, e.g. 51.5."]
        assert shown["longitude"] == ["Enter a number in the digits 0-9, e.g. -0.12."]
    assert not Site.objects.exists()


@pytest.mark.parametrize("value", ["١", "１", "1_0", " 1_0 ", "0x1", "nan", "-inf", "1e400"])
def test_a_number_in_other_digits_or_no_number_is_refused(admin_client, value):
    # Django's form fields read other scripts' digits and "1_0" (float(), int()): a load of
    # "١" hour was saved as 1, and a site at latitude "１２" at 12; the API refuses them all.
    fields = ("hours", "carbon_price", "kw", "max_windows")
    _, errors = refused_load(admin_client, **dict.fromkeys(fields, value))
    assert set(errors) == set(fields), errors
    form = {"name": "Flat", "latitude": value, "longitude": value, "timezone": "UTC",
            "providers-TOTAL_FORMS": "1", "providers-INITIAL_FORMS": "0",
            "providers-0-source": "carbon_intensity", "providers-0-provider": "uk_carbon_intensity",
            "providers-0-interval_seconds": value, "providers-0-options": "{}"}  # fmt: skip
    page = admin_client.post(reverse("admin:enrich_site_add"), form)
    assert page.status_code == 200
    assert {"latitude", "longitude"} <= set(page.context["adminform"].form.errors)
    [formset] = page.context["inline_admin_formsets"]
    assert "interval_seconds" in formset.formset.errors[0], formset.formset.errors
    assert not Site.objects.filter(name="Flat").exists()


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ('{"budget": NaN}', "Options cannot hold nan (NaN and infinities are not JSON numbers)."),
        ('{"window_hours": [1, Infinity]}', "Options cannot hold inf (NaN and infinities"),
        ('{"region": "DE\\u0000"}', "Options cannot hold a NUL character (\\u0000)."),
        ('{"a\\u0000": 1}', "Options cannot hold a NUL character (\\u0000)."),
        ('{"base_url": "\\ud800"}', "Options cannot hold a lone surrogate"),
        ('{"a": ' + "[" * 40 + "]" * 40 + "}", "Options cannot hold objects or lists nested"),
        ('{"a": ' + "[" * 200 + "]" * 200 + "}", "Options cannot hold objects or lists nested"),
        # Deeper than any Python's json reads (3.13 reads 5,000).
        ("[" * 100_000 + "]" * 100_000, "Enter valid JSON: nested too deeply."),
        (
            '{"window_hours": ' + "9" * 5000 + "}",
            "Enter valid JSON: a number of 5,000 digits (at most 4,300 are read).",
        ),
    ],
)
def test_provider_options_json_cannot_hold_is_a_form_error(admin_client, options, error):
    # Each passed the form and failed the save (PostgreSQL stores no NaN, infinity, NUL or lone
    # surrogate; the encoder's recursion) or failed the form field itself (RecursionError,
    # ValueError): a 500. The form says which.
    site = Site.objects.create(name="Berlin", latitude=52.5, longitude=13.4, pricing_region="DE")
    form = {"site": site.pk, "source": "electricity_pricing", "provider": "awattar",
            "enabled": "on", "interval_seconds": "3600", "options": options}  # fmt: skip
    page = admin_client.post(reverse("admin:enrich_providerconfig_add"), form)
    assert page.status_code == 200
    [shown] = page.context["adminform"].form.errors["options"]
    assert shown.startswith(error), shown
    assert not ProviderConfig.objects.exists()
    form["options"] = '{"window_hours": 3}'
    assert admin_client.post(reverse("admin:enrich_providerconfig_add"), form).status_code == 302


def test_provider_options_the_provider_does_not_read_are_refused(admin_client):
    # A misspelt option was saved and silently ignored: the run used the default URL instead.
    site = Site.objects.create(name="Berlin", latitude=52.5, longitude=13.4, pricing_region="DE")
    form = {"site": site.pk, "source": "electricity_pricing", "provider": "awattar",
            "enabled": "on", "interval_seconds": "3600", "options": '{"bse_url": "http://x"}'}  # fmt: skip
    page = admin_client.post(reverse("admin:enrich_providerconfig_add"), form)
    assert page.status_code == 200
    assert page.context["adminform"].form.errors["options"] == [
        "Unknown option for awattar: bse_url. awattar reads: base_url, budget, window_hours."
    ]
    assert "bse_url" in page.content.decode()
    assert not ProviderConfig.objects.exists()
    form["options"] = '{"base_url": "http://x", "budget": "50/day", "window_hours": 2}'
    assert admin_client.post(reverse("admin:enrich_providerconfig_add"), form).status_code == 302
    assert ProviderConfig.objects.get().options["base_url"] == "http://x"


@pytest.mark.parametrize("budget", ['"lots"', '"0/day"', "5", "true", '["100/day"]'])
def test_a_budget_no_run_can_read_is_a_form_error(admin_client, budget):
    # Saved without a word, and then every collection failed on it (options.budget).
    site = Site.objects.create(name="Berlin", latitude=52.5, longitude=13.4, pricing_region="DE")
    form = {"site": site.pk, "source": "electricity_pricing", "provider": "awattar",
            "enabled": "on", "interval_seconds": "3600", "options": f'{{"budget": {budget}}}'}  # fmt: skip
    page = admin_client.post(reverse("admin:enrich_providerconfig_add"), form)
    assert page.status_code == 200
    [shown] = page.context["adminform"].form.errors["options"]
    assert shown.startswith("options.budget: Budget ") and "is not understood" in shown, shown
    assert not ProviderConfig.objects.exists()
    form["options"] = '{"budget": "3000/5min"}'
    assert admin_client.post(reverse("admin:enrich_providerconfig_add"), form).status_code == 302
    assert ProviderConfig.objects.get().options == {"budget": "3000/5min"}


def test_a_site_cannot_get_a_second_row_for_a_provider_it_has(admin_client):
    # Django leaves the unique constraint unchecked for a new inline row: it reached the
    # database as an IntegrityError (a 500).
    site = Site.objects.create(name="Berlin", latitude=52.5, longitude=13.4, pricing_region="DE")
    ProviderConfig.objects.create(site=site, source="electricity_pricing", provider="awattar")
    form = {"name": "Berlin", "latitude": "52.5", "longitude": "13.4", "timezone": "UTC",
            "grid_region": "", "pricing_region": "DE", "enabled": "on",
            "providers-TOTAL_FORMS": "1", "providers-INITIAL_FORMS": "0",
            "providers-MIN_NUM_FORMS": "0", "providers-MAX_NUM_FORMS": "1000",
            "providers-0-source": "electricity_pricing", "providers-0-provider": "awattar",
            "providers-0-enabled": "on", "providers-0-interval_seconds": "3600",
            "providers-0-options": "{}"}  # fmt: skip
    page = admin_client.post(reverse("admin:enrich_site_change", args=[site.pk]), form)
    assert page.status_code == 200
    [formset] = page.context["inline_admin_formsets"]
    assert formset.formset.errors == [
        {"provider": ["This site has awattar for electricity pricing already."]}
    ]
    assert ProviderConfig.objects.count() == 1


def test_two_new_provider_rows_without_a_source_are_each_told_to_choose_one(admin_client):
    # A 500: the check for a row repeating another read the second row's missing source
    # (None) as a repeat of the first's and failed to name it in words.
    form = {"name": "Berlin", "latitude": "52.5", "longitude": "13.4", "timezone": "UTC",
            "grid_region": "", "pricing_region": "", "enabled": "on",
            "providers-TOTAL_FORMS": "2", "providers-INITIAL_FORMS": "0",
            "providers-MIN_NUM_FORMS": "0", "providers-MAX_NUM_FORMS": "1000"}  # fmt: skip
    for row in range(2):
        form |= {f"providers-{row}-source": "", f"providers-{row}-provider": "",
                 f"providers-{row}-interval_seconds": "3600", f"providers-{row}-options": "{}"}  # fmt: skip
    page = admin_client.post(reverse("admin:enrich_site_add"), form)
    assert page.status_code == 200
    [formset] = page.context["inline_admin_formsets"]
    required = ["This field is required."]
    assert formset.formset.errors == [{"source": required, "provider": required}] * 2
    assert not Site.objects.exists()


@pytest.mark.parametrize(
    ("method", "url", "data", "said"),
    [
        ("get", "/admin/collectors/collectorrun/", {"provider": "a\x00"}, "'provider': a NUL"),
        ("get", "/admin/enrich/site/", {"q": "\x00"}, "'q': a NUL character"),
        ("get", "/admin/collectors/collectorrun/", {"started__year": "9999"}, "up to 9998"),
        ("get", "/admin/retention/retentionrun/", {"started__year": "9" * 30}, "up to 9998"),
        ("post", "/admin/enrich/site/", {"action": "delete_selected", "_selected_action": "abc"},
         "rows are selected by their number"),
        # Other scripts' digits were read as the number (int()): a row nobody ticked, year 2026.
        ("post", "/admin/enrich/site/", {"action": "delete_selected", "_selected_action": "١"},
         "rows are selected by their number"),
        ("get", "/admin/collectors/collectorrun/", {"started__year": "٢٠٢٦"}, "digits 0-9"),
        ("get", "/admin/collectors/collectorrun/", {"started__year": "²"}, "digits 0-9"),  # a 500
    ],
)  # fmt: skip
def test_admin_input_its_own_code_fails_on_is_a_400(admin_client, method, url, data, said):
    # Each was a 500 inside Django's admin (PostgreSQL refusing NUL, a year past Python's
    # dates, a bulk action's query on an id that is no number).
    site = Site.objects.create(name="Berlin", latitude=52.5, longitude=13.4)
    response = getattr(admin_client, method)(url, data)
    assert response.status_code == 400
    assert said in response.content.decode()
    assert Site.objects.filter(pk=site.pk).exists()
    assert (
        admin_client.get(url, {"started__year": "2026"} if "run" in url else {}).status_code == 200
    )


@pytest.mark.parametrize(
    ("url", "data", "said"),
    [
        ("/admin/enrich/site/", {"_to_field": "latitude"},
         "_to_field: The field latitude cannot be referenced"),
        ("/admin/enrich/site/{pk}/change/", {"_to_field": "latitude"},
         "_to_field: The field latitude cannot be referenced"),
        ("/admin/auth/user/", {"password__startswith": "pbkdf2"},
         "Filtering by password__startswith not allowed"),
    ],
)  # fmt: skip
def test_a_parameter_the_admin_refuses_is_named_on_its_400_page(admin_client, url, data, said):
    # Django refuses them as suspicious (a 400), and its page said only "Bad Request (400)".
    site = Site.objects.create(name="Berlin", latitude=52.5, longitude=13.4)
    response = admin_client.get(url.format(pk=site.pk), data)
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == f"{said}; nothing was done."


def test_the_cleanup_of_expired_login_attempts_runs_from_the_admin(admin_client):
    # django-axes' own action read an attribute its middleware sets only on login requests:
    # an AttributeError (500) from the admin's list of access attempts
    def attempt(name, minutes_ago):
        made = AccessAttempt.objects.create(
            username=name, ip_address="192.0.2.7", user_agent="test", get_data="",
            post_data="", failures_since_start=1, path_info="/admin/login/",
        )  # fmt: skip
        when = timezone.now() - timedelta(minutes=minutes_ago)
        AccessAttempt.objects.filter(pk=made.pk).update(attempt_time=when)
        return made

    cool_off_minutes = AXES_COOLOFF_TIME * 60
    old = attempt("mallory", cool_off_minutes + 5)
    recent = attempt("eve", 1)
    page = admin_client.post(
        reverse("admin:axes_accessattempt_changelist"),
        {"action": "cleanup_expired_attempts", "_selected_action": [old.pk, recent.pk]},
        follow=True,
    )
    assert page.status_code == 200
    assert "Cleaned up 1 expired access attempt." in page.content.decode()  # not "attempts"
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["eve"]


def test_a_saved_config_that_cannot_collect_is_named_with_the_reason(admin_client):
    # Saved all the same (a Google Calendar config is connected after it is saved); before,
    # the reason showed only in the failed run the next collection recorded.
    site = Site.objects.create(name="Berlin", latitude=52.5, longitude=13.4)
    form = {"site": site.pk, "source": "smart_meter", "provider": "home_assistant",
            "enabled": "on", "interval_seconds": "300",
            "options": '{"base_url": "http://ha.local:8123", "total_entity": "sensor.home_power"}'}  # fmt: skip
    page = admin_client.post(reverse("admin:enrich_providerconfig_add"), form, follow=True)
    config = ProviderConfig.objects.get()
    no_token = "Home Assistant meter: put a long-lived access token"
    said = [str(message) for message in page.context["messages"]]
    assert [m for m in said if "cannot collect" in m] == [
        f"{config}: saved, but it cannot collect yet: {config.collect_problem()}"
    ]
    assert config.collect_problem().startswith(no_token)
    # The source as the form and the list's filter label it (it read "smart_meter").
    assert str(config) == "Berlin · smart meter · home_assistant"
    listed = admin_client.get(reverse("admin:enrich_providerconfig_changelist")).content.decode()
    assert no_token in listed
    # with the token it can: no warning, nothing listed
    form["api_key"] = "long-lived-token"
    change = reverse("admin:enrich_providerconfig_change", args=[config.pk])
    page = admin_client.post(change, form, follow=True)
    assert not [m for m in page.context["messages"] if "cannot collect" in str(m)]
    config.refresh_from_db()
    assert (config.api_key, config.collect_problem()) == ("long-lived-token", "")
    assert (
        no_token
        not in admin_client.get(reverse("admin:enrich_providerconfig_changelist")).content.decode()
    )


def test_a_site_saved_with_a_provider_that_cannot_collect_is_warned(admin_client):
    site = Site.objects.create(name="Leeds", latitude=53.8, longitude=-1.5, grid_region="99")
    ProviderConfig.objects.create(
        site=site, source="carbon_intensity", provider="uk_carbon_intensity"
    )
    form = {"name": "Leeds", "latitude": "53.8", "longitude": "-1.5", "timezone": "Europe/London",
            "grid_region": "99", "pricing_region": "", "enabled": "on",
            "providers-TOTAL_FORMS": "0", "providers-INITIAL_FORMS": "0",
            "providers-MIN_NUM_FORMS": "0", "providers-MAX_NUM_FORMS": "1000"}  # fmt: skip
    page = admin_client.post(reverse("admin:enrich_site_change", args=[site.pk]), form, follow=True)
    said = [str(m) for m in page.context["messages"] if "cannot collect" in str(m)]
    assert len(said) == 1 and "UK Carbon Intensity region id 99 does not exist" in said[0]
    form["grid_region"] = "13"
    page = admin_client.post(reverse("admin:enrich_site_change", args=[site.pk]), form, follow=True)
    assert not [m for m in page.context["messages"] if "cannot collect" in str(m)]


def test_a_partial_run_is_labelled_true_for_a_backfill_and_for_prices_ending_before_now(
    admin_client,
):
    # The label said "latest written, backfill failed": wrong for a price answer whose
    # prices all end before now (nothing is missing from what was written but the present).
    started = timezone.now()
    for provider, note in [
        ("electricitymaps", "history failed: TransientError: HTTP 503"),
        ("octopus", "octopus: no published price covers now (…): the published prices end at …"),
    ]:
        CollectorRun.objects.create(source="electricity_pricing", provider=provider,
                                    target="t", started=started, status="partial",
                                    points_written=48, error=note)  # fmt: skip
    page = admin_client.get("/admin/collectors/collectorrun/", {"status__exact": "partial"})
    text = page.content.decode()
    assert page.status_code == 200
    assert text.count('<td class="field-status">written in part; asked again next run</td>') == 2
    assert "backfill failed" not in text


def test_every_model_on_the_admin_index_is_named_in_plain_english(admin_client):
    # The materialized views were listed as "Daily carbon summarys", "Hourly room activitys"
    # and "Daily energy by devices" (Django adds an "s" to a name without a plural).
    page = admin_client.get(reverse("admin:index")).content.decode()
    for name in (
        "Daily carbon summaries",
        "Hourly room activity rows",
        "Daily energy by device rows",
    ):
        assert name in page
    assert not re.findall(r"\b\w*[^aeiou\W]ys\b", page)


OURS = [m for m in MODELS if m._meta.app_label in ("enrich", "collectors", "retention")]
# Words Django leaves as the field's name spells them: "Api key", "Duration ms", "Kw", "Total
# kwh", "Storage before bytes" were the admin's headings and labels.
FIELD_NAME_WORDS = re.compile(r"\b(api|ms|kw|kwh|mb|bytes)\b")


def test_every_field_names_api_and_its_unit_as_the_admin_writes_them(admin_client):
    wrong = [
        f"{model._meta.label}.{field.name}: {field.verbose_name}"
        for model in OURS
        for field in model._meta.fields
        if FIELD_NAME_WORDS.search(re.sub(r"\([^)]*\)", "", str(field.verbose_name)))
    ]
    assert wrong == []
    CollectorRun.objects.create(
        source="electricity_pricing", provider="awattar", target="AT", started=timezone.now(),
        duration_ms=2705, status="ok",
    )  # fmt: skip
    runs = admin_client.get(reverse("admin:collectors_collectorrun_changelist")).content.decode()
    assert ">Duration (ms)<" in runs
    site = Site.objects.create(name="Wien", latitude=48.2, longitude=16.4)
    config = ProviderConfig.objects.create(
        site=site, source="electricity_pricing", provider="awattar"
    )
    page = admin_client.get(reverse("admin:enrich_providerconfig_change", args=[config.pk]))
    assert '<label for="id_api_key">API key:</label>' in page.content.decode()


@pytest.mark.parametrize("options", ["", "  \n "])
def test_provider_options_left_empty_mean_none(admin_client, options):
    # "Options must be a JSON object." for a field the form offers as optional, and, for
    # spaces, "Enter a valid JSON.".
    site = Site.objects.create(name="Berlin", latitude=52.5, longitude=13.4, pricing_region="DE")
    form = {"site": site.pk, "source": "electricity_pricing", "provider": "awattar",
            "enabled": "on", "interval_seconds": "3600", "options": options}  # fmt: skip
    assert admin_client.post(reverse("admin:enrich_providerconfig_add"), form).status_code == 302
    assert ProviderConfig.objects.get().options == {}
