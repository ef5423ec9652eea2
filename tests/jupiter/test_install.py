"""Install cache: releases, download, verification, pinning, pruning, rollback."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
from prometheus_client import CollectorRegistry

from galileo._config import JupiterConfig
from galileo.jupiter_binary import (
    DownloadError,
    InstallError,
    JupiterInstaller,
    JupiterMetrics,
    ReleaseError,
    TextProgress,
    VerificationError,
)
from tests.jupiter.jupiter_support import ASSET, FakeGitHub, make_zip, release_zip, sha256


def installer_for(github: FakeGitHub, tmp_path: Path, **overrides: Any) -> JupiterInstaller:
    values: dict[str, Any] = {
        "source": "release",
        "releases_api_url": f"{github.url}/releases",
        "install_dir": str(tmp_path / "install"),
        "download_timeout_s": 20.0,
        **overrides,
    }
    config = JupiterConfig(**values)
    return JupiterInstaller(config)


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every file (content) and symlink (target) under root, except the lock file."""
    found: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            found[rel] = os.readlink(path)
        elif path.is_file() and path.name != ".lock" and "downloads" not in path.parts:
            found[rel] = path.read_bytes()
    return found


async def test_install_picks_the_newest_release_and_makes_it_current(
    github: FakeGitHub, tmp_path: Path
) -> None:
    github.add("v1.0.0")
    data = github.add("v1.1.0")
    installer = installer_for(github, tmp_path)

    installed = await installer.install()

    assert installed.tag == "v1.1.0"
    assert installed.current
    assert installed.sha256 == sha256(data)
    assert os.access(installed.executable, os.X_OK)
    assert installer.current_tag() == "v1.1.0"
    assert os.readlink(installer.install_dir / "current") == "versions/v1.1.0"
    path, tag = installer.launch_executable()
    assert tag == "v1.1.0"
    assert path == installed.executable.resolve()
    # The unpacked stand-in really runs.
    env = {"FAKE_JUPITER_CRASHES": "1", "FAKE_JUPITER_DIR": str(tmp_path)}
    with trio.fail_after(30):
        done = await trio.run_process([str(path)], env=env, capture_stdout=True, check=False)
    assert done.returncode == 3
    assert b"fake jupiter launch 1" in done.stdout


async def test_install_of_a_pinned_version_uses_that_tag(
    github: FakeGitHub, tmp_path: Path
) -> None:
    github.add("v1.0.0")
    github.add("v1.1.0")
    installer = installer_for(github, tmp_path, version="v1.0.0")

    installed = await installer.install()

    assert installed.tag == "v1.0.0"
    assert installer.launch_executable()[1] == "v1.0.0"


async def test_unknown_tag_is_a_release_error(github: FakeGitHub, tmp_path: Path) -> None:
    github.add("v1.0.0")
    with pytest.raises(ReleaseError, match="no release tagged 'v9'"):
        await installer_for(github, tmp_path).install("v9")


async def test_pinned_sha256_that_matches_is_accepted(github: FakeGitHub, tmp_path: Path) -> None:
    data = github.add("v1.0.0")
    installer = installer_for(github, tmp_path, sha256=sha256(data))

    installed = await installer.install()

    assert installed.sha256 == sha256(data)


async def test_pinned_sha256_mismatch_is_refused_and_nothing_changes(
    github: FakeGitHub, tmp_path: Path
) -> None:
    github.add("v1.0.0")
    github.add("v1.1.0")
    await installer_for(github, tmp_path).install("v1.0.0")
    before = snapshot(tmp_path / "install")

    pinned = installer_for(github, tmp_path, sha256="ab" * 32)
    with pytest.raises(VerificationError, match="sha256 mismatch") as caught:
        await pinned.install("v1.1.0")

    assert caught.value.expected == "ab" * 32
    assert caught.value.source == "jupiter.sha256"
    assert snapshot(tmp_path / "install") == before
    assert not (tmp_path / "install" / "versions" / "v1.1.0").exists()
    assert pinned.current_tag() == "v1.0.0"


async def test_first_install_records_the_digest_and_a_changed_asset_is_refused_later(
    github: FakeGitHub, tmp_path: Path
) -> None:
    original = github.add("v1.0.0")
    github.add("v1.1.0")
    installer = installer_for(github, tmp_path, keep_versions=1)
    await installer.install("v1.0.0")
    await installer.install("v1.1.0")  # prunes v1.0.0, its digest stays in the manifest
    assert [v.tag for v in installer.installed()] == ["v1.1.0"]

    github.add("v1.0.0", make_zip({"jupiter-swap-api": b"#!/bin/sh\necho tampered\n"}))
    before = snapshot(tmp_path / "install")
    with pytest.raises(VerificationError) as caught:
        await installer.install("v1.0.0")

    assert caught.value.expected == sha256(original)
    assert "first seen" in caught.value.source
    assert snapshot(tmp_path / "install") == before
    assert installer.current_tag() == "v1.1.0"


async def test_keep_versions_prunes_the_oldest_but_never_the_current(
    github: FakeGitHub, tmp_path: Path
) -> None:
    for tag in ("v1", "v2", "v3"):
        github.add(tag)
    installer = installer_for(github, tmp_path, keep_versions=2)

    for tag in ("v1", "v2", "v3"):
        await installer.install(tag)

    assert [v.tag for v in installer.installed()] == ["v2", "v3"]
    assert not (installer.install_dir / "versions" / "v1").exists()
    assert installer.current_tag() == "v3"


async def test_rollback_steps_back_through_install_order(
    github: FakeGitHub, tmp_path: Path
) -> None:
    for tag in ("v1", "v2", "v3"):
        github.add(tag)
    installer = installer_for(github, tmp_path)
    for tag in ("v1", "v2", "v3"):
        await installer.install(tag)

    assert installer.rollback().tag == "v2"
    assert installer.current_tag() == "v2"
    assert installer.rollback().tag == "v1"
    with pytest.raises(InstallError, match="oldest installed"):
        installer.rollback()
    assert installer.rollback(to="v3").tag == "v3"
    with pytest.raises(InstallError, match="not installed"):
        installer.rollback(to="v9")


async def test_reinstalling_an_installed_tag_only_switches_to_it(
    github: FakeGitHub, tmp_path: Path
) -> None:
    github.add("v1")
    github.add("v2")
    installer = installer_for(github, tmp_path)
    await installer.install("v1")
    await installer.install("v2")
    downloads = len(github.requests)

    assert (await installer.install("v1")).tag == "v1"
    assert len(github.requests) == downloads  # no API call, no download


async def test_a_short_body_is_resumed_with_a_range_request(
    github: FakeGitHub, tmp_path: Path
) -> None:
    data = github.add("v1", release_zip("v1", padding=400_000))
    github.truncate_once.add("v1")

    installed = await installer_for(github, tmp_path).install()

    assert installed.sha256 == sha256(data)
    [resumed] = github.ranges_for("v1")
    assert 0 < int(resumed.removeprefix("bytes=").rstrip("-")) <= len(data) // 2


async def test_interrupted_install_keeps_the_previous_version_and_resumes_later(
    github: FakeGitHub, tmp_path: Path
) -> None:
    github.add("v1")
    data = github.add("v2", release_zip("v2", padding=400_000))
    installer = installer_for(github, tmp_path, download_timeout_s=2.0)
    await installer.install("v1")

    # Half the body arrives, then the resumed request hangs past the deadline.
    github.truncate_once.add("v2")
    github.stall_ranges = True
    with pytest.raises(DownloadError, match="not downloaded within"):
        await installer.install("v2")

    assert installer.current_tag() == "v1"
    path, tag = installer.launch_executable()
    assert tag == "v1" and path.is_file()
    assert [v.tag for v in installer.installed()] == ["v1"]

    part = next((installer.install_dir / "downloads" / "v2").glob("*.part"))
    kept = part.stat().st_size
    assert 0 < kept <= len(data) // 2

    github.stall_ranges = False
    installed = await installer.install("v2")
    assert installed.sha256 == sha256(data)
    assert github.ranges_for("v2")[-1] == f"bytes={kept}-"


async def test_cancelled_install_keeps_the_previous_version(
    github: FakeGitHub, tmp_path: Path
) -> None:
    github.add("v1")
    github.add("v2")
    installer = installer_for(github, tmp_path)
    await installer.install("v1")
    github.stall_all = True

    with trio.move_on_after(0.5):
        await installer.install("v2")

    assert installer.current_tag() == "v1"
    assert [v.tag for v in installer.installed()] == ["v1"]


async def test_a_bad_archive_is_refused_and_leaves_no_trace(
    github: FakeGitHub, tmp_path: Path
) -> None:
    github.add("v1")
    github.add("v2", b"this is not an archive")
    installer = installer_for(github, tmp_path)
    await installer.install("v1")

    with pytest.raises(InstallError, match="not a zip or tar archive"):
        await installer.install("v2")

    assert installer.current_tag() == "v1"
    assert sorted(p.name for p in (installer.install_dir / "versions").iterdir()) == ["v1"]


async def test_an_archive_escaping_its_directory_is_refused(
    github: FakeGitHub, tmp_path: Path
) -> None:
    github.add("v1", make_zip({"../../evil": b"x", "jupiter-swap-api": b"#!/bin/sh\n"}))
    installer = installer_for(github, tmp_path)

    with pytest.raises(InstallError, match="escapes the archive"):
        await installer.install("v1")

    assert not (tmp_path / "evil").exists()
    assert installer.current_tag() is None


async def test_the_platform_asset_is_required(github: FakeGitHub, tmp_path: Path) -> None:
    github.add("v1")
    installer = installer_for(github, tmp_path, asset_name="jupiter-swap-api-aarch64.zip")
    with pytest.raises(ReleaseError, match=f"no asset .*assets: {ASSET}"):
        await installer.install()


async def test_a_modified_binary_is_refused_at_launch(github: FakeGitHub, tmp_path: Path) -> None:
    github.add("v1")
    installer = installer_for(github, tmp_path)
    installed = await installer.install()
    installed.executable.write_bytes(b"#!/bin/sh\necho swapped\n")

    with pytest.raises(VerificationError, match="recorded at install"):
        installer.launch_executable()


def test_nothing_installed_says_how_to_install(tmp_path: Path) -> None:
    installer = JupiterInstaller(JupiterConfig(install_dir=str(tmp_path / "none")))
    with pytest.raises(InstallError, match="galileo jupiter install"):
        installer.launch_executable()


def test_default_install_dir_is_in_the_user_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "/tmp/xdg-cache")
    installer = JupiterInstaller(JupiterConfig())
    assert installer.install_dir == Path("/tmp/xdg-cache/galileo/jupiter")
    assert attrs.fields(JupiterConfig).install_dir.default == ""


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_download_shows_a_bar_on_a_tty_and_is_timed(
    github: FakeGitHub, tmp_path: Path
) -> None:
    github.add("v1")
    registry = CollectorRegistry()
    stream = _Tty()
    config = JupiterConfig(
        releases_api_url=f"{github.url}/releases", install_dir=str(tmp_path / "install")
    )
    installer = JupiterInstaller(
        config, metrics=JupiterMetrics(registry), progress=TextProgress(stream)
    )

    await installer.install()

    text = stream.getvalue()
    assert text.startswith(f"\r{ASSET}  [")
    assert "100%" in text and text.endswith("\n")
    assert registry.get_sample_value("galileo_jupiter_download_seconds_count") == 1


async def test_download_logs_progress_when_not_a_tty(
    github: FakeGitHub, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    github.add("v1")
    config = JupiterConfig(
        releases_api_url=f"{github.url}/releases", install_dir=str(tmp_path / "install")
    )
    installer = JupiterInstaller(config, progress=TextProgress(io.StringIO()))

    with caplog.at_level("INFO", logger="galileo.jupiter"):
        await installer.install()

    messages = [r.getMessage() for r in caplog.records]
    assert "download started" in messages and "download finished" in messages
