"""Re-encrypt every stored secret with the newest FIELD_ENCRYPTION_KEY (manage.py
rotate_field_key).

Every encrypted column of every model is found through its field class, so a secret column
added later is rotated without touching this module. Each model's rows are locked while they
are rotated: a token a worker renews meanwhile waits and is not overwritten by its older value.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field

from cryptography.fernet import InvalidToken
from django.apps import apps
from django.db import models, transaction
from django.db.models.functions import Cast

from enrich import crypto


@dataclass
class ColumnReport:
    """What a rotation did (or, in a dry run, would do) to one encrypted column."""

    column: str  # app_label.Model.field
    rotated: int = 0
    current: int = 0  # already encrypted with the newest key
    empty: int = 0
    unreadable: list[int] = field(default_factory=list)  # row ids no key decrypts

    def summary(self) -> str:
        text = (
            f"{self.column}: {self.rotated} re-encrypted, {self.current} already current, "
            f"{self.empty} empty"
        )
        if self.unreadable:
            ids = ", ".join(str(pk) for pk in self.unreadable)
            text += f", {len(self.unreadable)} unreadable (id {ids})"
        return text


def encrypted_columns() -> Iterator[tuple[type[models.Model], list[crypto.EncryptedTextField]]]:
    """Every model with encrypted fields, and those fields."""
    for model in apps.get_models():
        found = [f for f in model._meta.concrete_fields if isinstance(f, crypto.EncryptedTextField)]
        if found:
            yield model, found


def rotate_all(*, dry_run: bool = False) -> list[ColumnReport]:
    reports = []
    for model, fields in encrypted_columns():
        with transaction.atomic():
            reports.extend(_rotate_model(model, fields, dry_run))
    return reports


def _rotate_model(
    model: type[models.Model], fields: list[crypto.EncryptedTextField], dry_run: bool
) -> list[ColumnReport]:
    # Cast to plain text: the stored ciphertext, not the field's decrypted value.
    stored = {f"stored_{f.name}": Cast(f.name, models.TextField()) for f in fields}
    rows = (
        model._default_manager.select_for_update()
        .order_by("pk")
        .annotate(**stored)
        .values_list("pk", *stored)
    )
    reports = [ColumnReport(f"{model._meta.label}.{f.name}") for f in fields]
    for pk, *values in rows:
        changes = {}
        for f, report, value in zip(fields, reports, values, strict=True):
            if not value:
                report.empty += 1
            elif not value.startswith(crypto.PREFIX):
                report.unreadable.append(pk)
            elif crypto.is_current(value):
                report.current += 1
            else:
                try:
                    changes[f.name] = models.Value(crypto.rotated(value), models.TextField())
                except InvalidToken:
                    report.unreadable.append(pk)
                    continue
                report.rotated += 1
        if changes and not dry_run:
            # A plain-text Value is written as is (the field would encrypt it again).
            model._default_manager.filter(pk=pk).update(**changes)
    return reports
