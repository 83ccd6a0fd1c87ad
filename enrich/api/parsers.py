"""The REST API's JSON parser (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"])."""

import codecs

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json

from enrich.api import params


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser (strict: no NaN or Infinity), with two refusals of its own, each a 400:
    a body nested deeper than Python's json reads (it raises RecursionError, which DRF does not
    catch: a 500), and an object with a key given twice (`params.json_object`; json would keep
    the last, so `{"dry_run": true, "dry_run": false}` was a real run)."""

    def parse(self, stream, _media_type=None, parser_context=None):  # DRF passes them by position
        encoding = parsers.get_encoding(parser_context or {})
        try:
            text = codecs.getreader(encoding)(stream)
            return json.load(text, object_pairs_hook=params.json_object)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
