"""The Dockerfile, .dockerignore and deploy/compose.yaml, checked without a docker daemon: the
image builds with the README's `make build` from files that exist and reach the build
context, runs as non-root with its state on a volume, and its HEALTHCHECK command really
tells a ready galileo from a starting one; the compose stack's files, ports and service names
agree with each other and with galileo's configuration."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import sys
import tomllib
from pathlib import Path

import trio
from prometheus_client import CollectorRegistry

from galileo._config_load import load_config
from galileo.obs import MetricsServer
from tests.ops.deploy_files import COMPOSE, DEPLOY, DOCKERFILE, DOCKERIGNORE, REPO

CONTAINER_CONFIG = DEPLOY / "container" / "galileo.toml"
IMAGE_CONFIG_PATH = "/etc/galileo/galileo.toml"


def instructions() -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` of the Dockerfile, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    found: list[tuple[str, str]] = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            word, _, rest = stripped.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's instructions split by FROM (each list starts with its FROM)."""
    result: list[list[tuple[str, str]]] = []
    for instruction in instructions():
        if instruction[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def context_includes(path: str) -> bool:
    """Whether ``path`` (relative to the repository) reaches the build context through
    .dockerignore (patterns in order, the last match wins, ``!`` re-includes)."""
    included = True
    for raw in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.removeprefix("!").rstrip("/")
        parts = Path(path).parts
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatch(prefix, pattern) for prefix in prefixes):
            included = negate
    return included


def container_config_port() -> int:
    return load_config(CONTAINER_CONFIG, env={}).metrics.port


def test_the_build_stage_is_the_readme_build() -> None:
    assert len(stages()) == 2
    build = stages()[0]
    assert re.fullmatch(r"\S+ AS build", build[0][1])
    runs = [args for word, args in build if word == "RUN"]
    assert any(re.match(r"make build\b", run) for run in runs), runs
    # No second way to install: no pip in any stage.
    assert not [args for word, args in instructions() if word == "RUN" and "pip" in args]
    # The inputs `make build` depends on ($(DEPS_STAMP) and the readme pyproject names) are
    # all copied in, exist, and pass .dockerignore.
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    stamp = re.search(r"^\$\(DEPS_STAMP\):(.*)$", makefile, re.M)
    assert stamp
    needed = {word for word in stamp.group(1).split() if not word.startswith("$")}
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    needed |= {"Makefile", pyproject["project"]["readme"], "galileo"}
    copied: set[str] = set()
    for word, args in instructions():
        if word == "COPY" and "--from=" not in args:
            *sources, _ = args.split()
            copied.update(sources)
    assert needed <= copied
    for source in copied:
        assert (REPO / source).exists(), source
        assert context_includes(source), f"{source} is left out by .dockerignore"
    # …and the local build outputs are not (the image compiles its own core).
    assert not context_includes("galileo/_fast/hashring.c")
    assert not context_includes(".venv/bin/python")
    assert not context_includes("tests/worlds.py")


def test_the_runtime_stage_runs_as_non_root_with_state_on_a_volume() -> None:
    _, runtime = stages()
    words = dict(runtime)  # the last value of each instruction
    assert "--from=build" in next(args for word, args in runtime if word == "COPY")
    assert words["USER"] == "galileo"
    assert "useradd --system" in words["RUN"]
    config = load_config(CONTAINER_CONFIG, env={})
    assert json.loads(words["VOLUME"]) == [config.state_dir]
    assert words["WORKDIR"] == config.state_dir
    assert f"GALILEO_CONFIG={IMAGE_CONFIG_PATH}" in words["ENV"]
    assert f"COPY deploy/container/galileo.toml {IMAGE_CONFIG_PATH}" in {
        f"{word} {args}" for word, args in runtime
    }
    assert words["EXPOSE"] == str(config.metrics.port)
    # Reachable from another container (Prometheus), the HEALTHCHECK and a published port.
    assert config.metrics.host == "0.0.0.0"
    assert json.loads(words["ENTRYPOINT"]) == ["tini", "--", "python", "-m", "galileo"]
    assert json.loads(words["CMD"]) == ["run"]


def healthcheck_command() -> list[str]:
    args = dict(stages()[-1])["HEALTHCHECK"]
    found = re.search(r"\bCMD (\[.*\])\s*$", args)
    assert found, args
    command: list[str] = json.loads(found.group(1))
    return command


async def test_the_healthcheck_passes_on_a_ready_galileo_only() -> None:
    command = healthcheck_command()
    assert command[0] == "python"
    assert f"'{container_config_port()}'" in command[-1]  # its default port is the config's
    server = MetricsServer(CollectorRegistry())
    async with trio.open_nursery() as nursery:
        port = await nursery.start(server.run)
        env = {**os.environ, "GALILEO_METRICS__PORT": str(port)}

        async def check() -> int:
            done = await trio.run_process(
                [sys.executable, *command[1:]], env=env, capture_stdout=True,
                capture_stderr=True, check=False,
            )  # fmt: skip
            return done.returncode

        assert await check() != 0  # 503 starting
        server.set_ready()
        assert await check() == 0
        server.set_ready(False)
        assert await check() != 0  # 503 not ready (stopping)
        nursery.cancel_scope.cancel()


def compose_services() -> dict[str, str]:
    """``{service: its block of text}`` of compose.yaml's ``services:`` mapping."""
    text = COMPOSE.read_text(encoding="utf-8")
    body = re.search(r"^services:\n(.*?)(?=^\S)", text, re.M | re.S)
    assert body
    blocks = re.split(r"^  (?=[a-z][a-z0-9_-]*:\s*$)", body.group(1), flags=re.M)
    return {block.split(":", 1)[0]: block for block in blocks if block.strip()}


def test_the_compose_stack_fits_together() -> None:
    services = compose_services()
    assert set(services) == {"galileo", "prometheus", "grafana"}
    galileo = services["galileo"]
    assert re.search(r"^\s+context: \.\.\s*$", galileo, re.M)
    dockerfile = re.search(r"^\s+dockerfile: (\S+)\s*$", galileo, re.M)
    assert dockerfile
    assert (COMPOSE.parent / ".." / dockerfile.group(1)).resolve() == DOCKERFILE
    config = load_config(CONTAINER_CONFIG, env={})
    assert f"- galileo-state:{config.state_dir}\n" in galileo
    port = config.metrics.port
    assert f'- "127.0.0.1:{port}:{port}"' in galileo
    # Every host file mounted exists; every published port is on the host's loopback only.
    text = COMPOSE.read_text(encoding="utf-8")
    mounts = re.findall(r"^\s+- (\./[^:]+):(\S+?)(?::ro)?\s*$", text, re.M)
    assert len(mounts) >= 5
    for source, _ in mounts:
        assert (COMPOSE.parent / source).exists(), source
    published = re.findall(r'^\s+- "([^"]+:\d+:\d+)"\s*$', text, re.M)
    assert len(published) == 3
    assert all(mapping.startswith("127.0.0.1:") for mapping in published)
    # Prometheus scrapes the galileo service on the metrics port, as job "galileo".
    prometheus_yml = (DEPLOY / "prometheus" / "prometheus.yml").read_text(encoding="utf-8")
    assert f'targets: ["galileo:{port}"]' in prometheus_yml
    assert "job_name: galileo\n" in prometheus_yml
    mounted = {target for _, target in mounts}
    assert {"/etc/prometheus/alerts.yml", "/etc/prometheus/limits.yml"} <= mounted
    # Grafana: the provisioned data source is the prometheus service, the dashboard provider
    # reads the directory the dashboard is mounted in, and the dashboard uses the data source.
    datasource = (DEPLOY / "grafana/provisioning/datasources/prometheus.yaml").read_text()
    assert "url: http://prometheus:9090" in datasource
    assert "type: prometheus" in datasource
    provider = (DEPLOY / "grafana/provisioning/dashboards/galileo.yaml").read_text()
    path = re.search(r"^\s+path: (\S+)\s*$", provider, re.M)
    assert path
    assert f"{path.group(1)}/galileo.json" in mounted
    assert "./grafana/provisioning" in {source for source, _ in mounts}
