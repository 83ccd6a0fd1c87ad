"""The REST API's content negotiation (REST_FRAMEWORK["DEFAULT_CONTENT_NEGOTIATION_CLASS"])."""

from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation

from enrich.api import declared, params


class Negotiation(DefaultContentNegotiation):
    """DRF's, with a `?format=` that no renderer of the view writes a 400 naming `format` and
    listing the formats, where DRF answers 404 "Not found.", as if the URL did not exist. Given
    more than once (DRF writes the last one's format) or empty (DRF reads it as left out) it is
    a 400 naming it too, as every parameter (`params.given`). A Content-Type longer than DRF
    reads (`max_media_type_length`) is a 400 saying so, where DRF answers 415 "Unsupported
    media type", as if the type (multipart/form-data with a long boundary) were not taken. A
    read given a query parameter its view does not take is a 400 naming it
    (enrich.api.declared): this is the one hook DRF calls for every view's request, with the
    view at hand (`request.parser_context`)."""

    def select_parser(self, request, parsers):
        length = len(request.content_type or "")
        if length > self.max_media_type_length:
            raise ValidationError({"Content-Type": (
                f"is {length} characters long, over the {self.max_media_type_length} the API "
                "reads (a multipart boundary has at most 70 characters); nothing was done."
            )})  # fmt: skip
        return super().select_parser(request, parsers)

    def select_renderer(self, request, renderers, format_suffix=None):
        params.given(request.query_params, self.settings.URL_FORMAT_OVERRIDE)
        chosen = super().select_renderer(request, renderers, format_suffix)
        # The read's other parameters, with the view at hand (enrich.api.declared); refused, in
        # the format chosen: DRF would ask again for its error's and fall back to the first.
        request.accepted_renderer, request.accepted_media_type = chosen
        declared.refuse_unknown(request)
        return chosen

    def filter_renderers(self, renderers, format):
        formats = list(dict.fromkeys(renderer.format for renderer in renderers))
        params.choice({"format": format}, "format", allowed=formats)
        return super().filter_renderers(renderers, format)
