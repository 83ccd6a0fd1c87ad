"""The REST API's JSON and multipart parsers (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"])."""

import codecs
import io

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import QueryDict
from django.http.multipartparser import (
    RAW,
    ChunkIter,
    LazyStream,
    MultiPartParserError,
    Parser,
    exhaust,
)
from django.http.multipartparser import MultiPartParser as DjangoMultiPartParser
from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.utils import json

from enrich.api import params
from enrich.wording import json_problem


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser (strict: no NaN or Infinity), with two refusals of its own, each a 400:
    a body nested deeper than Python's json reads (it raises RecursionError, which DRF does not
    catch: a 500), and an object with a key given twice (`params.json_object`; json would keep
    the last, so `{"dry_run": true, "dry_run": false}` would be a real run)."""

    def parse(self, stream, _media_type=None, parser_context=None):  # DRF passes them by position
        encoding = body_encoding(parser_context or {})
        try:
            text = codecs.getreader(encoding)(stream)
            return json.load(text, object_pairs_hook=params.json_object)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {json_problem(exc)}") from None
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None


def body_encoding(parser_context: dict) -> str:
    """The charset a body is read in: DRF's (the Content-Type's charset, else UTF-8; one that
    is no text encoding, `rot13`, a 400), and a charset Python does not know (`x-unknown`) a
    400 in the same words: Django leaves it unset, and DRF read the body as UTF-8."""
    request = parser_context.get("request")
    named = request.content_params.get("charset") if request is not None else None
    if named:
        try:
            codecs.lookup(named)
        except LookupError:
            said = f'Unsupported charset "{named}" in request Content-Type header.'
            raise ParseError(said) from None
    return parsers.get_encoding(parser_context)


class FormParser(parsers.FormParser):
    """DRF's form parser, reading the body in the charset `body_encoding` names."""

    def parse(self, stream, media_type=None, parser_context=None):
        return QueryDict(stream.read(), encoding=body_encoding(parser_context or {}))


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser, with a part that has no name, or no header Django can read (none,
    or one not in UTF-8), a 400 naming `body`. Django skips such a part without a word (a client
    that lost a part's name, `Content-Disposition: form-data` alone, sending `dry_run=true` in it,
    would start a real archive run); so is a body that does not end with its closing boundary
    (cut short, or no multipart body: Django reads what it finds, or no field). No endpoint takes
    files, so the body is read whole, within DATA_UPLOAD_MAX_MEMORY_SIZE (over it: the 413 of
    enrich.error_pages, nothing done)."""

    def parse(self, stream, media_type=None, parser_context=None):
        request = parser_context["request"]
        meta = {**request.META, "CONTENT_TYPE": media_type}
        encoding = body_encoding(parser_context)
        try:
            parser = _NamedPartsParser(meta, stream, request.upload_handlers, encoding)
            return parsers.DataAndFiles(*parser.parse())
        except MultiPartParserError as exc:
            raise ParseError(f"Multipart form parse error - {exc}") from None


class _NamedPartsParser(DjangoMultiPartParser):
    def parse(self):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = self._input_data.read(-1 if limit is None else limit + 1)
        if limit is not None and len(body) > limit:
            raise RequestDataTooBig("The multipart body is over DATA_UPLOAD_MAX_MEMORY_SIZE.")
        if problem := _unread_part(body, self._boundary):
            raise ValidationError({"body": f"{problem}; nothing was done."})
        self._input_data = io.BytesIO(body)
        return super().parse()


def _unread_part(body: bytes, boundary: bytes) -> str:
    """What Django would read of `body` as no field without a word ("" when nothing): the
    first part without a name, or with no header it can read (none, or one not in UTF-8), or a
    body that does not end with its closing boundary (cut short: its last part read with the
    line break after it, or a last part without headers read as the text after the parts; or
    no multipart body at all, read as no field). Django reads the text before the first part and
    after the closing boundary as items without headers too: an item without headers between two
    others is a part it skipped; the last item is the text after the closing boundary, which
    starts with the "--" that closes it."""
    number, unread, closed = 0, 0, False
    items = Parser(LazyStream(ChunkIter(io.BytesIO(body), 65536)), boundary)
    for index, (kind, headers, content) in enumerate(items):
        if unread:  # an item follows: the one before was a part, not the text after the last
            break
        if headers or index:
            number += 1
        if headers:
            disposition = headers.get("content-disposition")
            if kind == RAW or not disposition[1].get("name", b"").strip():
                return (f"Part {number} of the multipart body has no name: give each part one "
                        '(Content-Disposition: form-data; name="...")')  # fmt: skip
        elif index:
            unread, closed = number, content.read(2) == b"--"
        exhaust(content)
    if unread and not closed:
        return (
            f"Part {unread} of the multipart body has no header that can be read: give "
            'each part its name in UTF-8 (Content-Disposition: form-data; name="...")'
        )
    if not closed:
        return (
            f"The multipart body does not end with its closing boundary "
            f"(--{boundary.decode()}--): it was cut short, or is no multipart body"
        )
    return ""
