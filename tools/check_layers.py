#!/usr/bin/env python3
"""The layer and facade contract of the galileo package, checked from the source text.

1. **Layers point down.** Every top-level unit of ``galileo`` (a package such as
   ``galileo.engine`` or a root module such as ``galileo._config``) sits in one layer of
   ``LAYERS``; it may import units of lower layers only (and itself).
2. **Facades are not bypassed.** A package's private modules (``galileo.<pkg>._<name>``) are
   imported only from inside ``<pkg>``; everyone else goes through ``galileo.<pkg>``.

Imports inside functions count too. Usage: ``python tools/check_layers.py [ROOT]`` (ROOT: the
directory holding ``galileo/``, default: this repository). Exit 1 with one line per
violation, 0 when the contract holds. ``make lint`` runs it.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

PACKAGE = "galileo"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("__main__",),
    ("cli",),
    ("_app",),
    ("pipeline", "_run_report"),
    ("engine", "execution", "_wallet_setup"),
    ("providers", "strategy", "landers", "tx", "risk", "ledger", "jupiter_binary", "_preflight"),
    ("sim",),
    ("net", "obs", "_liveview"),
    ("model", "_httpserver", "_config_load"),
    ("_config", "_keyfile", "_state_lock", "__init__"),
    ("_keystore",),
    ("_secret", "_solana", "_errors", "_config_rules"),
    ("_fast",),
)
"""Top (imports the most) to bottom (imports nothing of galileo). ``__init__`` is the root
package ``galileo`` itself (the public API)."""

_RANK = {unit: rank for rank, layer in enumerate(LAYERS) for unit in layer}


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported(node: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    """Dotted galileo modules that ``node`` imports (``from galileo.x import y`` names both
    ``galileo.x`` and ``galileo.x.y``: y may be a submodule)."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                yield alias.name
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            target = ".".join([*base, node.module] if node.module else base)
        else:
            target = node.module or ""
        if target != PACKAGE and not target.startswith(PACKAGE + "."):
            return
        for alias in node.names:
            yield f"{target}.{alias.name}"


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def violations(root: Path) -> list[str]:
    found: list[str] = []
    package_dir = root / PACKAGE
    packages = {p.name for p in package_dir.iterdir() if (p / "__init__.py").is_file()}
    units = packages | {p.stem for p in package_dir.glob("*.py")}
    for unit in sorted(units - set(_RANK)):
        found.append(f"{PACKAGE}.{unit}: not in any layer of tools/check_layers.py LAYERS")
    for path in sorted(package_dir.rglob("*.py")):
        module = _module_name(root, path)
        source_unit = _unit(module)
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            for imported in _imported(node, module, path.name == "__init__.py"):
                parts = imported.split(".")
                # ``from galileo import __version__`` imports the root package, not a unit.
                name = PACKAGE if len(parts) == 2 and parts[-1] not in units else imported
                target_unit = _unit(name)
                if target_unit == source_unit:
                    continue
                where = f"{path.relative_to(root)}:{node.lineno}"
                if target_unit in packages and any(p.startswith("_") for p in parts[2:]):
                    found.append(
                        f"{where}: {module} imports {name}, a private module of "
                        f"{PACKAGE}.{target_unit} (import it from {PACKAGE}.{target_unit})"
                    )
                source_rank, target_rank = _RANK.get(source_unit), _RANK.get(target_unit)
                if (
                    source_rank is not None
                    and target_rank is not None
                    and target_rank <= source_rank
                ):
                    found.append(
                        f"{where}: {module} ({'/'.join(LAYERS[source_rank])}) imports {name} "
                        f"({'/'.join(LAYERS[target_rank])}): an import must point to a lower layer"
                    )
    return sorted(set(found))


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent
    found = violations(root)
    for line in found:
        print(line)
    if found:
        print(f"{len(found)} violation(s) of the layer/facade contract", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
