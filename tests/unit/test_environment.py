"""Which packages a stage imports, read from its source without running it."""

from __future__ import annotations

from pathlib import Path

from helpers import gen
from mlratchet.reproduce.environment import imported_modules, package_versions, stage_environment


def test_imports_are_top_level_absolute_and_not_stdlib() -> None:
    """`import a.b`, `from c import d` give a and c; stdlib, relative and __future__ are dropped."""
    source = (
        b"from __future__ import annotations\nimport os, json\nimport numpy.linalg as la\n"
        b"from sklearn.linear_model import Ridge\nfrom . import sibling\n"
        b"def f():\n    import pandas\n"
    )
    assert imported_modules([source, b"this is not python ("]) == {"numpy", "sklearn", "pandas"}


def test_versions_include_the_requirements_of_what_is_imported() -> None:
    """A stage importing sklearn records scikit-learn and what it needs (numpy, scipy)."""
    import numpy
    import scipy
    import sklearn

    versions = package_versions({"sklearn"})
    assert versions["scikit-learn"] == sklearn.__version__
    assert versions["numpy"] == numpy.__version__
    assert versions["scipy"] == scipy.__version__
    assert package_versions({"no_such_module_here"}) == {}


def test_stage_sources_are_its_python_deps_command_script_and_inline_code(tmp_path: Path) -> None:
    """Deps' .py files, a package dir among deps, the script in cmd and `python -c` code count."""
    gen(
        tmp_path,
        {
            "stages/run.py": "import yaml\n",
            "pkg/__init__.py": "",
            "pkg/inner.py": "import numpy\n",
            "data/notes.py": "import pandas\n",  # a data folder, not a dependency here
        },
    )
    env = stage_environment(
        tmp_path,
        ["pkg", "data/raw.csv", "params.yaml"],
        'python stages/run.py --x 1\npython -c "import scipy"',
    )
    assert {"pyyaml", "numpy", "scipy"} <= set(env["packages"])
    assert "pandas" not in env["packages"]
    assert env["python"].count(".") == 2 and env["platform"]
