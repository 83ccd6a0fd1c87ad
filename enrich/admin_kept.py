"""Admin of records the system still works from: a row that must stay (`kept_because`) is not
deleted, and the user is told why; the others may go. The row's page shows no Delete button
for it, its delete page sends back to it with the reason, and "Delete selected" deletes nothing
while a selected row must stay, naming each and why. Used by the retention records
(retention.admin_records) and the collector runs (collectors.admin).

A confirmed delete locks its rows before it checks them, in the transaction that deletes them:
a run holding a row is waited for, and what it committed decides. What a check asks of another
service (whether the archive's store holds a row's file intact) is read before, outside any
transaction (`checked_first`): on SQLite a transaction holds the database's one write lock, so
every other write would wait for the store."""

from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext

from django.contrib import messages
from django.contrib.admin.actions import delete_selected
from django.contrib.admin.utils import unquote
from django.db import router, transaction
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse

from enrich.admin_selection import SelectionAdmin


class KeptRowsAdmin(SelectionAdmin):
    def kept_because(self, obj) -> str:
        """Why `obj` cannot be deleted ("" when it may be)."""
        return ""

    def refusals(self, rows: Iterable) -> list[str]:
        """ "row: why" for each of `rows` that must stay (a subclass may answer for many rows
        at once in fewer queries)."""
        return [f"{obj}: {why}" for obj in rows if (why := self.kept_because(obj))]

    def checked_first(self, rows: Iterable) -> AbstractContextManager:
        """A block in which `kept_because` finds what it asks of another service about `rows`
        read already (read again for a row changed meanwhile); nothing by default."""
        return nullcontext()

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # The row's page offers no deletion it would refuse; the list's action checks each.
        return super().has_delete_permission(request, obj) and not (obj and self.kept_because(obj))

    def delete_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, unquote(object_id))  # None for an id of no row
        with self.checked_first([] if obj is None else [obj]):
            if request.method != "POST":  # the confirmation page deletes nothing
                return self._delete_unless_kept(request, object_id, extra_context)
            with transaction.atomic(using=router.db_for_write(self.model)):
                self._lock(self.model._default_manager.filter(pk=unquote(object_id)))
                return self._delete_unless_kept(request, object_id, extra_context)

    @staticmethod
    def _lock(rows) -> None:
        list(rows.select_for_update().values_list("pk", flat=True))

    def _delete_unless_kept(self, request, object_id, extra_context):
        obj = self.get_object(request, object_id)
        if obj is not None and (why := self.kept_because(obj)):
            messages.error(request, f"{obj} cannot be deleted: {why}")
            return HttpResponseRedirect(reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[obj.pk]))  # fmt: skip
        return super().delete_view(request, object_id, extra_context)

    def get_actions(self, request: HttpRequest):
        actions = super().get_actions(request)
        if "delete_selected" in actions:
            _, name, description = actions["delete_selected"]
            actions["delete_selected"] = (self.delete_selected_kept, name, description)
        return actions

    @staticmethod
    def delete_selected_kept(modeladmin, request: HttpRequest, queryset):
        """Django's "Delete selected", unless a selected row must stay: then none is deleted."""
        with (
            modeladmin.checked_first(queryset),
            transaction.atomic(using=router.db_for_write(queryset.model)),
        ):
            if request.POST.get("post"):  # confirmed: the rows are deleted in this transaction
                modeladmin._lock(
                    queryset.model._default_manager.filter(pk__in=queryset.values("pk"))
                )
            kept = modeladmin.refusals(queryset)
            if kept:
                modeladmin.message_user(request, "Nothing was deleted. " + " ".join(kept),
                                        messages.ERROR)  # fmt: skip
                return None
            return delete_selected(modeladmin, request, queryset)
