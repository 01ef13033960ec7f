"""YAML read exactly as DVC reads it: ruamel.yaml, the safe loader, YAML 1.2.

PyYAML (YAML 1.1) reads ``NO``, ``off``, ``0123`` and ``1:30`` as a bool, an octal and a
sexagesimal number; DVC reads them as strings and decimals. A stage must see what ``dvc.lock``
records, so every params and policy file goes through :func:`load_yaml`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlratchet.errors import BadInputError


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text; a syntax error names ``source`` and the line."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        return YAML(typ="safe", pure=False).load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "malformed YAML"
        raise BadInputError(f"{source}:{line}: malformed YAML: {problem}") from None
    except YAMLError as exc:
        raise BadInputError(f"{source}: malformed YAML: {exc}") from None


def read_text(
    path: Path | str, *, what: str = "file", error: type[BadInputError] = BadInputError
) -> str:
    """A UTF-8 text file's contents; a missing, undecodable or unreadable file is ``error``, in
    one line naming the path (``PATH: no such WHAT``, ``not UTF-8 text (byte N)``...)."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None


def load_yaml(path: Path | str) -> Any:
    """Read and parse a YAML file; an unreadable file is a :class:`BadInputError`."""
    return parse_yaml(read_text(path), str(path))


def dumps_yaml(data: Any) -> str:
    """Block-style YAML text, keys in the order given."""
    import io

    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    stream = io.StringIO()
    yaml.dump(data, stream)
    return stream.getvalue()
