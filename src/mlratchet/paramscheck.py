"""``ratchet params check``: every param a stage declares exists, and the policy file is valid.

For any DVC project: each stage of ``dvc.yaml`` lists under ``params:`` the keys it reads, from
``params.yaml`` (plain keys) or from another file (``{file: [keys]}``; ``{file: []}`` is the whole
file). Each key must exist in its file, read as DVC reads it (YAML 1.2 through ruamel, JSON,
TOML), and have a value (``null`` is no value). ``ratchet.yaml`` must pass its own validation.
Every problem is collected, so one run lists them all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from mlratchet.errors import BadInputError, RatchetError

DEFAULT_PARAMS = "params.yaml"


@dataclass(frozen=True)
class ParamsProblem:
    """One thing wrong: in which file, which key, declared by which stage."""

    file: str
    key: str | None
    stage: str | None
    problem: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else self.file
        by = f" (declared by stage {self.stage!r})" if self.stage else ""
        return f"{where}: {self.problem}{by}"

    def to_json(self) -> dict[str, Any]:
        """``{"file", "key", "stage", "problem"}``."""
        return {"file": self.file, "key": self.key, "stage": self.stage, "problem": self.problem}


@dataclass(frozen=True)
class ParamsCheck:
    """What was checked and what is wrong."""

    root: str
    checked: dict[str, tuple[str, ...]]  # params file -> keys declared ("" = the whole file)
    policy: str  # where the policy came from
    problems: tuple[ParamsProblem, ...]
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """No problem was found."""
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        """``{"valid", "checked", "policy", "problems", "notes"}``."""
        return {
            "valid": self.ok,
            "checked": {f: list(keys) for f, keys in sorted(self.checked.items())},
            "policy": self.policy,
            "problems": [p.to_json() for p in self.problems],
            "notes": list(self.notes),
        }


def _parse(path: Path, text: str) -> Any:
    from mlratchet.yamlio import parse_yaml

    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadInputError(f"{path.name}: not valid JSON ({exc})") from None
    if suffix == ".toml":
        import tomlkit

        try:
            return tomlkit.parse(text).unwrap()
        except Exception as exc:
            raise BadInputError(f"{path.name}: not valid TOML ({exc})") from None
    return parse_yaml(text, path.name)


def _lookup(data: Any, key: str) -> tuple[bool, Any]:
    node = data
    for part in key.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False, None
    return True, node


def _declared(stage: dict[str, Any]) -> list[tuple[str, str]]:
    """(params file relative to the stage's wdir, key or "") of each declared param."""
    out: list[tuple[str, str]] = []
    for item in stage.get("params") or []:
        if isinstance(item, str):
            out.append((DEFAULT_PARAMS, item))
        elif isinstance(item, dict):
            for file, keys in item.items():
                if not keys:
                    out.append((str(file), ""))
                out += [(str(file), str(k)) for k in keys or []]
    return out


class _Files:
    """Params files parsed once each; a missing or broken file is reported once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.parsed: dict[str, Any] = {}
        self.reported: set[str] = set()

    def problem(self, rel: str, key: str, stage: str) -> ParamsProblem | None:
        """What is wrong with ``key`` of ``rel`` ("" = the whole file), or None."""
        if rel not in self.parsed:
            try:
                text = (self.root / rel).read_text(encoding="utf-8")
                self.parsed[rel] = _parse(self.root / rel, text)
            except FileNotFoundError:
                self.parsed[rel] = BadInputError("no such params file")
            except UnicodeDecodeError as exc:
                self.parsed[rel] = BadInputError(f"not UTF-8 text ({exc.reason})")
            except RatchetError as exc:
                self.parsed[rel] = exc
        data = self.parsed[rel]
        if isinstance(data, RatchetError):
            if rel in self.reported:
                return None
            self.reported.add(rel)
            message = str(data).removeprefix(f"{Path(rel).name}: ")
            return ParamsProblem(rel, None, stage, message)
        if not key:
            return None
        found, value = _lookup(data, key)
        if not found:
            return ParamsProblem(rel, key, stage, "missing required key")
        if value is None:
            return ParamsProblem(rel, key, stage, "has no value (null)")
        return None


def _stages(root: Path) -> dict[str, Any]:
    from mlratchet.yamlio import load_yaml

    dvcfile = root / "dvc.yaml"
    if not dvcfile.is_file():
        raise BadInputError(f"{dvcfile}: no such file; `ratchet params check` needs a DVC pipeline")
    stages = (load_yaml(dvcfile) or {}).get("stages") or {}
    if not isinstance(stages, dict):
        raise BadInputError(f"{dvcfile}: stages must be a mapping")
    return stages


def check_params(repo: Path | str = ".", policy_file: Path | str | None = None) -> ParamsCheck:
    """Check the params every stage of ``dvc.yaml`` declares, and the policy file."""
    from mlratchet.dvcroot import find_root
    from mlratchet.policy import POLICY_FILE, policy_at

    root = find_root(repo).path
    files = _Files(root)
    problems: list[ParamsProblem] = []
    notes: list[str] = []
    checked: dict[str, list[str]] = {}
    for name, stage in _stages(root).items():
        if not isinstance(stage, dict):
            continue
        if "foreach" in stage or "matrix" in stage:
            notes.append(f"stage {name!r} is templated (foreach/matrix): its params not checked")
            continue
        wdir = PurePosixPath(str(stage.get("wdir", ".")))
        for file, key in _declared(stage):
            rel = (wdir / file).as_posix()
            keys = checked.setdefault(rel, [])
            if key not in keys:
                keys.append(key)
            if rel.endswith(".py"):
                notes.append(f"{rel}: Python params files are not checked")
            elif (found := files.problem(rel, key, name)) is not None:
                problems.append(found)
    try:
        _policy, source = policy_at(root, None, policy_file)
    except RatchetError as exc:
        source = str(policy_file or POLICY_FILE)
        problems.append(ParamsProblem(source, None, None, str(exc).removeprefix(f"{source}: ")))
    return ParamsCheck(
        root=str(root),
        checked={f: tuple(k) for f, k in checked.items()},
        policy=source,
        problems=tuple(problems),
        notes=tuple(dict.fromkeys(notes)),
    )
