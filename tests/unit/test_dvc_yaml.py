"""dvc.yaml declares what each stage really reads, so a change re-runs exactly what it affects."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from flightdelay.params import load_params
from helpers import ROOT
from mlratchet.yamlio import load_yaml

DVC_YAML = load_yaml(ROOT / "dvc.yaml")
STAGES = DVC_YAML["stages"]


def _module_path(name: str) -> Path | None:
    base = ROOT / "flightdelay" / "src" / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(script: Path) -> set[str]:
    """Every file of the project's own package a script imports, transitively (nested too)."""
    seen: set[Path] = set()
    todo = [script]
    while todo:
        tree = ast.parse(todo.pop().read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                if not name.startswith("flightdelay"):
                    continue
                parts = name.split(".")
                for i in range(1, len(parts) + 1):
                    path = _module_path(".".join(parts[:i]))
                    if path is not None and path not in seen:
                        seen.add(path)
                        todo.append(path)
    return {p.relative_to(ROOT).as_posix() for p in seen}


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_stage_deps_list_its_script_and_every_module_it_imports(stage: str) -> None:
    """A stage depends on its script and on every module of the project's own code it runs;
    the toolkit is a pinned dependency, like scikit-learn, so none of its files is a dep."""
    spec = STAGES[stage]
    script = re.fullmatch(r"python (stages/\w+\.py)", spec["cmd"]).group(1)
    deps = set(spec["deps"])
    assert script in deps
    needed = imported_modules(ROOT / script)
    needed.discard("flightdelay/src/flightdelay/__init__.py")  # the package marker, not logic
    assert sorted(needed - deps) == []
    assert not [d for d in deps if d.startswith("src/mlratchet/")]


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_stage_params_are_real_keys(stage: str) -> None:
    """Every params key a stage declares exists in params.yaml."""
    params = load_yaml(ROOT / "params.yaml")
    load_params(ROOT / "params.yaml")
    for key in STAGES[stage].get("params", []):
        node = params
        for part in key.split("."):
            assert isinstance(node, dict) and part in node, f"{stage}: {key}"
            node = node[part]


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_stage_declares_the_params_sections_its_script_reads(stage: str) -> None:
    """A stage script reading `params.<section>` declares every key of that section."""
    script = ROOT / re.fullmatch(r"python (stages/\w+\.py)", STAGES[stage]["cmd"]).group(1)
    text = script.read_text()
    known = {"ingest", "prepare", "featurize", "train", "evaluate"}
    whole = set(re.findall(r"load_params\(\)\.(\w+)", text))
    whole |= set(re.findall(r"\bparams\.(\w+)\b(?!\.)", text))
    keys = set(re.findall(r"\bparams\.(\w+)\.(\w+)", text))
    params = load_yaml(ROOT / "params.yaml")
    declared = set(STAGES[stage].get("params", []))
    wanted = {f"{sec}.{key}" for sec in whole & known for key in params[sec]}
    wanted |= {f"{sec}.{key}" for sec, key in keys if sec in known}
    assert sorted(wanted - declared) == []


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_stage_script_imports_no_numeric_library_before_main(stage: str) -> None:
    """Kernel pinning works only if numpy/OpenBLAS load after run_stage sets the environment."""
    import subprocess
    import sys

    script = re.fullmatch(r"python (stages/\w+\.py)", STAGES[stage]["cmd"]).group(1)
    code = (
        "import runpy, sys\n"
        f"runpy.run_path({str(ROOT / script)!r}, run_name='not_main')\n"
        "print(sorted(m for m in ('numpy', 'pandas', 'sklearn', 'scipy', 'pyarrow') "
        "if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_stage_runner_pins_numeric_kernels() -> None:
    """A stage process sees numpy's AVX-512 paths off and OpenBLAS on its Haswell kernels."""
    import subprocess
    import sys

    code = (
        "import os\nfrom mlratchet.stagerun import run_stage\n"
        "def main():\n"
        "    import numpy\n"
        "    from threadpoolctl import threadpool_info\n"
        "    arch = {i.get('architecture') for i in threadpool_info() if i['user_api'] == 'blas'}\n"
        "    print(os.environ['NPY_DISABLE_CPU_FEATURES'], sorted(arch))\n"
        "run_stage('probe', main)\n"
    )
    env = {
        k: v
        for k, v in __import__("os").environ.items()
        if k not in ("NPY_DISABLE_CPU_FEATURES", "OPENBLAS_CORETYPE")
    }
    proc = subprocess.run(
        [sys.executable, "-W", "error::ImportWarning", "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    assert proc.stdout.strip() == "X86_V4 AVX512_ICL AVX512_SPR ['Haswell']"
