"""The managed install cache: versioned directories, a ``current`` pointer, a digest manifest.

Layout under ``jupiter.install_dir`` (default ``$XDG_CACHE_HOME/galileo/jupiter``)::

    manifest.json              install order + first-seen digests (trust on first use)
    versions/<tag>/<binary>    one unpacked release per tag, executable
    current -> versions/<tag>  symlink, switched atomically (rename over the old link)
    downloads/<tag>/<asset>.part   partial downloads, resumed by the next install
    .lock                      flock: one installer at a time

Every step before the final ``current`` switch works on side paths, so an install that is
interrupted, fails verification or unpacks a bad archive leaves the active version as it was.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import shutil
import stat
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import httpx
import trio
from prometheus_client import CollectorRegistry

from galileo._config import JupiterConfig
from galileo.jupiter_binary._errors import InstallError, VerificationError
from galileo.jupiter_binary._metrics import JupiterMetrics
from galileo.jupiter_binary._progress import NoProgress, Progress
from galileo.jupiter_binary._releases import (
    Release,
    ReleaseAsset,
    download,
    find_release,
    list_releases,
)

_log = logging.getLogger("galileo.jupiter")

ClientFactory = Callable[[], httpx.AsyncClient]


def default_install_dir() -> Path:
    """``$XDG_CACHE_HOME/galileo/jupiter``, else ``~/.cache/galileo/jupiter``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "galileo" / "jupiter"


@attrs.frozen
class InstalledVersion:
    """One unpacked release in the cache."""

    tag: str
    directory: Path
    executable: Path
    asset: str
    sha256: str  # of the downloaded asset
    binary_sha256: str  # of the unpacked executable, re-checked before launch
    installed_at: str  # ISO-8601 UTC
    current: bool


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class JupiterInstaller:
    """Install, verify, pin, list, prune and roll back jupiter-swap-api releases.

    ``client_factory`` builds the httpx client for the releases API and downloads (tests
    point it at a local fake); ``progress`` receives download progress.
    """

    def __init__(
        self,
        config: JupiterConfig,
        *,
        metrics: JupiterMetrics | None = None,
        progress: Progress | None = None,
        client_factory: ClientFactory | None = None,
    ) -> None:
        self._config = config
        self._metrics = metrics if metrics is not None else JupiterMetrics(CollectorRegistry())
        self._progress = progress or NoProgress()
        self._client_factory = client_factory or _default_client
        self.install_dir = (
            Path(config.install_dir).expanduser() if config.install_dir else default_install_dir()
        )

    # --- paths -----------------------------------------------------------------------------

    @property
    def _versions_dir(self) -> Path:
        return self.install_dir / "versions"

    @property
    def _current_link(self) -> Path:
        return self.install_dir / "current"

    @property
    def _manifest_path(self) -> Path:
        return self.install_dir / "manifest.json"

    # --- queries ---------------------------------------------------------------------------

    async def releases(self) -> list[Release]:
        """Releases the API lists, newest first."""
        async with self._client_factory() as client:
            return await list_releases(client, self._config.releases_api_url)

    def current_tag(self) -> str | None:
        try:
            target = os.readlink(self._current_link)
        except OSError:
            return None
        return Path(target).name

    def installed(self) -> list[InstalledVersion]:
        """Installed versions in install order (oldest first)."""
        manifest = self._read_manifest()
        current = self.current_tag()
        found = []
        for entry in manifest["installed"]:
            directory = self._versions_dir / entry["tag"]
            executable = directory / entry["binary"]
            if not executable.is_file():
                continue  # removed behind our back
            found.append(
                InstalledVersion(
                    tag=entry["tag"],
                    directory=directory,
                    executable=executable,
                    asset=entry["asset"],
                    sha256=entry["sha256"],
                    binary_sha256=entry["binary_sha256"],
                    installed_at=entry["installed_at"],
                    current=entry["tag"] == current,
                )
            )
        return found

    def current(self) -> InstalledVersion | None:
        for version in self.installed():
            if version.current:
                return version
        return None

    def launch_executable(self) -> tuple[Path, str]:
        """The executable to launch and its tag: the pinned ``jupiter.version`` when set, else
        ``current``. Its path is resolved (a later switch does not affect a running child)
        and its digest re-checked against the manifest (and ``jupiter.sha256`` when pinned).
        """
        pinned_tag = self._config.version
        if pinned_tag:
            version = next((v for v in self.installed() if v.tag == pinned_tag), None)
            if version is None:
                raise InstallError(
                    f"jupiter.version pins {pinned_tag}, which is not installed in "
                    f"{self.install_dir}; run `galileo jupiter install`"
                )
        else:
            version = self.current()
        if version is None:
            raise InstallError(
                f"no jupiter-swap-api installed in {self.install_dir}; "
                "run `galileo jupiter install` (or set jupiter.source = 'sim' / 'path')"
            )
        self._check_pin(version)
        actual = sha256_file(version.executable)
        if actual != version.binary_sha256:
            raise VerificationError(
                tag=version.tag,
                asset=str(version.executable),
                expected=version.binary_sha256,
                actual=actual,
                source="digest recorded at install",
            )
        return version.executable.resolve(), version.tag

    # --- install ---------------------------------------------------------------------------

    async def install(self, version: str | None = None) -> InstalledVersion:
        """Install ``version`` (else ``jupiter.version``, else the newest release), verify it,
        make it current and prune old versions. An already installed tag is just activated.
        """
        tag = version or self._config.version or None
        self.install_dir.mkdir(parents=True, exist_ok=True)
        with self._lock():
            if tag and self._is_installed(tag):
                _log.info("already installed", extra={"fields": {"tag": tag}})
                return self._activate_checked(tag)
            async with self._client_factory() as client:
                release = await find_release(client, self._config.releases_api_url, tag)
                if self._is_installed(release.tag):
                    return self._activate_checked(release.tag)
                asset = release.asset(self._config.asset_name)
                archive = await self._download(client, release, asset)
            digest = sha256_file(archive)
            try:
                self._verify(release.tag, asset.name, digest)
            except VerificationError:
                archive.unlink(missing_ok=True)  # never resume from a bad file
                raise
            binary_name, binary_digest = self._unpack(release.tag, asset.name, archive)
            self._record(release.tag, asset.name, digest, binary_name, binary_digest)
            archive.unlink(missing_ok=True)
            installed = self._activate(release.tag)
            self._prune()
            return installed

    async def _download(
        self, client: httpx.AsyncClient, release: Release, asset: ReleaseAsset
    ) -> Path:
        size = asset.size if asset.size is not None else "unknown"
        part = self.install_dir / "downloads" / release.tag / f"{size}-{asset.name}.part"
        started = trio.current_time()
        path = await download(
            client,
            asset,
            part,
            deadline_s=self._config.download_timeout_s,
            progress=self._progress,
        )
        self._metrics.download_seconds.observe(trio.current_time() - started)
        return path

    def _verify(self, tag: str, asset: str, digest: str) -> None:
        pinned = self._config.sha256.lower()
        if pinned:
            if digest != pinned:
                raise VerificationError(
                    tag=tag, asset=asset, expected=pinned, actual=digest, source="jupiter.sha256"
                )
            return
        seen = self._read_manifest()["digests"].get(tag, {}).get(asset)
        if seen is None:
            _log.warning(
                "trusting on first use",
                extra={
                    "fields": {
                        "tag": tag,
                        "asset": asset,
                        "sha256": digest,
                        "hint": "pin it with jupiter.sha256",
                    }
                },
            )
        elif digest != seen:
            raise VerificationError(
                tag=tag,
                asset=asset,
                expected=seen,
                actual=digest,
                source=f"first seen, recorded in {self._manifest_path}",
            )

    def _unpack(self, tag: str, asset: str, archive: Path) -> tuple[str, str]:
        self._versions_dir.mkdir(parents=True, exist_ok=True)
        for stale in self._versions_dir.glob(".tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)  # left by an interrupted install
        staging = Path(tempfile.mkdtemp(prefix=f".tmp-{tag}-", dir=self._versions_dir))
        try:
            _extract(archive, staging)
            binary = _find_executable(staging, asset)
            mode = binary.stat().st_mode
            binary.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
            binary_digest = sha256_file(binary)
            name = str(binary.relative_to(staging))
            target = self._versions_dir / tag
            if target.exists():
                shutil.rmtree(target)
            os.replace(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return name, binary_digest

    # --- switching -------------------------------------------------------------------------

    def activate(self, tag: str) -> InstalledVersion:
        """Make the installed ``tag`` current."""
        with self._lock():
            return self._activate(tag)

    def rollback(self, to: str | None = None) -> InstalledVersion:
        """Switch to ``to``, or to the version installed just before the current one."""
        with self._lock():
            versions = self.installed()
            if to is None:
                tags = [v.tag for v in versions]
                current = self.current_tag()
                if current not in tags:
                    raise InstallError("nothing is active, so there is nothing to roll back from")
                index = tags.index(current)
                if index == 0:
                    raise InstallError(
                        f"{current} is the oldest installed version; nothing to roll back to "
                        f"(installed: {', '.join(tags)})"
                    )
                to = tags[index - 1]
            return self._activate(to)

    def _check_pin(self, version: InstalledVersion) -> None:
        pinned = self._config.sha256.lower()
        if pinned and version.sha256 != pinned:
            raise VerificationError(
                tag=version.tag,
                asset=version.asset,
                expected=pinned,
                actual=version.sha256,
                source="jupiter.sha256 (the installed copy was verified against another digest)",
            )

    def _activate_checked(self, tag: str) -> InstalledVersion:
        version = next(v for v in self.installed() if v.tag == tag)
        self._check_pin(version)
        return self._activate(tag)

    def _is_installed(self, tag: str) -> bool:
        return any(v.tag == tag for v in self.installed())

    def _activate(self, tag: str) -> InstalledVersion:
        if not self._is_installed(tag):
            raise InstallError(f"{tag} is not installed in {self.install_dir}")
        link_tmp = self.install_dir / f".current-{os.getpid()}"
        link_tmp.unlink(missing_ok=True)
        os.symlink(Path("versions") / tag, link_tmp)
        os.replace(link_tmp, self._current_link)  # atomic: readers see old or new, never none
        _log.info("activated", extra={"fields": {"tag": tag}})
        found = self.current()
        assert found is not None
        return found

    def _prune(self) -> None:
        keep = self._config.keep_versions
        versions = self.installed()
        current = self.current_tag()
        removable = [v for v in versions if v.tag != current]
        excess = len(versions) - keep
        manifest = self._read_manifest()
        for version in removable[: max(0, excess)]:
            shutil.rmtree(version.directory, ignore_errors=True)
            manifest["installed"] = [e for e in manifest["installed"] if e["tag"] != version.tag]
            _log.info("pruned", extra={"fields": {"tag": version.tag}})
        self._write_manifest(manifest)

    # --- manifest --------------------------------------------------------------------------

    def _read_manifest(self) -> dict[str, Any]:
        data: Any
        try:
            data = json.loads(self._manifest_path.read_text())
        except FileNotFoundError:
            data = {}
        except ValueError as exc:
            raise InstallError(f"{self._manifest_path} is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise InstallError(f"{self._manifest_path} is not a JSON object")
        data.setdefault("format", 1)
        data.setdefault("digests", {})
        data.setdefault("installed", [])
        return data

    def _write_manifest(self, data: dict[str, Any]) -> None:
        tmp = self._manifest_path.with_name(f".manifest-{os.getpid()}.json")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, self._manifest_path)

    def _record(self, tag: str, asset: str, digest: str, binary: str, binary_digest: str) -> None:
        manifest = self._read_manifest()
        manifest["digests"].setdefault(tag, {})[asset] = digest
        manifest["installed"] = [e for e in manifest["installed"] if e["tag"] != tag]
        manifest["installed"].append(
            {
                "tag": tag,
                "asset": asset,
                "sha256": digest,
                "binary": binary,
                "binary_sha256": binary_digest,
                "installed_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            }
        )
        self._write_manifest(manifest)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.install_dir.mkdir(parents=True, exist_ok=True)
        with (self.install_dir / ".lock").open("w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise InstallError(
                    f"another galileo is installing into {self.install_dir}; try again later"
                ) from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _default_client() -> httpx.AsyncClient:
    # Per-request deadlines come from trio.fail_after; httpx's own timeouts are a backstop.
    return httpx.AsyncClient(follow_redirects=True, timeout=httpx.Timeout(60.0, connect=10.0))


def _extract(archive: Path, dest: Path) -> None:
    root = dest.resolve()
    name = archive.name
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for member in zf.infolist():
                target = (dest / member.filename).resolve()
                if not target.is_relative_to(root):
                    raise InstallError(f"{name}: member {member.filename!r} escapes the archive")
            zf.extractall(dest)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            tf.extractall(dest, filter="data")  # refuses absolute paths, links out, devices
    else:
        raise InstallError(f"{name}: not a zip or tar archive")


def _find_executable(root: Path, asset: str) -> Path:
    files = [p for p in root.rglob("*") if p.is_file()]
    if not files:
        raise InstallError(f"{asset}: the archive is empty")
    # jupiter-swap-api-x86_64-unknown-linux-gnu.zip holds jupiter-swap-api: prefer the file
    # whose name is the longest prefix of the asset name.
    named = [p for p in files if asset.startswith(p.name)]
    if named:
        return max(named, key=lambda p: len(p.name))
    if len(files) == 1:
        return files[0]
    raise InstallError(
        f"{asset}: cannot tell which of {len(files)} files is the executable "
        f"({', '.join(sorted(p.name for p in files)[:5])})"
    )
