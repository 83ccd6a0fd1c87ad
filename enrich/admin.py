from django import forms
from django.contrib import admin

from enrich.models import ProviderConfig, Site

SECRET_FIELDS = ("api_key", "password")


class ProviderConfigForm(forms.ModelForm):
    """Secrets are write-only: the form never renders a stored value, blank keeps it."""

    api_key = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted. Leave blank to keep the current key.",
    )
    password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted. Leave blank to keep the current password.",
    )
    clear_secrets = forms.BooleanField(
        required=False, help_text="Remove the stored API key and password."
    )

    class Meta:
        model = ProviderConfig
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in SECRET_FIELDS:
            if self.instance.pk and getattr(self.instance, name):
                self.fields[name].widget.attrs["placeholder"] = "•••••• (stored)"

    def clean(self):
        cleaned = super().clean()
        for name in SECRET_FIELDS:
            if self.cleaned_data.get("clear_secrets"):
                cleaned[name] = ""
            elif not cleaned.get(name) and self.instance.pk:
                cleaned[name] = getattr(self.instance, name)
        return cleaned


@admin.register(ProviderConfig)
class ProviderConfigAdmin(admin.ModelAdmin):
    form = ProviderConfigForm
    list_display = ("site", "source", "provider", "enabled", "interval_seconds", "secret_stored")
    list_filter = ("source", "provider", "enabled")
    search_fields = ("site__name", "provider")

    @admin.display(boolean=True, description="secret stored")
    def secret_stored(self, obj: ProviderConfig) -> bool:
        return obj.has_secret


class ProviderConfigInline(admin.TabularInline):
    model = ProviderConfig
    form = ProviderConfigForm
    extra = 0
    fields = (
        "source",
        "provider",
        "enabled",
        "interval_seconds",
        "username",
        "api_key",
        "password",
        "options",
    )


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "latitude",
        "longitude",
        "timezone",
        "grid_region",
        "pricing_region",
        "enabled",
    )
    list_filter = ("enabled",)
    search_fields = ("name", "grid_region")
    inlines = [ProviderConfigInline]
