"""Words as a user reads them in run notes, messages and command output: "1 point",
"2 points", "1 entity", never "point(s)" or "1 points"; lists read "a, b and c"; a time span
"3 h 5 min" (`lasting`); a long text is shortened where it says least (`shortened`)."""

import re


def counted(n: int, one: str, many: str = "") -> str:
    """`n` with the noun for it: "1 day", "3 days", "1,200 raw points"; `many` where the
    plural is not `one` + "s" ("entities")."""
    return f"{n:,} {one if n == 1 else many or one + 's'}"


def listed(parts: list[str]) -> str:
    """`parts` as a sentence lists them: "a", "a and b", "a, b and c"; "" for none."""
    return " and ".join([", ".join(parts[:-1]), parts[-1]]) if len(parts) > 1 else "".join(parts)


def lasting(seconds: float) -> str:
    """A time span as a message says it: "45 s", "12 min", "3 h 5 min"."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return f"{seconds:.0f} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


SHORTEST = 120  # characters a stretch keeps at least when a long text is shortened


def shortened(text: str, limit: int) -> str:
    """`text` in at most `limit` characters (about), for a message a person reads whole: its
    longest stretch (line or sentence: a library's own error text, with its URL and object
    reprs) is cut first, in its middle ("…"), keeping its start (what failed, where) and its
    end (why); then the next longest, none below SHORTEST characters; so the short sentences
    around it (what was kept, what was not done, when the work comes next) stay whole. Only
    text still too long then is cut at its end. Whitespace runs become one space."""
    parts = [" ".join(p.split()) for p in re.split(r"\n|(?<=[.;!?])\s+", text) if p.strip()]
    excess = sum(len(p) + 1 for p in parts) - 1 - limit
    for index in sorted(range(len(parts)), key=lambda i: -len(parts[i])):
        part = parts[index]
        cut = min(excess + 1, len(part) - SHORTEST)  # "…" takes the place of one character
        if excess <= 0 or cut <= 1:
            break
        head = (len(part) - cut) * 2 // 3
        parts[index] = f"{part[:head]}…{part[head + cut :]}"
        excess -= cut - 1
    said = " ".join(parts)
    return said if len(said) <= limit else said[: limit - 1] + "…"


def json_problem(exc: ValueError | RecursionError) -> str:
    """What is wrong with JSON that Python's json could not read, as its reader can act on it:
    nested beyond its recursion limit, or a whole number longer than Python converts (its own
    message ends in advice to programmers, "use sys.set_int_max_str_digits()"); else json's
    own words ("Expecting value: line 1 column 1 (char 0)")."""
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    said = str(exc)
    if digits := re.search(
        r"limit \((\d+) digits\) for integer string conversion: value has (\d+)", said
    ):
        return f"a number of {int(digits[2]):,} digits (at most {int(digits[1]):,} are read)"
    return said
