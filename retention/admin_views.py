"""Admin of the materialized views (read-only: they are computed; entity edits are followed,
see retention.admin; rebuild a range with manage.py rebuild_view). Each measured column names
its unit in its heading, as the models' help texts give it."""

from collections.abc import Callable

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from enrich.admin_selection import SelectionAdmin
from retention.models import DailyCarbonSummary, DailyEnergyByDevice, HourlyRoomActivity


class ReadOnlyAdmin(SelectionAdmin):
    """For what the system computes or records: shown, never added or edited by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


def in_unit(model: type[models.Model], name: str, unit: str) -> Callable[[models.Model], object]:
    """A list column of field `name`, sortable, headed with its unit: "avg power (W)"."""

    @admin.display(description=f"{model._meta.get_field(name).verbose_name} ({unit})",
                   ordering=name)  # fmt: skip
    def column(row: models.Model) -> object:
        return getattr(row, name)

    return column


def watts(name: str) -> Callable[[models.Model], object]:
    return in_unit(DailyEnergyByDevice, name, "W")


def carbon(name: str) -> Callable[[models.Model], object]:
    return in_unit(DailyCarbonSummary, name, "gCO2/kWh")


@admin.register(DailyEnergyByDevice)
class DailyEnergyByDeviceAdmin(ReadOnlyAdmin):
    list_display = ("entity_id", "date", "total_kwh", watts("avg_power"), watts("peak_power"),
                    "cost", "currency", "cost_source", "partial", "refreshed")  # fmt: skip
    list_filter = ("cost_source", "partial", "date")
    search_fields = ("entity_id",)
    date_hierarchy = "date"


@admin.register(HourlyRoomActivity)
class HourlyRoomActivityAdmin(ReadOnlyAdmin):
    list_display = ("area", "hour", "day_of_week", "motion_count",
                    in_unit(HourlyRoomActivity, "occupancy_rate", "0..1"), "partial",
                    "refreshed")  # fmt: skip
    list_filter = ("area", "day_of_week", "partial")
    date_hierarchy = "hour"


@admin.register(DailyCarbonSummary)
class DailyCarbonSummaryAdmin(ReadOnlyAdmin):
    list_display = ("date", "region", carbon("avg_carbon"), carbon("min_carbon"),
                    carbon("max_carbon"), in_unit(DailyCarbonSummary, "avg_renewable", "%"),
                    "partial", "refreshed")  # fmt: skip
    list_filter = ("region", "partial")
    date_hierarchy = "date"
