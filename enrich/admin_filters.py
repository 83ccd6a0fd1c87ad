"""List filters that say what they filter in words."""

from django.contrib import admin


def is_set(field: str, title: str) -> type[admin.SimpleListFilter]:
    """A filter on whether the time `field` holds is set: "yes" / "no" under `title` (Django's
    EmptyFieldListFilter says "By sent: Empty / Not empty" of a time a delivery was made)."""

    class IsSet(admin.SimpleListFilter):
        parameter_name = field

        def lookups(self, request, model_admin):
            return (("yes", "yes"), ("no", "no"))

        def queryset(self, request, queryset):
            if self.value() in ("yes", "no"):
                return queryset.filter(**{f"{field}__isnull": self.value() == "no"})
            return queryset

    IsSet.title = title
    return IsSet


class BlankNamed(admin.AllValuesFieldListFilter):
    """The field's values, a blank one (an entity with no area) named "(blank)": Django's own
    filter links it with no text, a link a screen reader can only call "link"."""

    def choices(self, changelist):
        for choice in super().choices(changelist):
            if choice["display"] == "" or choice["display"].startswith(" ("):  # the count after
                choice["display"] = f"(blank){choice['display']}"
            yield choice
