from axes.admin import AccessAttemptAdmin as AxesAccessAttemptAdmin
from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.forms.fields import InvalidJSONInput
from django.forms.models import BaseInlineFormSet
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from enrich.admin_secrets import SECRET_FIELDS, STORED, SecretsHidden
from enrich.admin_selection import SelectionAdmin
from enrich.crypto import UnreadableSecret, unreadable_fields, unreadable_message
from enrich.form_fields import ADMIN_NUMBERS, POSITION
from enrich.influx import TimeseriesError, quote_literal
from enrich.models import (
    OAuthConnection,
    ProviderConfig,
    Site,
    in_words,
    secrets_cleared,
    site_series,
)
from enrich.wording import counted, json_problem, listed

# What a provider config collects and how often: the columns of the list and the inline.
PROVIDER_SETTINGS = ("source", "provider", "enabled", "interval_seconds")
RECONNECT = "reconnect Google Calendar on /oauth/google/"


def secret_problems(obj, **remedy: str) -> str:
    """What the admin shows for stored secrets no key in FIELD_ENCRYPTION_KEY decrypts."""
    problems = [
        "The saved login session cannot be decrypted; the next run logs in again."
        if name == "session"
        else unreadable_message(obj, name, **remedy)
        for name in unreadable_fields(obj)
    ]
    return " ".join(problems) or "-"


class OptionsField(forms.JSONField):
    """Django's JSON form field, with JSON Python cannot read (nested beyond its recursion
    limit, an integer of over 4300 digits) a form error like any other bad JSON, not a 500;
    a form shown again shows the text as typed. Left empty, it means no options ({})."""

    def to_python(self, value):
        if value is None or (isinstance(value, str) and not value.strip()):
            return {}  # a cleared field: no options (the model's default), not null
        try:
            return super().to_python(value)
        except (ValueError, RecursionError) as exc:
            raise forms.ValidationError(f"Enter valid JSON: {json_problem(exc)}.") from None

    def bound_data(self, data, initial):
        # Django parses the text and dumps it again to show it, which fails for the JSON
        # above, or for a lone surrogate (no UTF-8 page can carry it).
        if self.disabled or data is None:
            return super().bound_data(data, initial)
        return InvalidJSONInput(data)


class ProviderConfigForm(forms.ModelForm):
    """Secrets are write-only: the form never renders a stored value, blank keeps it."""

    api_key = forms.CharField(
        label="API key",
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
        required=False,
        help_text="Remove the stored API key and password and every login saved with them (a "
        "login session, a Google Calendar connection and its tokens): no run uses the account "
        "any more.",
    )

    class Meta:
        model = ProviderConfig
        fields = "__all__"
        field_classes = {"options": OptionsField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in SECRET_FIELDS:
            stored = getattr(self.instance, name) if self.instance.pk else ""
            if isinstance(stored, UnreadableSecret):
                self.fields[name].widget.attrs["placeholder"] = "cannot be decrypted: enter again"
                self.fields[name].help_text = unreadable_message(self.instance, name)
            elif stored:
                self.fields[name].widget.attrs["placeholder"] = STORED

    def clean(self):
        cleaned = super().clean()
        for name in SECRET_FIELDS:
            if self.cleaned_data.get("clear_secrets"):
                cleaned[name] = ""
            elif not cleaned.get(name) and self.instance.pk:
                cleaned[name] = getattr(self.instance, name)
        return cleaned


@admin.register(ProviderConfig)
class ProviderConfigAdmin(SecretsHidden, SelectionAdmin):
    formfield_overrides = ADMIN_NUMBERS  # digits 0-9 only, as the API reads numbers
    form = ProviderConfigForm
    list_display = (
        "site", *PROVIDER_SETTINGS, "secret_stored", "session_saved", "secret_problem",
        "settings_problem",
    )  # fmt: skip
    list_filter = ("source", "provider", "enabled")
    search_fields = ("site__name", "provider")
    readonly_fields = ("secret_problem", "settings_problem")

    @admin.display(description="cannot collect")
    def settings_problem(self, obj: ProviderConfig) -> str:
        # The saved config's: a form shown again with errors holds the refused values (options
        # of -1 would fail the check: a 500 instead of the form's error).
        stored = ProviderConfig.objects.select_related("site").filter(pk=obj.pk).first()
        return (stored.collect_problem() or "-") if stored else "-"

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if form.cleaned_data.get("clear_secrets"):
            forget_logins(request, obj)
        warn_unready(request, [obj])

    @admin.display(description="secret problem")
    def secret_problem(self, obj: ProviderConfig) -> str:
        return secret_problems(obj)

    @admin.display(boolean=True, description="secret stored")
    def secret_stored(self, obj: ProviderConfig) -> bool:
        return obj.has_secret

    @admin.display(boolean=True, description="login session saved")
    def session_saved(self, obj: ProviderConfig) -> bool:
        return bool(obj.session)


def forget_logins(request, config: ProviderConfig) -> None:
    """After "Clear secrets" saved: the logins the provider saved go too (its adapter's
    forget_login), and the message says everything that was removed."""
    removed = ["the stored API key and password"]
    for _receiver, phrases in secrets_cleared.send(sender=ProviderConfig, config=config):
        removed += phrases
    messages.info(request, f"{config}: removed {listed(removed)}.")


def warn_unready(request, configs) -> None:
    """After a save: a warning for each enabled config a collection would refuse (saved all
    the same: a Google Calendar config is connected after it is saved)."""
    for config in configs:
        if config.enabled and (problem := config.collect_problem()):
            messages.warning(request, f"{config}: saved, but it cannot collect yet: {problem}")


class ProviderConfigFormSet(BaseInlineFormSet):
    """A site's providers: one per source and provider, counting the saved ones. Django leaves
    the model's constraint unchecked for a new inline row (it holds the site), so a row
    repeating a saved one reached the database (an IntegrityError, a 500)."""

    def clean(self) -> None:
        super().clean()
        shown = [form.instance.pk for form in self.forms if form.instance.pk]
        saved = self.instance.providers.exclude(pk__in=shown) if self.instance.pk else []
        taken = {(config.source, config.provider) for config in saved}
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            pair = (data.get("source"), data.get("provider")) if data else (None, None)
            if None in pair or data.get("DELETE"):  # missing: the row's own error says so
                continue
            if pair in taken:
                form.add_error(
                    "provider", f"This site has {pair[1]} for {in_words(pair[0])} already."
                )
            taken.add(pair)


class ProviderConfigInline(SecretsHidden, admin.TabularInline):
    formfield_overrides = ADMIN_NUMBERS  # digits 0-9 only, as the API reads numbers
    model = ProviderConfig
    form = ProviderConfigForm
    formset = ProviderConfigFormSet
    extra = 0
    fields = (*PROVIDER_SETTINGS, "username", *SECRET_FIELDS, "options")


class SiteForm(forms.ModelForm):
    """A rename splits the series tagged with the site's name: it asks for a confirmation."""

    confirm_rename = forms.BooleanField(
        required=False,
        label="I understand",
        help_text="Needed to rename a site whose points are in InfluxDB: they carry its name "
        "as the `site` tag, and a new name starts new series.",
    )

    class Meta:
        model = Site
        fields = "__all__"
        field_classes = POSITION  # a refused latitude's example is a latitude
        help_texts = {
            "timezone": "IANA name, e.g. Europe/Berlin: the home's clock of the status page, "
            "the plan's deadlines and the runs of today. The materialized views count the "
            "days of TIME_ZONE (enrich's environment) instead.",
        }

    def clean(self):
        cleaned = super().clean()
        old, new = self.initial.get("name"), cleaned.get("name")
        if self.instance.pk and new and new != old and not cleaned.get("confirm_rename"):
            if warning := rename_warning(old, new):
                self.add_error("confirm_rename", warning)
        return cleaned


def rename_warning(old: str, new: str) -> str:
    """What renaming site `old` to `new` does to its series in InfluxDB ("" when it has none)."""
    try:
        answers = site_series.send(sender=Site, name=old)
    except TimeseriesError as exc:
        stored = f"InfluxDB could not be asked whether this site has points ({exc}); if it has, its points"
    else:
        found = sorted({name for _receiver, names in answers for name in names})
        if not found:
            return ""
        stored = f"This site's points in InfluxDB ({', '.join(found)})"
    both = f'("site" = {quote_literal(old)} OR "site" = {quote_literal(new)})'
    return (
        f"{stored} carry its name as the `site` tag. New points will be tagged site={new!r}; "
        f"those stored keep site={old!r}, so each series splits in two at the rename. To query "
        f'across it, select both names: WHERE {both}. Tick "I understand" to rename all the '
        "same."
    )


@admin.register(Site)
class SiteAdmin(SelectionAdmin):
    formfield_overrides = ADMIN_NUMBERS  # digits 0-9 only, as the API reads numbers
    form = SiteForm
    list_display = Site.SHOWN
    list_filter = ("enabled",)
    search_fields = ("name", "grid_region")
    inlines = [ProviderConfigInline]

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return fields if obj else [name for name in fields if name != "confirm_rename"]

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        warn_unready(request, form.instance.providers.order_by("source", "provider"))
        if note := form.instance.other_zone_note():
            messages.warning(request, note)

    def delete_model(self, request, obj: Site) -> None:
        super().delete_model(request, obj)
        warn_recreated(request)

    def delete_queryset(self, request, queryset) -> None:
        super().delete_queryset(request, queryset)
        warn_recreated(request)


def warn_recreated(request) -> None:
    """The last site deleted: a start with no site creates one from the environment
    (enrich.bootstrap) while LATITUDE and LONGITUDE are set."""
    if settings.LATITUDE and settings.LONGITUDE and not Site.objects.exists():
        messages.warning(request, f"No site is left: the next start creates site "
                         f"{settings.SITE_NAME!r} again from the environment (LATITUDE, "
                         "LONGITUDE and the provider variables, manage.py bootstrap). To stop "
                         "collecting for good, disable a site instead of deleting it, or empty "
                         "those variables.")  # fmt: skip


@admin.register(OAuthConnection)
class OAuthConnectionAdmin(SelectionAdmin):
    """Read-only view of Google connections; tokens are never shown. Connect or reconnect on
    the setup page (/oauth/google/)."""

    list_display = (
        "site",
        "account_email",
        "connection_status",
        "origin",
        "token_expiry",
        "last_refreshed",
        "token_problem",
    )
    list_filter = ("status", "origin")
    exclude = ("access_token", "refresh_token")
    readonly_fields = (
        "provider_config",
        "origin",
        "account_email",
        "calendars",
        "scopes",
        "token_expiry",
        "status",
        "last_error",
        "last_refreshed",
        "connected_at",
        "updated",
        "reconnect",
        "token_problem",
    )

    @admin.display(description="token problem")
    def token_problem(self, obj: OAuthConnection) -> str:
        return secret_problems(obj, remedy=RECONNECT)

    @admin.display(description="site", ordering="provider_config__site__name")
    def site(self, obj: OAuthConnection) -> str:
        return obj.provider_config.site.name

    @admin.display(description="status", ordering="status")
    def connection_status(self, obj: OAuthConnection) -> str:
        if obj.status == OAuthConnection.NEEDS_RECONNECT:
            return format_html(
                '<strong style="color:var(--error-fg)">{}</strong> (<a href="/oauth/google/">reconnect</a>)',
                obj.get_status_display(),
            )
        return obj.get_status_display()

    @admin.display(description="reconnect")
    def reconnect(self, obj: OAuthConnection) -> str:
        return mark_safe('<a href="/oauth/google/">Open the Google Calendar setup page</a>')

    def has_add_permission(self, request) -> bool:
        return False  # connections come from the consent flow or GOOGLE_REFRESH_TOKEN

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class AccessAttemptAdmin(SelectionAdmin, AxesAccessAttemptAdmin):
    """django-axes' failed logins. Its "Clean up expired attempts" reads the request's moment,
    which axes records only on login requests (an AttributeError, a 500, from this list): the
    action records it first, and counts in words ("1 expired access attempt", not "attempts")."""

    @admin.action(description=AxesAccessAttemptAdmin.cleanup_expired_attempts.short_description)
    def cleanup_expired_attempts(self, request, queryset):
        AxesProxyHandler.update_request(request)
        count = self.handler.clean_expired_user_attempts(request=request)  # as axes' own does
        self.message_user(request, f"Cleaned up {counted(count, 'expired access attempt')}.")


admin.site.unregister(AccessAttempt)
admin.site.register(AccessAttempt, AccessAttemptAdmin)


def _login_time(moment) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M:%S}"


# django-axes names its rows by the raw time in the admin's titles and messages ("Attempted
# Access: 2026-03-01 07:00:05.123456+00:00"): the time as its lists show it, to the second.
LOGIN_TITLES = {
    AccessAttempt: lambda row: f"Attempted access: {_login_time(row.attempt_time)}",
    AccessLog: lambda row: f"Access log for {row.username} @ {_login_time(row.attempt_time)}",
    AccessFailureLog: lambda row: (
        f"Failed access: user {row.username}{' locked out' if row.locked_out else ''} on "
        f"{_login_time(row.attempt_time)} from {row.ip_address}"
    ),
}
for _model, _title in LOGIN_TITLES.items():
    setattr(_model, "__str__", _title)  # noqa: B010 (an assignment reads as unused to vulture)

# django-celery-beat's Periodic tasks and Crontabs, with the checks its forms lack; DRF's API
# tokens, named by their key's start (the whole key is shown once, when added).
from enrich import admin_beat, admin_tokens  # noqa: E402, F401
