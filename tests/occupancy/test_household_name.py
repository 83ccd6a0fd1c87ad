"""A calendar's person named `household` is refused, naming the option and the reserved word:
its points (person=household, the site's tag) were the same InfluxDB series as the household's,
written at the same moment, so one overwrote the other at every fetch and minute task. The
admin refuses it before saving (ProviderConfig.clean), and a collection with a config saved
before refuses it before any call."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from collectors.base import ConfigError, Credentials, SiteInfo
from collectors.occupancy.google.adapter import GoogleCalendarAdapter
from enrich.models import ProviderConfig

pytestmark = pytest.mark.django_db
RESERVED = (
    "is 'household', a reserved word: the points with person=household are the whole "
    "household's (anyone home), and this person's would overwrite them. Give the person "
    "another name, e.g. their first name."
)
ENTRY = {"id": "family@group.calendar.google.com", "person": "household"}


@pytest.mark.parametrize(
    ("options", "where"),
    [
        ({"person": "household"}, "options.person"),
        ({"calendars": ["primary"], "person": "household"}, "options.person"),
        (
            {"calendars": ["primary", {"id": "work"}], "person": "household"},
            "options.person",
        ),
        (
            {"calendars": ["primary", ENTRY], "person": "alex"},
            f"the person of options.calendars entry {ENTRY!r}",
        ),
    ],
)
def test_a_person_named_household_is_refused_by_the_model(site, options, where):
    config = ProviderConfig(
        site=site, source="occupancy", provider="google_calendar", options=options
    )
    with pytest.raises(ValidationError) as info:
        config.full_clean()
    assert info.value.message_dict == {"options": [f"google_calendar: {where} {RESERVED}"]}


@pytest.mark.parametrize(
    "options",
    [
        {"person": "Household"},  # another tag value: its own series
        {"person": "household-alex"},
        {"calendars": [{"id": "work", "person": "sam"}], "person": "household"},  # not used
    ],
)
def test_other_names_are_saved(site, options):
    ProviderConfig(
        site=site, source="occupancy", provider="google_calendar", options=options
    ).full_clean()


def test_the_admin_form_refuses_it_and_saves_nothing(admin_client, site):
    form = {"site": site.pk, "source": "occupancy", "provider": "google_calendar",
            "enabled": "on", "interval_seconds": "900",
            "options": '{"calendars": ["primary", {"id": "kids", "person": "household"}]}'}  # fmt: skip
    page = admin_client.post(reverse("admin:enrich_providerconfig_add"), form)
    assert page.status_code == 200
    said = "the person of options.calendars entry {'id': 'kids', 'person': 'household'} "
    assert page.context["adminform"].form.errors["options"] == [
        f"google_calendar: {said}{RESERVED}"
    ]
    assert not ProviderConfig.objects.exists()
    form["options"] = '{"calendars": ["primary", {"id": "kids", "person": "kids"}]}'
    assert admin_client.post(reverse("admin:enrich_providerconfig_add"), form).status_code == 302
    assert ProviderConfig.objects.get().options["calendars"][1]["person"] == "kids"


def test_a_config_saved_before_is_refused_before_any_call():
    site = SiteInfo(name="Berlin flat", latitude=52.52, longitude=13.405, timezone="Europe/Berlin")
    credentials = Credentials(
        options={"token": "ya29.x", "account": "alex@example.com", "person": "household"}
    )
    with pytest.raises(ConfigError) as info:
        GoogleCalendarAdapter().target(site, credentials)
    assert str(info.value) == f"google_calendar: options.person {RESERVED}"
