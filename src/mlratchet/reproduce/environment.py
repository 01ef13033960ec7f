"""The environment a stage ran in: Python, platform, and the versions of what it imports.

Which packages does a stage import? We read the stage's own Python files (the ``.py`` files
among its dependencies, the ``.py`` files of a Python package directory among them, a script
named in its command, and the code of a ``python -c`` command) with :mod:`ast`, take the top-level
names of their absolute imports, map them to installed distributions
(``importlib.metadata.packages_distributions``), and close the set over those distributions'
requirements (``numpy`` is recorded for a stage that imports ``sklearn``). Nothing is imported
or executed. The versions are those of the interpreter running ``ratchet`` -- the interpreter
a stage's ``python`` is when ratchet runs from the project's environment, as it is meant to.
"""

from __future__ import annotations

import ast
import functools
import platform
import re
import shlex
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TypedDict


class Environment(TypedDict):
    """The JSON shape of a stage's environment in the compute record."""

    python: str
    implementation: str
    platform: str
    packages: dict[str, str]


def _command_words(cmd: str) -> list[list[str]]:
    words = []
    for line in cmd.splitlines():
        try:
            words.append(shlex.split(line))
        except ValueError:
            words.append(line.split())
    return words


def _sources(root: Path, deps: Iterable[str], cmd: str) -> tuple[list[bytes], set[str]]:
    """Python source the stage runs (its files, ``python -c`` code) and ``-m`` module names."""
    paths: set[Path] = set()
    code: list[bytes] = []
    modules: set[str] = set()
    scripts: list[str] = []
    for words in _command_words(cmd):
        for i, word in enumerate(words):
            following = words[i + 1] if i + 1 < len(words) else None
            if Path(word).name.startswith("python") and following is not None:
                if following == "-c" and i + 2 < len(words):
                    code.append(words[i + 2].encode("utf-8"))
                elif following == "-m" and i + 2 < len(words):
                    modules.add(words[i + 2].split(".")[0])
            if word.endswith(".py"):
                scripts.append(word)
    top = root.resolve()
    for rel in [*deps, *scripts]:
        path = (root / rel).resolve()
        if not path.is_relative_to(top):
            continue
        if path.is_dir() and (path / "__init__.py").is_file():  # a package, not a data folder
            paths.update(path.rglob("*.py"))
        elif path.suffix == ".py" and path.is_file():
            paths.add(path)
    for path in sorted(paths):
        try:
            code.append(path.read_bytes())
        except OSError:
            continue
    return code, modules


def imported_modules(sources: Iterable[bytes]) -> set[str]:
    """Top-level names of the absolute imports in Python ``sources`` (unparsable ones skipped)."""
    names: set[str] = set()
    for source in sources:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n != "__future__"}


@functools.cache
def _module_distributions() -> dict[str, tuple[str, ...]]:
    from importlib.metadata import packages_distributions

    return {name: tuple(dists) for name, dists in packages_distributions().items()}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@functools.cache
def _requirements(dist_name: str) -> tuple[str, ...]:
    from importlib.metadata import PackageNotFoundError, requires

    from packaging.requirements import InvalidRequirement, Requirement

    try:
        raw = requires(dist_name) or []
    except PackageNotFoundError:
        return ()
    names = []
    for text in raw:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            continue
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            names.append(req.name)
    return tuple(names)


@functools.cache
def _version(dist_name: str) -> tuple[str, str] | None:
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution(dist_name)
    except PackageNotFoundError:
        return None
    return str(dist.metadata["Name"] or dist_name), str(dist.version)


def package_versions(modules: Iterable[str]) -> dict[str, str]:
    """Installed distributions providing ``modules``, with their requirements, name -> version."""
    by_module = _module_distributions()
    todo = [dist for module in sorted(modules) for dist in by_module.get(module, ())]
    found: dict[str, str] = {}
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        key = _canonical(name)
        if key in seen:
            continue
        seen.add(key)
        version = _version(name)
        if version is None:
            continue
        found[_canonical(version[0])] = version[1]
        todo += _requirements(name)
    return dict(sorted(found.items()))


def stage_environment(root: Path | str, deps: Iterable[str], cmd: str) -> Environment:
    """Python, platform and package versions for a stage with these deps and command."""
    sources, modules = _sources(Path(root), deps, cmd)
    return Environment(
        python=platform.python_version(),
        implementation=platform.python_implementation(),
        platform=platform.platform(),
        packages=package_versions(imported_modules(sources) | modules),
    )


@functools.cache
def cpu_signature() -> str:
    """The machine and its CPU's instruction-set extensions: ``x86_64:<sha256 prefix>``.

    Numerical libraries pick code paths by CPU feature (AVX2, AVX-512, NEON...), so the same
    package versions may write different floats on another CPU. The flags come from
    ``/proc/cpuinfo`` (``flags`` on x86, ``Features`` on ARM); elsewhere from
    ``platform.processor()``. Only a digest is kept: the list is long and only equality matters.
    """
    import hashlib

    flags = ""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() in ("flags", "features"):
            flags = " ".join(sorted(set(value.split())))
            break
    if not flags:
        flags = platform.processor()
    digest = hashlib.sha256(flags.encode("utf-8")).hexdigest()[:16]
    return f"{platform.machine()}:{digest}"
