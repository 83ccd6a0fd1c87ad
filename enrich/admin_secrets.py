"""A provider config's API key and password in the admin: encrypted at rest and never shown
back. The form renders them blank (enrich.admin's ProviderConfigForm); a user who may view
provider configs but not change them gets the admin's page without a form, where each field is
shown with its value, so there each is shown as whether one is stored instead."""

from django.contrib import admin

from enrich.models import ProviderConfig

SECRET_FIELDS = ("api_key", "password")
STORED = "•••••• (stored)"


class SecretsHidden:
    """For ProviderConfig's admin and its inline on a site's page (`obj`: the site there). An
    add page (no `obj`) shows no stored secret and keeps its fields."""

    def _hidden(self, request, obj) -> bool:
        return obj is not None and not self.has_change_permission(request, obj)

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if not self._hidden(request, obj):
            return fields
        return list(dict.fromkeys(HIDDEN.get(name, name) for name in fields))

    def get_readonly_fields(self, request, obj=None):
        shown = super().get_readonly_fields(request, obj)
        return (*shown, *HIDDEN.values()) if self._hidden(request, obj) else shown

    @admin.display(description="API key")
    def api_key_stored(self, obj: ProviderConfig) -> str:
        return STORED if obj.api_key else "-"

    @admin.display(description="password")
    def password_stored(self, obj: ProviderConfig) -> str:
        return STORED if obj.password else "-"


HIDDEN = {name: f"{name}_stored" for name in SECRET_FIELDS}
