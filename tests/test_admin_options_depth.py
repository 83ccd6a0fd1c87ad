"""Provider options nested too deep for storing are a form error in the admin naming the
option, counted the same whatever the innermost value (enrich.models.MAX_OPTIONS_DEPTH)."""

import pytest
from django.urls import reverse

from enrich.models import ProviderConfig, Site

pytestmark = pytest.mark.django_db


def calendar_options(levels: int, empty: str) -> str:
    """Options `levels` deep, the options object the first: a calendar whose `person` is
    objects ({"a": ...}) or lists nested down to an empty one, `empty` ("{}" or "[]")."""
    inner = levels - 3  # the options object, the calendars list, the calendar
    person = '{"a": ' * (inner - 1) + "{}" + "}" * (inner - 1)
    if empty == "[]":
        person = "[" * inner + "]" * inner
    return '{"calendars": [{"id": "primary", "person": ' + person + "}]}"


@pytest.mark.parametrize("empty", ["{}", "[]"])
def test_provider_options_33_deep_are_refused_naming_the_option(admin_client, empty):
    # Saved: the depth was counted at the values inside, so 33 levels ending in an empty object
    # or list passed, where 33 ending in {"b": 1} were refused.
    site = Site.objects.create(name="Berlin", latitude=52.5, longitude=13.4)
    form = {"site": site.pk, "source": "occupancy", "provider": "google_calendar",
            "enabled": "on", "interval_seconds": "900",
            "options": calendar_options(33, empty)}  # fmt: skip
    page = admin_client.post(reverse("admin:enrich_providerconfig_add"), form)
    assert page.status_code == 200
    assert page.context["adminform"].form.errors["options"] == [
        "Options cannot hold objects or lists nested more than 32 deep (the options object is "
        "the first). Correct option 'calendars'."
    ]
    assert not ProviderConfig.objects.exists()
    form["options"] = calendar_options(32, empty)  # within the limit
    assert admin_client.post(reverse("admin:enrich_providerconfig_add"), form).status_code == 302
    assert ProviderConfig.objects.get().options["calendars"][0]["id"] == "primary"
