"""Checks on a pipeline before anything of it runs (``ratchet repro`` and ``ratchet verify``).

- :func:`check_interpolations`: every ``${...}`` that DVC interpolates into a stage's ``cmd``
  must be a value the shell reads as plain text. A param value holding ``;``, ``$( )``, a
  backtick, ``|``, ``&``, ``>``, a newline... would otherwise run as a command of its own.
  Numbers, booleans and plain strings (letters, digits, ``._-/=:,+@%``) pass anywhere; other
  strings pass where the cmd quotes them (``'${x}'`` without ``'`` in the value, ``"${x}"``
  without ``$``, a backtick, ``"`` or ``\\``). A key no params file defines is bad input.
- :func:`check_params`: every key a stage lists under ``params:`` exists in its params file
  (DVC only notices after it has deleted the stage's outputs and run it).

DVC's own resolver does the interpolation (foreach, matrix, ``vars`` and all): we watch it.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Sequence
from typing import Any

from mlratchet.errors import BadInputError, RefusedError, find_in_chain

#: Characters a shell reads as plain text in an unquoted word.
PLAIN = re.compile(r"[A-Za-z0-9._\-/=:,+@%]*")
#: Characters that keep their meaning inside double quotes.
DOUBLE_QUOTE_ACTIVE = frozenset('$`"\\')


def _quoting_at(cmd: str, pos: int, opaque: Sequence[tuple[int, int]]) -> str:
    """The shell quote open at ``pos`` of ``cmd``: ``'``, ``"`` or ``""`` (none).

    ``opaque`` spans (the other interpolations) are skipped: a value that passes this check
    cannot change the quoting around it.
    """
    ends = dict(opaque)
    state = ""
    i = 0
    while i < pos:
        if i in ends:
            i = ends[i]
            continue
        char = cmd[i]
        if state == "'":
            state = "" if char == "'" else state
        elif char == "\\":
            i += 1
        elif state == '"':
            state = "" if char == '"' else state
        elif char in "'\"":
            state = char
        i += 1
    return state


def offending_char(value: Any, quoting: str) -> str | None:
    """The first character of ``value`` that the shell would act on at ``quoting``, or None."""
    if isinstance(value, bool | int | float) or value is None:
        return None
    if isinstance(value, str):
        text = value
        if quoting == "'":
            return "'" if "'" in text else None
        if quoting == '"':
            return next((c for c in text if c in DOUBLE_QUOTE_ACTIVE), None)
        match = PLAIN.match(text)
        return None if match is None or match.end() == len(text) else text[match.end()]
    # a list or dict, which DVC renders as words (``--key value``): each word must be plain
    from dvc.parsing.interpolate import to_str

    text = to_str(value)
    return next((c for c in text if c != " " and not PLAIN.fullmatch(c)), None)


@contextlib.contextmanager
def _watching_cmds(found: list[tuple[str, str, Any, str]]) -> Iterator[None]:
    """Record (cmd, key, value, quoting) for each interpolation DVC makes into a ``cmd``."""
    from dvc.parsing.context import Context
    from dvc.parsing.interpolate import get_expression, get_matches

    original = Context.resolve_str

    def resolve_str(self: Any, src: str, *args: Any, **kwargs: Any) -> Any:
        key = kwargs.get("key", args[2] if len(args) > 2 else None)
        result = original(self, src, *args, **kwargs)
        if key == "cmd" and isinstance(src, str):
            matches = get_matches(src)
            spans = [m.span(0) for m in matches]
            for match in matches:
                value = self.select(get_expression(match, skip_checks=True), unwrap=True)
                others = [s for s in spans if s != match.span(0)]
                quoting = _quoting_at(src, match.start(0), others)
                found.append((src, str(match["inner"]).strip(), value, quoting))
        return result

    Context.resolve_str = resolve_str
    try:
        yield
    finally:
        Context.resolve_str = original


def _project_files(repo: Any) -> list[Any]:
    from dvc.dvcfile import PROJECT_FILE, ProjectFile, load_file

    files = []
    for root, _dirs, names in repo.dvcignore.walk(repo.fs, repo.root_dir):
        if PROJECT_FILE in names:
            dvcfile = load_file(repo, repo.fs.join(root, PROJECT_FILE))
            if isinstance(dvcfile, ProjectFile) and dvcfile.exists():
                files.append(dvcfile)
    return files


def _params_files(contents: Any) -> str:
    vars_ = contents.get("vars") if isinstance(contents, dict) else None
    files = ["params.yaml"] + [v for v in vars_ or [] if isinstance(v, str)]
    return ", ".join(dict.fromkeys(f.split(":")[0] for f in files))


def check_interpolations(repo: Any) -> None:
    """Refuse a stage whose ``cmd`` would hand the shell a param value's metacharacters.

    ``repo`` is DVC's Repo. Raises :class:`RefusedError` naming the stage, the key and the
    character; :class:`BadInputError` when a ``${key}`` is in no params file.
    """
    from dvc.exceptions import DvcException
    from dvc.parsing.context import KeyNotInContext

    for dvcfile in _project_files(repo):
        rel = os.path.relpath(dvcfile.path, repo.root_dir)
        try:
            resolver = dvcfile.resolver
        except DvcException:
            continue  # a broken dvc.yaml: DVC's own error is reported when it loads it
        for name in resolver.get_keys():
            found: list[tuple[str, str, Any, str]] = []
            try:
                with _watching_cmds(found):
                    resolver.resolve_one(name)
            except DvcException as exc:
                cause = find_in_chain(exc, KeyNotInContext)
                if cause is not None:
                    raise BadInputError(
                        f"{_params_files(dvcfile.contents)}: no key {cause.key!r}, which stage "
                        f"'{name}' interpolates into {rel} (${{{cause.key}}}); add it to the "
                        "params file or fix the stage"
                    ) from exc
                continue  # any other resolution error: DVC reports it when it loads the stage
            for _cmd, key, value, quoting in found:
                char = offending_char(value, quoting)
                if char is not None:
                    raise RefusedError(
                        f"{rel}: stage '{name}' interpolates ${{{key}}} = {value!r} into its "
                        f"cmd, and the shell would act on its {char!r}; refusing to run it. "
                        f"Quote it in the cmd ('${{{key}}}') or use a plain value"
                    )


def check_params(stages: Sequence[Any]) -> None:
    """Every key the stages list under ``params:`` is in its params file, else bad input."""
    from dvc.dependency import ParamsDependency

    for stage in stages:
        for dep in stage.deps:
            if not isinstance(dep, ParamsDependency) or not dep.params:
                continue
            rel = os.path.relpath(dep.fs_path, stage.repo.root_dir)
            if not dep.exists:
                raise BadInputError(
                    f"{rel}: no such params file, which stage '{stage.addressing}' reads "
                    f"({', '.join(dep.params)}); create it or fix the stage"
                )
            present = dep.read_params()
            missing = [key for key in dep.params if key not in present]
            if missing:
                raise BadInputError(
                    f"{rel}: no key {missing[0]!r}, which stage '{stage.addressing}' lists "
                    "under params in dvc.yaml; add it to the params file or remove it "
                    "from the stage"
                )
