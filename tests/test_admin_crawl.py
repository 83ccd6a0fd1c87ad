"""A staff user clicking through the admin of a messy installation: every registered model's
list (each filter value, a search with unicode and %, each sortable column, the next page), each
row's change, history and delete confirmation pages, the add page, and each list action (the
deletion through its confirmation) answer without a 500; the other pages with odd query strings
too. Then the defects the crawl found, one test each."""

from datetime import date, time, timedelta
from urllib.parse import urlencode

import pytest
from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from collectors.models import CircuitKey, CollectorRun, FlexibleLoad
from config.celery import app
from enrich.models import OAuthConnection, ProviderConfig, Site
from retention import models as kept

pytestmark = pytest.mark.django_db

MODELS = sorted(admin.site._registry, key=lambda m: m._meta.label)
OTHER_KEY = "b3RoZXIta2V5LW90aGVyLWtleS1vdGhlci1rZXktMDE="
SEARCH = "Zürich 100% _'\"<b>"


def messy_installation() -> None:
    now = timezone.now()
    empty = Site.objects.create(name="Zürich Küche 東京", latitude=47.4, longitude=8.5,
                                timezone="Europe/Zurich")  # fmt: skip
    site = Site.objects.create(name="Berlin 100%", latitude=52.5, longitude=13.4,
                               pricing_region="DE", enabled=False)  # fmt: skip
    bad = ProviderConfig.objects.create(site=site, source="electricity_pricing",
                                        provider="awattar", api_key="sëcret", password="pw",
                                        options={"bse_url": "x"})  # fmt: skip
    ProviderConfig.objects.filter(pk=bad.pk).update(options="not an object")
    with override_settings(FIELD_ENCRYPTION_KEY=OTHER_KEY):  # saved with a key since replaced
        tibber = ProviderConfig.objects.create(site=site, source="electricity_pricing",
                                               provider="tibber", api_key="old", session='{"a": 1}')  # fmt: skip
        OAuthConnection.objects.create(provider_config=ProviderConfig.objects.create(
            site=site, source="occupancy", provider="google_calendar"), refresh_token="old")  # fmt: skip
    ProviderConfig.objects.filter(pk=tibber.pk).update(password="plain, never encrypted")
    calendar = ProviderConfig.objects.create(site=empty, source="occupancy",
                                             provider="google_calendar", options={})  # fmt: skip
    OAuthConnection.objects.create(provider_config=calendar, account_email="ü@example.org",
                                   refresh_token="r", access_token="a", status="needs_reconnect",
                                   last_error="x" * 5000, token_expiry=now)  # fmt: skip
    for status, _label in CollectorRun.Status.choices:
        CollectorRun.objects.create(source="carbon_intensity", provider="watttime",
                                    target="Zürich 100%", started=now, status=status,
                                    error="Trace ü\n" * 2000)  # fmt: skip
    CircuitKey.objects.create(site=site, scope="emporia_vue/123", key="küche", owner='["1"]')
    FlexibleLoad.objects.create(site=site, name="Smelter ü", hours=24, deadline=time(0, 0),
                                carbon_price=1_000_000, kw=100_000, max_windows=32767)  # fmt: skip
    FlexibleLoad.objects.create(site=empty, name="Dish", hours=0.25, deadline=time(23, 59))
    for kind, _label in kept.Entity.Kind.choices:
        kept.Entity.objects.create(entity_id=f"sensor.{kind}_ü", kind=kind, layout="official",
                              measurement="state", series=[{"measurement": "W", "unit": "W"}],
                              in_views=kind != "text")  # fmt: skip
    runs = [
        kept.RetentionRun.objects.create(operation=op, status=status, started=now - timedelta(days=i),
                                    details={"days": {str(d): {"x": "ü" * 50} for d in range(100)}},
                                    errors="boom %\n" * 500)  # fmt: skip
        for i, (op, status) in enumerate(
            (op, status) for op, _ in kept.RetentionRun.Operation.choices
            for status, _ in kept.RetentionRun.Status.choices
        )
    ]  # fmt: skip
    kept.Alert.objects.create(run=runs[2], kind="failed", message="ü" * 400, sent=now)
    kept.Alert.objects.create(run=runs[3], kind="overrun", message="late", delivery_error="refused")
    kept.ArchiveObject.objects.create(key="archives/2020/data_2020-01-01.parquet", target="s3",
                                 start_date=date(2020, 1, 1), end_date=date(2020, 1, 31),
                                 record_count=10**12, file_size=2**40, checksum="0" * 64,
                                 compression="zstd", created=now, expired=now)  # fmt: skip
    kept.ArchiveObject.objects.create(key="archives/2021/ü.parquet", target="local",
                                 start_date=date(2021, 1, 1), end_date=date(2021, 1, 1),
                                 record_count=0, file_size=0, checksum="", compression="snappy",
                                 created=now)  # fmt: skip
    for i, (state, _label) in enumerate(kept.TierChunk.State.choices):
        kept.TierChunk.objects.create(tier="hourly", day=date(2026, 1, 1 + i), state=state,
                                 kept_raw=["sensor.x"] * 100)  # fmt: skip
    kept.DailyEnergyByDevice.objects.create(entity_id="sensor.energy_ü", date=date(2026, 1, 1),
                                       total_kwh=1.5, avg_power=None, peak_power=None,
                                       cost=None)  # fmt: skip
    kept.HourlyRoomActivity.objects.create(area="", hour=now, day_of_week=0, motion_count=0,
                                      occupancy_rate=0)  # fmt: skip
    kept.DailyCarbonSummary.objects.create(date=date(2026, 1, 1), region="Zürich", avg_carbon=None)
    AccessAttempt.objects.create(username="ü%", ip_address="192.0.2.1", user_agent="x",
                                 get_data="", post_data="", failures_since_start=3,
                                 path_info="/admin/login/")  # fmt: skip
    get_user_model().objects.create_user("zoë", password="pw-zoë-123", is_staff=True)
    every = IntervalSchedule.objects.create(every=5, period="minutes")
    cron = CrontabSchedule.objects.create(minute="*/15", timezone="Europe/Zurich")
    PeriodicTask.objects.create(name="Collect ü", task="collectors.tasks.collect", interval=every)
    PeriodicTask.objects.create(name="Daily 100%", task="x", crontab=cron, enabled=False,
                                last_run_at=now, kwargs='{"a": 1}')  # fmt: skip


def list_urls(client, url: str) -> list[str]:
    """Every filter choice, sort order, search and date-hierarchy link the list shows."""
    page = client.get(url)
    assert page.status_code == 200, url
    cl = page.context["cl"]
    urls = [url + choice["query_string"] for spec in cl.filter_specs for choice in spec.choices(cl)]
    columns = range(len(cl.list_display))  # sorted by every column at once, both ways
    urls += [f"{url}?o=" + ".".join(f"{sign}{i}" for i in columns) for sign in ("", "-")]
    urls += [f"{url}?{urlencode({'q': SEARCH})}"] if cl.search_fields else []
    urls += [f"{url}?p=2", f"{url}?all="]
    if cl.date_hierarchy:
        field = cl.date_hierarchy
        urls += [f"{url}?{field}__year=2026", f"{url}?{field}__year=2026&{field}__month=1",
                 f"{url}?{field}__year=2026&{field}__month=1&{field}__day=1"]  # fmt: skip
    return urls


@pytest.mark.parametrize("model", MODELS, ids=[m._meta.label for m in MODELS])
def test_every_admin_page_and_action_of_a_messy_installation_answers(
    admin_client, admin_user, rf, model, monkeypatch
):
    messy_installation()
    monkeypatch.setattr(admin.site._registry[model], "list_per_page", 2)  # ?p=2 is a page
    meta = model._meta
    name = f"admin:{meta.app_label}_{meta.model_name}"
    for url in list_urls(admin_client, reverse(f"{name}_changelist")):
        assert admin_client.get(url).status_code in (200, 302), url
    for pk in model._default_manager.values_list("pk", flat=True)[:2]:
        for view in ("change", "history", "delete"):
            url = reverse(f"{name}_{view}", args=[pk])
            # A record that must stay: its delete page sends back to its page, saying why.
            answers = (200, 302, 403) if view == "delete" else (200, 403)
            assert admin_client.get(url).status_code in answers, url
    assert admin_client.get(reverse(f"{name}_add")).status_code in (200, 403)
    # Each action on the first two rows, the deletion through its confirmation page.
    url = reverse(f"{name}_changelist")
    request = rf.get(url)
    request.user = admin_user
    for action in admin.site._registry[model].get_actions(request):
        rows = model._default_manager.values_list("pk", flat=True)
        if model is type(admin_user):
            rows = rows.exclude(pk=admin_user.pk)  # not the signed-in user: the test goes on
        if kept_because := getattr(admin.site._registry[model], "kept_because", None):
            rows = [r.pk for r in model._default_manager.filter(pk__in=rows) if not kept_because(r)]
        chosen = list(rows[:2])
        if not chosen:
            continue
        form = {"action": action, "_selected_action": chosen}
        page = admin_client.post(url, form)
        if action == "delete_selected":
            assert page.status_code == 200 and page.context["title"] == "Delete multiple objects"
            page = admin_client.post(url, {**form, "post": "yes"})
            assert not model._default_manager.filter(pk__in=chosen).exists()
        assert page.status_code == 302, (action, page.status_code)
        said = [str(m) for m in admin_client.get(url).context["messages"]]
        assert said, action
        if action == "delete_selected":
            assert said[0].startswith(f"Successfully deleted {len(chosen)} "), said


ODD_VALUES = ["abc", "ü東京", "100%", "-1", "1e309", "9" * 30, "", " 1", "<b>"]
PAGES = ["/", "/login/", "/oauth/google/", "/oauth/google/callback", "/admin/",
         *(f"/admin/{app}/" for app in ("enrich", "collectors", "retention",
                                        "django_celery_beat", "auth", "axes"))]  # fmt: skip


def test_the_pages_of_a_messy_installation_answer_odd_query_strings(admin_client):
    # Each a page (200), a 400 naming what is wrong, or a redirect; never a 500.
    messy_installation()
    for page in PAGES:
        for value in ODD_VALUES:
            for query in ({"site": value}, dict.fromkeys(("next", "state", "code", "error", "q"), value)):  # fmt: skip
                status = admin_client.get(page, query).status_code
                assert status in (200, 302, 400), (page, query, status)
    for value in ODD_VALUES:  # the connect button's site
        page = admin_client.post("/oauth/google/connect", {"site": value})
        assert page.status_code == 400 and "Unknown site" in page.content.decode()


def test_a_provider_config_whose_options_are_no_object_is_listed_with_the_reason(admin_client):
    # A row written past the form (a fixture, the shell, SQL) with options that are no JSON
    # object: the list of provider configs was a 500 (a ValueError reading its credentials).
    site = Site.objects.create(name="Berlin", latitude=52.5, longitude=13.4, pricing_region="DE")
    config = ProviderConfig.objects.create(site=site, source="electricity_pricing",
                                           provider="awattar")  # fmt: skip
    ProviderConfig.objects.filter(pk=config.pk).update(options=["DE"])
    page = admin_client.get(reverse("admin:enrich_providerconfig_changelist"))
    assert page.status_code == 200
    said = "options must be a JSON object, not [&quot;DE&quot;]; correct them in the admin"
    assert said in page.content.decode()
    change = reverse("admin:enrich_providerconfig_change", args=[config.pk])
    assert admin_client.get(change).status_code == 200


@pytest.mark.parametrize(
    ("model", "field", "value", "error"),
    [
        (FlexibleLoad, "hours", "1" + "0" * 20, "less than or equal to 24"),
        (ProviderConfig, "options", "-1", "Options must be a JSON object."),
        (ProviderConfig, "options", "[1]", "Options must be a JSON object."),
    ],
)
def test_a_refused_change_shows_the_form_again_with_the_error(
    admin_client, model, field, value, error
):
    # The pages' computed fields (the load's recommended start, the config's "cannot collect")
    # were computed from the refused values: the planner and the pricing adapter failed on
    # them, a 500 instead of the form with its error.
    site = Site.objects.create(name="Zürich", latitude=47.4, longitude=8.5, pricing_region="DE")
    if model is FlexibleLoad:
        row = FlexibleLoad.objects.create(site=site, name="Dish", hours=2, deadline=time(7))
        form = {"site": site.pk, "name": "Dish", "hours": value, "deadline": "07:00",
                "contiguous": "on", "enabled": "on"}  # fmt: skip
    else:
        row = ProviderConfig.objects.create(site=site, source="electricity_pricing",
                                            provider="awattar")  # fmt: skip
        form = {"site": site.pk, "source": "electricity_pricing", "provider": "awattar",
                "enabled": "on", "interval_seconds": "3600", "options": value}  # fmt: skip
    meta = model._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[row.pk])
    page = admin_client.post(url, form)
    assert page.status_code == 200
    [shown] = page.context["adminform"].form.errors[field]
    assert error in shown
    assert model.objects.get(pk=row.pk).__dict__[field] == row.__dict__[field]


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("headers", "[]", 'Enter a JSON object, e.g. {"a": 1}; the beat cannot send this.'),
        ("headers", "{bad", "Enter valid JSON: Expecting property name"),
        ("args", '{"a": 1}', 'Enter a JSON list, e.g. [1, "a"]; the beat cannot send this.'),
        ("kwargs", "[1]", 'Enter a JSON object, e.g. {"a": 1}; the beat cannot send this.'),
        ("task", "x" * 201, "Ensure this value has at most 200 characters (it has 201)."),
    ],
)
def test_a_periodic_task_the_beat_cannot_send_is_refused(admin_client, field, value, error):
    # Saved before: headers of [] stopped the beat loading any schedule (a TypeError), headers
    # that were no JSON left the task out without a word, arguments of the wrong shape failed
    # every run; a task name over 200 characters was a 500.
    every = IntervalSchedule.objects.create(every=5, period="minutes")
    task = PeriodicTask.objects.create(name="Collect", task="enrich.check_services", interval=every)
    form = {"name": "Collect", "regtask": "", "task": "enrich.check_services", "enabled": "on",
            "interval": every.pk, "args": "[]", "kwargs": "{}", "headers": "{}", field: value}  # fmt: skip
    url = reverse("admin:django_celery_beat_periodictask_change", args=[task.pk])
    page = admin_client.post(url, form)
    assert page.status_code == 200
    [shown] = page.context["adminform"].form.errors[field]
    assert shown.startswith(error), shown
    assert getattr(PeriodicTask.objects.get(), field) == getattr(task, field)
    assert list(DatabaseScheduler(app=app, lazy=True).all_as_schedule()) == ["Collect"]
    # empty headers (an IntegrityError, a 500, before) mean none
    form.update({field: getattr(task, field)}, headers="")
    assert admin_client.post(url, form).status_code == 302
    assert PeriodicTask.objects.get().headers == "{}"


def test_a_crontab_refused_for_a_bad_field_shows_the_form_again(admin_client):
    # Its description was computed from the refused values: a 500.
    cron = CrontabSchedule.objects.create(minute="5", hour="3", timezone="Europe/Zurich")
    form = {"minute": "-1", "hour": "3", "day_of_month": "*", "month_of_year": "*",
            "day_of_week": "*", "timezone": "Europe/Zurich"}  # fmt: skip
    url = reverse("admin:django_celery_beat_crontabschedule_change", args=[cron.pk])
    page = admin_client.post(url, form)
    assert page.status_code == 200
    assert page.context["adminform"].form.errors["minute"] == [
        "\"No enumeration for Minutes: '-1'\""
    ]
    assert "At 03:05 AM" in page.content.decode()  # the saved schedule's description
    assert CrontabSchedule.objects.get().minute == "5"


def test_a_long_run_error_is_listed_cut_with_a_mark(admin_client):
    # The list showed its first 120 characters as if they were the whole error.
    error = "Electricity Maps answered 503: " + "upstream unavailable; " * 20
    CollectorRun.objects.create(source="carbon_intensity", provider="electricitymaps",
                                target="DE", started=timezone.now(), status="failed",
                                error=error)  # fmt: skip
    page = admin_client.get(reverse("admin:collectors_collectorrun_changelist")).content.decode()
    assert f'<td class="field-short_error">{error[:119]}…</td>' in page


def test_the_tier_chunks_list_counts_the_entities_a_day_kept_raw(admin_client):
    # It printed every entity id a day kept raw in one cell (thousands on a large install).
    raw_ids = [f"sensor.plug_{n}_power" for n in range(300)]
    kept.TierChunk.objects.create(tier="hourly", day=date(2026, 1, 1), state="deleted",
                                  kept_raw=raw_ids)  # fmt: skip
    page = admin_client.get(reverse("admin:retention_tierchunk_changelist")).content.decode()
    assert '<td class="field-kept_raw_entities">300</td>' in page
    assert "sensor.plug_7_power" not in page


@pytest.mark.parametrize("zone", ["Mars/Base", "localtime"])
def test_a_load_of_a_site_whose_zone_is_none_says_so(admin_client, zone):
    # A site row written past its form: the load's page was a 500 (ZoneInfoNotFoundError), or
    # planned by the host's own zone ("localtime").
    site = Site.objects.create(name="Home", latitude=52.5, longitude=13.4, pricing_region="DE")
    load = FlexibleLoad.objects.create(site=site, name="Dish", hours=2, deadline=time(7))
    Site.objects.filter(pk=site.pk).update(timezone=zone)
    page = admin_client.get(reverse("admin:collectors_flexibleload_change", args=[load.pk]))
    assert page.status_code == 200
    said = f"The site&#x27;s time zone &#x27;{zone}&#x27; is no IANA time zone name; correct it"
    assert said in page.content.decode()


def test_the_views_lists_name_the_unit_of_each_measured_column(admin_client):
    # "Avg power", "Avg carbon", "Avg renewable": W, gCO2/kWh and % were on no list page.
    kept.DailyEnergyByDevice.objects.create(entity_id="sensor.heat_pump_power", total_kwh=12.5,
                                            date=date(2026, 1, 5), avg_power=520.8,
                                            peak_power=2400.0)  # fmt: skip
    kept.DailyCarbonSummary.objects.create(date=date(2026, 1, 5), region="DE", avg_carbon=380.5,
                                           min_carbon=210.0, max_carbon=512.0, avg_renewable=41.0)  # fmt: skip
    for view, headings in (
        ("dailyenergybydevice", ["avg power (W)", "peak power (W)"]),
        ("dailycarbonsummary", ["avg carbon (gCO2/kWh)", "max carbon (gCO2/kWh)", "avg renewable (%)"]),
        ("hourlyroomactivity", ["occupancy rate (0..1)"]),
    ):  # fmt: skip
        page = admin_client.get(reverse(f"admin:retention_{view}_changelist"))
        shown = [str(header["text"]) for header in page.context["result_headers"]]
        assert set(headings) <= set(shown), shown
        assert admin_client.get(page.request["PATH_INFO"], {"o": "-4"}).status_code == 200
    page = admin_client.get(reverse("admin:retention_dailyenergybydevice_changelist"))
    assert "520.8" in page.content.decode()
