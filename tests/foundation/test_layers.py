"""The layer/facade contract (tools/check_layers.py, run by ``make lint``) holds on the tree
and catches a deliberate violation of each rule."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHECK = REPO / "tools" / "check_layers.py"


def check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHECK), str(root)], capture_output=True, text=True, check=False
    )


def tree_with(tmp_path: Path, module: str, line: str) -> Path:
    """A copy of the package with ``line`` appended to ``module`` (a path under galileo/)."""
    shutil.copytree(
        REPO / "galileo", tmp_path / "galileo", ignore=shutil.ignore_patterns("*.so", "*.c")
    )
    with (tmp_path / module).open("a", encoding="utf-8") as file:
        file.write("\n" + line + "\n")
    return tmp_path


def test_the_package_keeps_its_layers_and_facades() -> None:
    result = check(REPO)
    assert result.returncode == 0, result.stdout


def test_importing_another_packages_private_module_is_a_violation(tmp_path: Path) -> None:
    root = tree_with(
        tmp_path, "galileo/landers/_tracker.py", "from galileo.tx._wallet import Wallet"
    )
    result = check(root)
    assert result.returncode == 1
    assert "a private module of galileo.tx" in result.stdout


def test_an_import_pointing_up_the_layers_is_a_violation(tmp_path: Path) -> None:
    root = tree_with(
        tmp_path, "galileo/net/_allocator.py", "from galileo.engine import QuoteEngine"
    )
    result = check(root)
    assert result.returncode == 1
    assert "galileo.net._allocator" in result.stdout
    assert "an import must point to a lower layer" in result.stdout


def test_the_model_package_stays_a_leaf(tmp_path: Path) -> None:
    root = tree_with(tmp_path, "galileo/model/_legs.py", "import galileo.obs")
    assert check(root).returncode == 1


def test_an_import_inside_a_function_counts(tmp_path: Path) -> None:
    line = "def late() -> None:\n    from galileo.cli import main  # noqa: F401"
    root = tree_with(tmp_path, "galileo/ledger/_ledger.py", line)
    assert check(root).returncode == 1


def test_a_new_unit_must_be_placed_in_a_layer(tmp_path: Path) -> None:
    root = tree_with(tmp_path, "galileo/_errors.py", "")
    (root / "galileo" / "_orphan.py").write_text("X = 1\n", encoding="utf-8")
    result = check(root)
    assert result.returncode == 1
    assert "galileo._orphan: not in any layer" in result.stdout
