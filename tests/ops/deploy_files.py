"""Where the operations kit lives, and small readers for its text formats (the tests parse
no YAML: PyYAML is not a dependency, and promtool / Prometheus are the real parsers)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
UNIT = DEPLOY / "systemd" / "galileo.service"
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
COMPOSE = DEPLOY / "compose.yaml"
PROMETHEUS_DIR = DEPLOY / "prometheus"
ALERTS = PROMETHEUS_DIR / "alerts.yml"
LIMITS = PROMETHEUS_DIR / "limits.yml"
ALERTS_TEST = PROMETHEUS_DIR / "alerts_test.yml"
DASHBOARD = DEPLOY / "grafana" / "galileo.json"
OPERATIONS_DOC = REPO / "docs" / "operations.md"

METRIC_NAME = re.compile(r"\b(galileo(?::|_)[a-z0-9_:]+|process_[a-z_]+|up)\b(?!\s*\()")
"""Metric names in a PromQL expression (not functions: a name followed by "(" is one)."""


def unit_settings(text: str) -> dict[str, dict[str, list[str]]]:
    """``{section: {key: [value, ...]}}`` of a systemd unit file (comments skipped)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


def dashboard_panels() -> list[dict[str, Any]]:
    """The dashboard's panels with queries (rows left out)."""
    return [p for p in dashboard()["panels"] if p.get("type") != "row"]


GRAFANA_VARIABLES = {
    "$__rate_interval": "10s",
    "$instance": ".*",
    "$job": ".*",
    "$ip": ".*",
}
"""What Grafana puts in place of the dashboard's variables, for a query run directly against
Prometheus (all instances, jobs and IPs; a rate window of 10 scrapes at 1 s)."""


def expand(expr: str) -> str:
    """``expr`` with the dashboard's variables replaced as Grafana would."""
    for name, value in sorted(GRAFANA_VARIABLES.items(), key=lambda item: -len(item[0])):
        expr = expr.replace(name, value)
    return expr


def alert_names() -> list[str]:
    """The ``alert:`` names of alerts.yml, in order."""
    return re.findall(r"^\s*- alert:\s*(\S+)\s*$", ALERTS.read_text(encoding="utf-8"), re.M)


def alert_expressions() -> list[str]:
    """Every ``expr:`` of the rule files (one-line and ``|`` blocks), as text."""
    exprs: list[str] = []
    for path in (ALERTS, LIMITS):
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            stripped = line.strip()
            if not stripped.startswith("expr:"):
                continue
            rest = stripped.removeprefix("expr:").strip()
            if rest != "|":
                exprs.append(rest)
                continue
            indent = len(line) - len(line.lstrip())
            block: list[str] = []
            for following in lines[i + 1 :]:
                if following.strip() and len(following) - len(following.lstrip()) <= indent:
                    break
                block.append(following.strip())
            exprs.append("\n".join(block).strip())
    return exprs
