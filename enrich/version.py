"""enrich's version, read from pyproject.toml, its one source: the API schema's `info.version`
and the Home Assistant devices' `sw_version` show it."""

import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"

with PYPROJECT.open("rb") as file:
    VERSION: str = tomllib.load(file)["project"]["version"]
