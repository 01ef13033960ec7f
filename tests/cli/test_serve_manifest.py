"""``ratchet serve --manifest`` prints Kubernetes objects that Kubernetes' own schemas accept."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from mlratchet.cli.group import cli

#: A recent Kubernetes release whose schemas kubernetes-validate bundles (offline).
KUBERNETES = "1.35.0"


@pytest.mark.parametrize(
    "extra",
    [
        [],
        ["--workers", "2", "--log-dir", "logs/predictions", "--contract", "CONTRACT"],
        ["--follow", "--follow-interval", "5", "--follow-remote", "upstream"],
    ],
)
def test_manifest_is_valid_kubernetes(extra: list[str], tmp_path: Path) -> None:
    """A Deployment and a Service, valid under strict schemas of a recent Kubernetes."""
    from kubernetes_validate import utils

    contract = tmp_path / "contract.yaml"
    contract.write_text("{}\n", encoding="utf-8")
    extra = [str(contract) if a == "CONTRACT" else a for a in extra]
    args = ["serve", "wine-model#prod", "--manifest", "-R", str(tmp_path), *extra]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    documents = list(yaml.safe_load_all(result.stdout))
    assert [d["kind"] for d in documents] == ["Deployment", "Service"]
    for document in documents:
        utils.validate(document, KUBERNETES, strict=True)  # raises ValidationError
    command = documents[0]["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[:3] == ["ratchet", "serve", "wine-model#prod"]
    assert all(option in command for option in extra if option.startswith("--"))


def test_an_invalid_manifest_is_caught() -> None:
    """The validator says no to a Deployment without its selector (the check can fail)."""
    from kubernetes_validate import utils

    broken = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {"template": {"spec": {"containers": []}}},
    }
    with pytest.raises(utils.ValidationError):
        utils.validate(broken, KUBERNETES, strict=True)
