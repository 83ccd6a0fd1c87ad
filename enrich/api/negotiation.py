"""The REST API's content negotiation (REST_FRAMEWORK["DEFAULT_CONTENT_NEGOTIATION_CLASS"])."""

from rest_framework.negotiation import DefaultContentNegotiation

from enrich.api import params


class Negotiation(DefaultContentNegotiation):
    """DRF's, with a `?format=` that no renderer of the view writes a 400 naming `format` and
    listing the formats: DRF answered 404 "Not found.", as if the URL did not exist."""

    def filter_renderers(self, renderers, format):
        formats = list(dict.fromkeys(renderer.format for renderer in renderers))
        params.choice({"format": format}, "format", allowed=formats)
        return super().filter_renderers(renderers, format)
