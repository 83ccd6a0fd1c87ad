"""Numbers as people write them to enrich: in the ASCII digits 0-9. Python's int() and float()
also read " 30", "3_0" and other scripts' digits ("٣٠"), which nobody means; one rule for the
API's parameters (enrich.api.params), the forms' number fields, the commands' options
(`whole_option`) and the settings (config.environment, which must not import Django's REST
framework or models)."""

import argparse
import math
import re

_WHOLE = re.compile(r"-?[0-9]+")
# A number without sign or exponent as a decimal is written: "3", "1.5", ".5", "3."; the API's
# durations are written with it too (enrich.api.params.duration: ".5h").
UNSIGNED = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_DECIMAL = re.compile(rf"-?{UNSIGNED}(?:[eE][-+]?[0-9]+)?")


def written_whole(raw: str) -> bool:
    """Whether `raw` is written as a whole number in ASCII digits ("-12"), however many."""
    return bool(_WHOLE.fullmatch(raw))


def whole(raw: str) -> int | None:
    """`raw` as a whole number written in ASCII digits ("-12"), else None (" 12", "1_2", "١٢",
    "12.0", or more digits than int() converts: `written_whole` tells those apart). The forms'
    number fields read with it too (enrich.form_fields)."""
    if not written_whole(raw):
        return None
    try:
        return int(raw)
    except ValueError:  # over sys.get_int_max_str_digits() digits
        return None


def whole_option(raw: str) -> int:
    """A command's whole-number option (argparse's `type=`), read as `whole` reads it: else
    argparse's error naming the option ("argument --days: '٣' is not valid: ...")."""
    value = whole(raw)
    if value is None:
        raise argparse.ArgumentTypeError(
            f"{raw!r} is not valid: expected a whole number in the digits 0-9, e.g. 30."
        )
    return value


def decimal(raw: str) -> float | None:
    """`raw` as a finite number written in ASCII digits ("3", "-1.5", "2e3"), else None
    ("nan", "inf", "1e400", "1_5", "١٢", " 3"). "-0" is 0: its sign would be echoed (-0.0)."""
    value = float(raw) if _DECIMAL.fullmatch(raw) else None
    return value + 0.0 if value is not None and math.isfinite(value) else None
