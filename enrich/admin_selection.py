"""The admin's list actions on rows that are gone: a row selected on a list page that another
user (or a run) deleted before the action was posted. Django runs the action on what is left,
so on none at all it says nothing ("Delete selected", "Enable selected tasks") or tells of
work on no row ("Sent to the workers: ." for "Run selected tasks", "Kept out of the materialized
views: 0 entities"). Each of enrich's admins says instead that none of the selected rows exists
any more and does nothing; a selection of which some are left acts on those, as Django does."""

from django.contrib import admin, messages
from django.contrib.admin import helpers


class SelectionAdmin(admin.ModelAdmin):
    def response_action(self, request, queryset):
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        across = request.POST.get("select_across", "") not in ("", "0", "False", "false")
        if selected and not across and not queryset.filter(pk__in=selected).exists():
            plural = self.model._meta.verbose_name_plural
            self.message_user(request, f"None of the selected {plural} exists any more (deleted "
                              "since the list was shown): nothing was done.",
                              messages.WARNING)  # fmt: skip
            return None  # back to the list
        return super().response_action(request, queryset)
