"""Deleting rows in the admin as a user does: a row's delete page, or "Delete selected" on the
list, each confirmed; what the admin then says."""

from django.urls import reverse


def admin_url(obj, view: str) -> str:
    """The admin page `view` ("change", "delete") of row `obj`."""
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[obj.pk])


def delete_in_the_admin(client, obj) -> list[str]:
    """Confirm the row's delete page, as a user would; the messages the next page shows."""
    page = client.post(admin_url(obj, "delete"), {"post": "yes"}, follow=True)
    assert page.status_code == 200
    return [str(m) for m in page.context["messages"]]


def delete_selected(client, model, *rows) -> list[str]:
    """ "Delete selected" on `model`'s list, confirmed; the messages the list then shows."""
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    form = {"action": "delete_selected", "_selected_action": [r.pk for r in rows]}
    page = client.post(url, form)
    if page.status_code == 200:  # the confirmation page
        page = client.post(url, {**form, "post": "yes"})
    assert page.status_code == 302
    return [str(m) for m in client.get(url).context["messages"]]
