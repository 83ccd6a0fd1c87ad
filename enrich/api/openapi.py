"""The API's OpenAPI operations (drf-spectacular) with the errors of access that any endpoint
answers besides its own (docs/api.md): 401 for an unknown token, or a read needing one sent
without it; 403 for a changing request of a read-only caller; 429 over a throttle, with
`Retry-After`. Each is `{"detail": "..."}`, written as the operation's other errors are (YAML
or JSON on the schema, plain text on the docs page)."""

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularSchema
from rest_framework.permissions import SAFE_METHODS

from enrich.access import ReadOrTrigger

DETAIL = {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
SAID = {
    "401": "An unknown token, or none where one is needed (docs/api.md).",
    "403": "A read-only caller asking to change something or start work.",
    "429": "Over the throttle's rate; `Retry-After` says when to ask again.",
}


class AutoSchema(SpectacularSchema):
    def get_operation(self, *args: Any, **kwargs: Any) -> dict | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation["responses"]
        statuses = []
        if self.view.get_authenticators():
            statuses.append("401")
        permissions = self.view.get_permissions()
        if self.method not in SAFE_METHODS and any(
            isinstance(permission, ReadOrTrigger) for permission in permissions
        ):
            statuses.append("403")
        if self.view.get_throttles():
            statuses.append("429")
        errors = responses.get("400") or responses.get("200") or {}
        for status in statuses:
            if status not in responses:
                content = {
                    media: {"schema": {"type": "string"} if media.startswith("text/") else DETAIL}
                    for media in errors.get("content", {})
                }
                responses[status] = {"description": SAID[status], "content": content}
        return operation
