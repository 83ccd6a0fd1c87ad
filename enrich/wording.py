"""Counts as a user reads them in run notes, messages and command output: "1 point",
"2 points", "1 entity", never "point(s)" or "1 points"; lists read "a, b and c"."""


def counted(n: int, one: str, many: str = "") -> str:
    """`n` with the noun for it: "1 day", "3 days", "1,200 raw points"; `many` where the
    plural is not `one` + "s" ("entities")."""
    return f"{n:,} {one if n == 1 else many or one + 's'}"


def listed(parts: list[str]) -> str:
    """`parts` as a sentence lists them: "a", "a and b", "a, b and c"; "" for none."""
    return " and ".join([", ".join(parts[:-1]), parts[-1]]) if len(parts) > 1 else "".join(parts)
