"""What the documentation pages are, as the docs tests read them: the pages and their code
spans and blocks, the variables config/ reads with their literal defaults, and the shape of an
endpoint named in a page (tests/test_docs.py, tests/test_docs_reference.py)."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
# Every module of config/ may read variables (settings.py, security.py, api_access.py, ...).
SETTINGS = "".join(path.read_text() for path in sorted((ROOT / "config").glob("*.py")))
VARIABLES = sorted(
    set(
        re.findall(
            r"\b(?:env\.\w+|required|choice|number|flag|zone|names|hosts|origins|currency|http_url|header_value|url_map|text|celery_url|database|ca_file)"
            r'\(\s*f?"([A-Z][A-Z0-9_]+)"',
            SETTINGS,
        )
    )
)


PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def flat(page: str) -> str:
    """The page's text with every run of whitespace one space (quotes wrap across lines)."""
    return " ".join((ROOT / page).read_text().split())


FENCED = re.compile(r"^[ \t]*```.*?^[ \t]*```", re.M | re.S)
# Marks of a path written as a pattern, not one file (`collectors/<source>/...`, `/api/views/…`).
PATTERN_MARKS = re.compile(r"[<>…*{}+$]")


def code_of(page: Path) -> tuple[list[str], list[str]]:
    """(inline code spans, fenced blocks) of a page; a span may wrap across lines."""
    text = page.read_text()
    spans = [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", FENCED.sub("", text))]
    return spans, FENCED.findall(text)


CODE = {page.relative_to(ROOT).as_posix(): code_of(page) for page in PAGES}

# Other services' APIs the pages name: Home Assistant's (the meter adapter, webhooks) and
# InfluxDB 2's delete.
OUTSIDE_PATHS = ("/api/states/", "/api/history/", "/api/config", "/api/webhook/", "/api/v2/")
ENDPOINT = re.compile(
    r"(?:(GET|POST|PUT|PATCH|DELETE) )?"
    r"(/(?:(?:api|retention|oauth|admin|login|logout|setup)/?[^?\s]*)?)(?:\?(.*))?"
)


def heading_anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def code_defaults() -> dict[str, object]:
    """The default config/ gives each variable it reads, where that default is a literal
    (`text("X", default="a")`, `number("X", 5)`, `choice("X", "a", (...))`)."""
    found: dict[str, object] = {}
    for path in sorted((ROOT / "config").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and node.args) or not (
                isinstance(name := node.args[0], ast.Constant) and name.value in VARIABLES
            ):
                continue
            default = {k.arg: k.value for k in node.keywords}.get("default")
            reader = getattr(node.func, "id", None)
            if default is None and reader in ("number", "choice", "zone") and len(node.args) > 1:
                default = node.args[1]
            try:
                found.setdefault(name.value, ast.literal_eval(default))
            except ValueError:  # no default (required), or one computed from others
                pass
    return found


def same(documented: str, default: object) -> bool:
    """Whether a default written in the docs is the code's (`false`, `a,b`, `5` for 5.0)."""
    if isinstance(default, bool):
        return documented == str(default).lower()
    if isinstance(default, list):
        return documented == ",".join(default)
    try:
        return float(documented) == float(default)
    except ValueError:
        return documented == str(default)


DEFAULTS = code_defaults()


def linked_text(target: str) -> str:
    """The text a link of a page of docs/ leads to: the page (`plan.md`), or its section under the
    heading of the anchor up to the next heading of the same or a higher level."""
    file, _, anchor = target.partition("#")
    text = FENCED.sub("", (ROOT / "docs" / file).read_text())
    if not anchor:
        return text
    headings = list(re.finditer(r"^(#+) (.*)$", text, re.M))
    start = next(h for h in headings if heading_anchor(h[2]) == anchor)
    after = [
        h.start() for h in headings if h.start() > start.start() and len(h[1]) <= len(start[1])
    ]
    return text[start.start() : after[0] if after else len(text)]
