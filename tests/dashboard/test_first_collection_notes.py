"""What the setup says of each first collection: what it wrote, by kind (prices now, price or
forecast slots ahead), and a run that wrote only part of what it wanted (`partial`, e.g.
prices that all end before now) its note, as a warning, as a failed run names its error; each
run's status in the admin's words ("written in part; asked again next run"), not its id."""

import html
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User

from collectors.models import CollectorRun
from tests.support.setup_form import FORM
from tests.support.status_home import register_electricitymaps, register_gb

# The first collection runs in threads of their own: they read the site the POST created.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.influxdb]


def test_a_first_collection_whose_prices_end_before_now_says_so(
    client, replay_server, isolated, settings
):
    # Octopus's published day, moved so that its last half hour ended more than an hour ago:
    # the next day's rates are late. The page said "partial, 48 points written" as a success,
    # and nothing of the prices ending before now.
    rates = register_gb(replay_server, datetime.now(UTC) - timedelta(hours=12))["rates"]
    settings.PROVIDER_BASE_URLS = {"octopus": replay_server.url}
    client.force_login(User.objects.create_superuser("admin", "a@example.com", "x"))
    form = {**FORM, "providers": ["octopus"], "octopus_region": "C"}
    page = client.post("/setup/", form, follow=True)

    assert page.status_code == 200
    [run] = CollectorRun.objects.all()
    assert (run.status, run.points_written) == ("partial", 48)
    ended = max(datetime.fromisoformat(r["valid_to"].replace("Z", "+00:00")) for r in rates)
    [said] = [m for m in page.context["messages"] if "octopus" in str(m)]
    assert said.level_tag == "warning"  # not a success
    text = str(said)
    # The 48 published half hours, named as what they are: it said "48 points written".
    # The run's status in the admin's words: it said "partial", the id.
    assert text.startswith(
        "First collection of octopus: written in part; asked again next run "
        "(48 price slots written). "
    )
    assert f"the published prices end at {ended.isoformat()}" in text
    assert "the next ones may be late" in text and "16:00 UK time" in text
    # The whole note, as the run records it, but for the provider the page named already (it
    # read "First collection of octopus: ... octopus: tariff ...").
    assert run.error.startswith("octopus: ") and text.endswith(run.error.removeprefix("octopus: "))
    assert text.count("octopus") == 1, text
    assert f'<li class="message-warning">{text}' in page.content.decode().replace("&#x27;", "'")


def test_a_first_collection_of_one_point_says_one_point(
    client, replay_server, isolated, settings, caplog
):
    # Electricity Maps' latest value alone (no forecast asked): the page said "1 points written".
    register_electricitymaps(replay_server)
    settings.PROVIDER_BASE_URLS = {"electricitymaps": replay_server.url}
    client.force_login(User.objects.create_superuser("admin", "a@example.com", "x"))
    form = {**FORM, "providers": ["electricitymaps"], "electricitymaps_key": "em-key"}
    page = client.post("/setup/", form, follow=True)

    [run] = CollectorRun.objects.all()
    assert (run.status, run.points_written) == ("ok", 1)
    [said] = [str(m) for m in page.context["messages"] if "electricitymaps" in str(m)]
    assert said == (
        "First collection of electricitymaps: fetched and written (1 intensity value written)."
    )
    # The worker's log too: it said "wrote 1 points".
    assert ": wrote 1 point (window " in caplog.text


def test_a_first_collection_says_what_it_wrote_not_a_count_of_points(
    client, replay_server, isolated, settings
):
    # Octopus' published day around now and UK Carbon Intensity's current half hour and 48 h
    # forecast: the page said "49 points written" and "97 points written", read as measured
    # values, where most are the prices and forecasts of the slots ahead.
    answers = register_gb(replay_server)
    settings.PROVIDER_BASE_URLS = {p: replay_server.url for p in ("octopus", "uk_carbon_intensity")}
    client.force_login(User.objects.create_superuser("admin", "a@example.com", "x"))
    form = {**FORM, "providers": ["octopus", "uk_carbon_intensity"], "octopus_region": "C",
            "grid_region": "RG10 9XX"}  # fmt: skip
    page = client.post("/setup/", form, follow=True)

    runs = {run.provider: run for run in CollectorRun.objects.all()}
    said = {p: [str(m) for m in page.context["messages"] if f"of {p}:" in str(m)] for p in runs}
    assert runs["octopus"].points_written == len(answers["rates"]) + 1
    assert said["octopus"] == [
        f"First collection of octopus: fetched and written (1 current price and "
        f"{len(answers['rates'])} price slots written)."
    ]
    assert runs["uk_carbon_intensity"].points_written == 1 + 96
    assert said["uk_carbon_intensity"] == [  # the half hour now, and 48 h of half hours ahead
        "First collection of uk_carbon_intensity: fetched and written (1 intensity value and 96 "
        "forecast slots written)."
    ]


def test_kinds_the_page_has_no_name_for_are_counted_as_points_of_their_measurement():
    from dashboard.first_run import points_in_words

    written = {"air_quality": 2, "electricity_pricing_forecast": 1, "electricity_pricing": 1}
    assert points_in_words(written) == "1 current price, 1 price slot and 2 air_quality points"
    assert points_in_words({}) == ""


def test_a_first_collection_the_api_had_no_data_for_says_so_in_words(
    client, replay_server, isolated, settings
):
    # aWATTar answering an empty day: the page said "First collection of awattar: no_data.",
    # the status's id, where the admin's collector runs say "API had no data".
    replay_server.add("GET", "/v1/marketdata", json={"object": "list", "data": []})
    settings.PROVIDER_BASE_URLS = {"awattar": replay_server.url}
    client.force_login(User.objects.create_superuser("admin", "a@example.com", "x"))
    form = {**FORM, "providers": ["awattar"], "country": "DE", "timezone": "Europe/Berlin"}
    page = client.post("/setup/", form, follow=True)

    [run] = CollectorRun.objects.all()
    assert (run.status, run.points_written, run.error) == ("no_data", 0, "")
    [said] = [m for m in page.context["messages"] if "awattar" in str(m)]
    assert said.level_tag == "warning"
    assert str(said) == "First collection of awattar: API had no data."


def test_a_failed_first_collection_says_what_went_wrong_without_the_error_class(
    client, replay_server, isolated, settings
):
    # aWATTar down: the page said "First collection of awattar: failed. TransientError: HTTP
    # 503 ...", the name of a Python class, which means nothing to a person setting up a home.
    replay_server.add("GET", "/v1/marketdata", status=503, body="busy")
    settings.PROVIDER_BASE_URLS = {"awattar": replay_server.url}
    settings.HTTP_MAX_RETRIES, settings.HTTP_BACKOFF_SECONDS = 1, 0
    client.force_login(User.objects.create_superuser("admin", "a@example.com", "x"))
    form = {**FORM, "providers": ["awattar"], "country": "DE", "timezone": "Europe/Berlin"}
    page = client.post("/setup/", form, follow=True)

    [run] = CollectorRun.objects.all()
    assert run.status == "failed"
    kind, _, message = run.error.partition(": ")
    assert kind == "TransientError" and "HTTP 503" in message  # the record keeps the class
    [said] = [m for m in page.context["messages"] if "awattar" in str(m)]
    assert said.level_tag == "warning"
    # Named once: it read "First collection of awattar: failed. awattar: http://...".
    assert message.startswith("awattar: http://")
    message = message.removeprefix("awattar: ")
    assert str(said) == f"First collection of awattar: failed. {message}"
    shown = html.unescape(page.content.decode())  # what the browser shows
    assert f'<li class="message-warning">First collection of awattar: failed. {message}' in shown
    assert "TransientError" not in shown
