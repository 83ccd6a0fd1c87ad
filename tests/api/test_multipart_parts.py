"""A multipart body whose part has no name is a 400 naming `body`, nothing done: Django's parser
skipped such a part without a word, so `dry_run=true` sent in a part that lost its name was a
real archive (or downsample) run, and a token request said only that its fields were missing."""

import pytest

from retention.models import RetentionRun
from tests.support import bad_input as hostile
from tests.support.api import assert_400_naming_only

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("own_throttle_counts")]

BOUNDARY = "b0undary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def multipart(*parts: tuple[str, str]) -> bytes:
    """A body of parts, each given as (its header lines, its content)."""
    body = "".join(f"--{BOUNDARY}\r\n{headers}\r\n\r\n{content}\r\n" for headers, content in parts)
    return f"{body}--{BOUNDARY}--\r\n".encode(errors="surrogateescape")


NAMED_DRY_RUN = ('Content-Disposition: form-data; name="dry_run"', "true")
NAMELESS = {
    "no name": ("Content-Disposition: form-data", "true"),
    "an empty name": ('Content-Disposition: form-data; name=""', "true"),
    "a file without a name": ('Content-Disposition: form-data; filename="x.txt"', "true"),
    "no Content-Disposition": ("Content-Type: text/plain", "true"),
}


@pytest.mark.parametrize("path", ["/retention/archive", "/retention/downsample-hourly"])
@pytest.mark.parametrize("part", NAMELESS)
def test_a_part_without_a_name_is_a_400_naming_body_and_nothing_runs(staff, home, path, part):
    before = hostile.counts()
    # The archive's one field is in the part without a name: it was a real run, as the
    # downsample's (`dry_run` left out) was.
    fields = [] if path == "/retention/archive" else [
        ('Content-Disposition: form-data; name="start"', "2024-01-01"),
        ('Content-Disposition: form-data; name="end"', "2024-01-02"),
    ]  # fmt: skip
    answer = staff.generic("POST", path, multipart(*fields, NAMELESS[part]), MULTIPART)
    position = len(fields) + 1
    assert_400_naming_only(
        answer,
        "body",
        f"Part {position} of the multipart body has no name: give each part one "
        '(Content-Disposition: form-data; name="..."); nothing was done.',
    )
    assert hostile.counts() == before


# Parts of which Django reads no header: it skipped them too, and the run was real.
HEADERLESS = {
    "no header at all": ("", "true"),
    "a name that is no UTF-8": ('Content-Disposition: form-data; name="caf\udce9"', "true"),
    "a file name that is no UTF-8": ('Content-Disposition: form-data; name="dry_run"; '
                                     'filename="caf\udce9.txt"', "true"),  # latin-1 é
}  # fmt: skip


@pytest.mark.parametrize("path", ["/retention/archive", "/retention/downsample-hourly"])
@pytest.mark.parametrize("part", HEADERLESS)
def test_a_part_without_a_header_that_can_be_read_is_a_400_naming_body(staff, home, path, part):
    before = hostile.counts()
    fields = [NAMED_DRY_RUN] if path != "/retention/archive" else []
    answer = staff.generic("POST", path, multipart(*fields, HEADERLESS[part]), MULTIPART)
    assert_400_naming_only(
        answer,
        "body",
        f"Part {len(fields) + 1} of the multipart body has no header that can be read: give "
        'each part its name in UTF-8 (Content-Disposition: form-data; name="..."); nothing '
        "was done.",
    )
    assert hostile.counts() == before


CLOSE = f"--{BOUNDARY}--\r\n".encode()


def unclosed(*parts: tuple[str, str]) -> bytes:
    """`multipart(*parts)` without its closing boundary, as a body cut short ends."""
    return multipart(*parts).removesuffix(CLOSE)


@pytest.mark.parametrize("path", ["/retention/archive", "/retention/downsample-hourly"])
def test_a_last_part_without_headers_in_a_body_without_its_close_is_a_400(staff, home, path):
    # Read as the text after the last part: Django skipped it, and the run was real.
    before = hostile.counts()
    fields = [NAMED_DRY_RUN] if path != "/retention/archive" else []
    answer = staff.generic("POST", path, unclosed(*fields, HEADERLESS["no header at all"]),
                           MULTIPART)  # fmt: skip
    assert_400_naming_only(answer, "body", f"Part {len(fields) + 1} of the multipart body has "
                           "no header that can be read")  # fmt: skip
    assert hostile.counts() == before


@pytest.mark.parametrize(
    "body",
    [
        unclosed(NAMED_DRY_RUN),  # was read as dry_run "true\r\n": a 400 saying it is no true
        b"dry_run=true",  # no part at all: was read as no field, a real run
        unclosed(NAMED_DRY_RUN) + b"--" + BOUNDARY.encode(),  # a last boundary without its "--"
    ],
)
def test_a_body_without_its_closing_boundary_is_a_400_naming_body(staff, home, body):
    before = hostile.counts()
    answer = staff.generic("POST", "/retention/archive", body, MULTIPART)
    assert_400_naming_only(answer, "body", f"The multipart body does not end with its closing "
                           f"boundary (--{BOUNDARY}--): it was cut short, or is no multipart "
                           "body; nothing was done.")  # fmt: skip
    assert hostile.counts() == before


def test_the_token_endpoint_says_which_part_has_no_name(api):
    body = multipart(
        ('Content-Disposition: form-data; name="username"', "root"), NAMELESS["no name"]
    )
    answer = api.generic("POST", "/api/token/", body, MULTIPART)
    assert answer.status_code == 400
    assert answer.json()["body"].startswith("Part 2 of the multipart body has no name")


@pytest.mark.parametrize("path", ["/retention/archive", "/retention/downsample-hourly"])
def test_named_parts_are_read_as_before(staff, home, path):
    """With a preamble before the first part and an epilogue after the last, as RFC 2046 allows."""
    fields = [NAMED_DRY_RUN]
    if path != "/retention/archive":
        fields += [('Content-Disposition: form-data; name="start"', "2024-01-01"),
                   ('Content-Disposition: form-data; name="end"', "2024-01-02")]  # fmt: skip
    body = b"preamble\r\n" + multipart(*fields) + b"epilogue\r\n"
    answer = staff.generic("POST", path, body, MULTIPART)
    assert answer.status_code == 202, answer.content
    assert answer.json()["dry_run"] is True
    assert RetentionRun.objects.get().details["dry_run"] is True


def test_a_multipart_body_over_the_limit_is_the_413_naming_it(staff, home, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    before = hostile.counts()
    upload = ('Content-Disposition: form-data; name="dry_run"; filename="big.txt"', "x" * 2000)
    answer = staff.generic("POST", "/retention/archive", multipart(upload), MULTIPART)
    assert answer.status_code == 413, answer.content
    assert answer.json()["body"].startswith("The request body is larger than 1,000 bytes")
    assert hostile.counts() == before


FIELDS = {
    "/retention/archive": {"dry_run": "true"},
    "/retention/downsample-daily": {"start": "2024-01-01", "dry_run": "true"},
    "/retention/restore": {"start_date": "2024-01-01", "end_date": "2024-01-02"},
    "/api/views/daily_energy_by_device/rebuild": {"start": "2024-01-01", "end": "2024-01-02"},
}


@pytest.mark.parametrize("path", FIELDS)
def test_a_field_sent_as_a_file_is_a_400_saying_so(staff, home, path):
    # Was read as the file: "'start' is not valid" (its file name), a restore's "Date has wrong
    # format", "<InMemoryUploadedFile: dry_run ...> is not valid" for a right value.
    before = hostile.counts()
    name, value = next(iter(FIELDS[path].items()))
    parts = [(f'Content-Disposition: form-data; name="{field}"', text)
             for field, text in FIELDS[path].items() if field != name]  # fmt: skip
    file = (f'Content-Disposition: form-data; name="{name}"; filename="{name}"', value)
    answer = staff.generic("POST", path, multipart(file, *parts), content_type=MULTIPART)
    assert_400_naming_only(answer, name, "was sent as a file (a multipart part with a filename)")
    assert hostile.counts() == before


@pytest.mark.parametrize(
    "content_type",
    [f"multipart/form-data; boundary={'b' * 300}", f"application/json; note={'n' * 250}"],
)
def test_a_content_type_too_long_to_read_is_a_400_saying_so(staff, home, content_type):
    # Was a 415 "Unsupported media type \"multipart/form-data; boundary=bbb...\" in request.", as
    # if the API did not take multipart (or JSON) bodies; a boundary left out is a 400 too.
    before = hostile.counts()
    boundary = content_type.partition("boundary=")[2]
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="dry_run"\r\n\r\ntrue\r\n'
            f"--{boundary}--\r\n" if boundary else '{"dry_run": true}')  # fmt: skip
    answer = staff.generic("POST", "/retention/archive", body, content_type=content_type)
    assert_400_naming_only(
        answer, "Content-Type", f"is {len(content_type)} characters long, over the 256"
    )
    assert "a multipart boundary has at most 70 characters" in answer.json()["Content-Type"]
    assert hostile.counts() == before
