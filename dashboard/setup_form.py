"""The first-run setup form: a site, its providers, and where Home Assistant's InfluxDB is."""

from django import forms
from django.conf import settings

from collectors.pricing import octopus
from dashboard.choices import COUNTRIES, OFFERS, offer
from enrich.form_fields import POSITION
from enrich.models import Site, validate_tag_value, validate_timezone


class SetupForm(forms.Form):
    name = forms.CharField(
        max_length=100, initial="Home", label="Site name", validators=[validate_tag_value]
    )
    # Read as the API reads a number: digits 0-9 only (not "١٢" or "1_0").
    latitude = POSITION["latitude"](min_value=-90, max_value=90, help_text="decimal degrees")
    longitude = POSITION["longitude"](min_value=-180, max_value=180, help_text="decimal degrees")
    timezone = forms.CharField(
        max_length=64, validators=[validate_timezone], help_text="IANA name, e.g. Europe/London"
    )
    country = forms.ChoiceField(choices=COUNTRIES, required=False)
    octopus_region = forms.CharField(
        max_length=1,
        required=False,
        label="Octopus region letter",
        help_text="A-P (no I or O), the last letter of your Agile tariff code (GB only)",
    )
    # The site's own field (its length, optional), with help for this form.
    grid_region = Site._meta.get_field("grid_region").formfield(
        help_text="optional: Electricity Maps zone (e.g. DE) or UK region id/postcode; "
        "empty = the whole country or the site's coordinates",
    )
    providers = forms.MultipleChoiceField(
        choices=[(o.provider, o.label) for o in OFFERS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    electricitymaps_key = forms.CharField(
        required=False,
        label="Electricity Maps API key",
        widget=forms.PasswordInput(render_value=True),
    )
    influxdb_url = forms.URLField(label="InfluxDB URL", max_length=300, assume_scheme="http")
    ha_database = forms.CharField(max_length=200, label="Home Assistant's database")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "timezone": settings.TIME_ZONE,
                "influxdb_url": settings.INFLUXDB_URL,
                "ha_database": settings.HA_INFLUXDB_DATABASE,
            },
        )
        super().__init__(*args, **kwargs)

    def clean_octopus_region(self) -> str:
        # Upper case for ASCII only: "ı".upper() is "I", a region nobody typed.
        value = self.cleaned_data["octopus_region"].strip()
        return value.upper() if value.isascii() else value

    def clean(self) -> dict:
        data = super().clean()
        country = data.get("country", "")
        chosen = list(data.get("providers", []))  # add_error drops a field from `data`
        for provider in chosen:
            served = offer(provider).countries
            if served and country not in served:
                self.add_error(
                    "providers",
                    f"{offer(provider).label} serves {', '.join(served)} only; the country is "
                    f"{country or 'another country'}.",
                )
        region = data.get("octopus_region", "")
        if "octopus" in chosen and not (len(region) == 1 and region in octopus.REGIONS):
            self.add_error(
                "octopus_region", "Octopus needs your region letter, A to P (no I or O)."
            )
        if "electricitymaps" in chosen and not data.get("electricitymaps_key"):
            self.add_error("electricitymaps_key", "Electricity Maps needs an API key.")
        return data

    def pricing_region(self) -> str:
        data = self.cleaned_data
        if "octopus" in data["providers"]:
            return data["octopus_region"]
        return data["country"] if "awattar" in data["providers"] else ""
