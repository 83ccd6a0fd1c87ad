"""docker-compose.yml as docker compose reads it: its data, the `.env` beside it (as
scripts/init-env writes it) and the ${...} interpolation of one with the other."""

import re
import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
INIT_ENV = ROOT / "scripts" / "init-env"

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message} and $VAR, as compose
# reads them, and $$, its escaped $ (what the container's shell gets as $).
REFERENCE = re.compile(r"\$\$|\$\{(\w+)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_]\w*)")


def interpolated(node, values: dict[str, str]):
    """The compose data with every ${...} replaced as docker compose does it from .env."""
    if isinstance(node, dict):
        return {key: interpolated(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolated(value, values) for value in node]
    if not isinstance(node, str):
        return node

    def replace(match: re.Match) -> str:
        if match[0] == "$$":
            return "$"
        name, kind, word, bare = match.groups()
        name = name or bare
        value = values.get(name)
        if kind and kind.endswith("?") and not value:
            raise AssertionError(f"compose would refuse to start: {name} unset ({word})")
        if kind and kind.endswith("-") and not value:
            return word
        return value or ""

    return REFERENCE.sub(replace, node)


def read_dotenv(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def commands_of(service: dict) -> list[list[str]]:
    """The command lines a service runs, as argument lists (`sh -c "a && b"` gives a and b)."""
    argv = service["command"]
    argv = shlex.split(argv) if isinstance(argv, str) else list(argv)
    if argv[:2] == ["sh", "-c"]:
        steps = [shlex.split(step) for step in argv[2].split("&&")]
    else:
        steps = [argv]
    return [step[1:] if step[0] == "exec" else step for step in steps]
