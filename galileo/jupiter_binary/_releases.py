"""Release discovery (GitHub-releases-compatible JSON API) and resumable asset download."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import attrs
import httpx
import trio

from galileo.jupiter_binary._errors import DownloadError, ReleaseError
from galileo.jupiter_binary._progress import NoProgress, Progress

_log = logging.getLogger("galileo.jupiter")

_API_HEADERS = {"Accept": "application/vnd.github+json", "User-Agent": "galileo"}
_MAX_ATTEMPTS = 5


@attrs.frozen
class ReleaseAsset:
    """One downloadable file of a release."""

    name: str
    url: str
    size: int | None


@attrs.frozen
class Release:
    """One release: its tag and assets (drafts are never listed)."""

    tag: str
    published_at: str
    prerelease: bool
    assets: tuple[ReleaseAsset, ...]

    def asset(self, name: str) -> ReleaseAsset:
        for asset in self.assets:
            if asset.name == name:
                return asset
        names = ", ".join(a.name for a in self.assets) or "none"
        raise ReleaseError(f"release {self.tag} has no asset {name!r} (assets: {names})")


def _parse_release(raw: Any) -> Release | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("tag_name"), str):
        return None
    if raw.get("draft"):
        return None
    assets = []
    for item in raw.get("assets") or []:
        if not isinstance(item, dict):
            continue
        name, url = item.get("name"), item.get("browser_download_url")
        if isinstance(name, str) and isinstance(url, str):
            size = item.get("size")
            assets.append(ReleaseAsset(name, url, size if isinstance(size, int) else None))
    return Release(
        tag=raw["tag_name"],
        published_at=str(raw.get("published_at") or ""),
        prerelease=bool(raw.get("prerelease")),
        assets=tuple(assets),
    )


async def list_releases(
    client: httpx.AsyncClient, api_url: str, *, timeout_s: float = 30.0
) -> list[Release]:
    """Releases newest first (the API's order), drafts excluded."""
    url = api_url.rstrip("/")
    payload = await _get_json(client, url, params={"per_page": "100"}, timeout_s=timeout_s)
    if not isinstance(payload, list):
        raise ReleaseError(f"{url}: expected a JSON array of releases")
    return [r for r in map(_parse_release, payload) if r is not None]


async def find_release(
    client: httpx.AsyncClient, api_url: str, tag: str | None, *, timeout_s: float = 30.0
) -> Release:
    """The release ``tag``, or the newest non-prerelease when ``tag`` is None/empty."""
    releases = await list_releases(client, api_url, timeout_s=timeout_s)
    if tag:
        for release in releases:
            if release.tag == tag:
                return release
        # Older tags fall off the first page: ask for the tag directly.
        payload = await _get_json(
            client,
            f"{api_url.rstrip('/')}/tags/{tag}",
            params=None,
            timeout_s=timeout_s,
            missing_ok=True,
        )
        tagged = _parse_release(payload) if payload is not None else None
        if tagged is None:
            raise ReleaseError(f"no release tagged {tag!r} at {api_url}")
        return tagged
    stable = [r for r in releases if not r.prerelease]
    if not stable:
        raise ReleaseError(f"no releases listed at {api_url}")
    return stable[0]


async def _get_json(
    client: httpx.AsyncClient,
    url: str,
    *,
    params: dict[str, str] | None,
    timeout_s: float,
    missing_ok: bool = False,
) -> Any:
    try:
        with trio.fail_after(timeout_s):
            response = await client.get(url, params=params, headers=_API_HEADERS)
    except trio.TooSlowError:
        raise ReleaseError(f"{url}: no answer within {timeout_s:g}s") from None
    except httpx.HTTPError as exc:
        raise ReleaseError(f"{url}: {type(exc).__name__}: {exc}") from exc
    if response.status_code == 404 and missing_ok:
        return None
    if response.status_code != 200:
        raise ReleaseError(f"{url}: HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise ReleaseError(f"{url}: body is not JSON") from None


async def download(
    client: httpx.AsyncClient,
    asset: ReleaseAsset,
    part_path: Path,
    *,
    deadline_s: float,
    progress: Progress | None = None,
) -> Path:
    """Download ``asset`` into ``part_path`` (resuming what is already there with a Range
    request), then rename it to ``part_path`` without its ``.part`` suffix and return that.

    Transport errors and short bodies are retried from the current offset within the
    deadline; a cancelled or failed download leaves the ``.part`` file for the next attempt.
    """
    progress = progress or NoProgress()
    final_path = part_path.with_suffix("")
    part_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with trio.fail_after(deadline_s):
            for attempt in range(1, _MAX_ATTEMPTS + 1):
                try:
                    complete = await _fetch_once(client, asset, part_path, progress)
                except (httpx.TransportError, _ShortBody) as exc:
                    _log.warning(
                        "download interrupted",
                        extra={
                            "fields": {
                                "asset": asset.name,
                                "attempt": attempt,
                                "error": f"{type(exc).__name__}: {exc}",
                            }
                        },
                    )
                    if attempt == _MAX_ATTEMPTS:
                        raise DownloadError(
                            f"{asset.name}: gave up after {attempt} attempts: {exc}"
                        ) from exc
                    await trio.sleep(min(0.2 * 2**attempt, 5.0))
                    continue
                if complete:
                    break
    except trio.TooSlowError:
        raise DownloadError(
            f"{asset.name}: not downloaded within {deadline_s:g}s "
            f"(jupiter.download_timeout_s); the partial file is kept and resumed next time"
        ) from None
    progress.finish()
    os.replace(part_path, final_path)
    return final_path


class _ShortBody(Exception):
    """The connection ended before Content-Length bytes arrived."""


async def _fetch_once(
    client: httpx.AsyncClient, asset: ReleaseAsset, part_path: Path, progress: Progress
) -> bool:
    have = _usable_part_size(part_path, asset)
    if asset.size is not None and have == asset.size and have > 0:
        progress.start(asset.name, have, asset.size)
        return True
    headers = {"User-Agent": "galileo", "Accept": "application/octet-stream"}
    if have:
        headers["Range"] = f"bytes={have}-"
    async with client.stream("GET", asset.url, headers=headers) as response:
        if response.status_code == 416 and have:
            _discard(part_path)  # our partial file does not fit the remote one: start over
            return False
        if response.status_code == 206:
            start = _content_range_start(response.headers.get("content-range", ""))
            if start != have:
                raise DownloadError(f"{asset.name}: server resumed at {start}, not {have}")
            mode = "ab"
        elif response.status_code == 200:
            have, mode = 0, "wb"  # the server ignored the range: start over
        else:
            raise DownloadError(f"{asset.name}: HTTP {response.status_code} from {asset.url}")
        length = response.headers.get("content-length")
        expected_end = have + int(length) if length and length.isdigit() else asset.size
        progress.start(asset.name, have, expected_end)
        done = have
        with part_path.open(mode) as out:
            try:
                async for chunk in response.aiter_raw():  # as received: a chunker would lose data
                    out.write(chunk)
                    done += len(chunk)
                    progress.update(done)
            except httpx.RemoteProtocolError as exc:
                out.flush()
                raise _ShortBody(str(exc)) from exc
    if expected_end is not None and done < expected_end:
        raise _ShortBody(f"got {done} of {expected_end} bytes")
    return True


def _usable_part_size(part_path: Path, asset: ReleaseAsset) -> int:
    have = part_path.stat().st_size if part_path.exists() else 0
    if asset.size is not None and have > asset.size:
        _discard(part_path)  # not the file we think it is
        return 0
    return have


def _discard(path: Path) -> None:
    path.unlink(missing_ok=True)


def _content_range_start(value: str) -> int:
    # "bytes 100-199/200"
    try:
        return int(value.split()[1].split("-", maxsplit=1)[0])
    except (IndexError, ValueError):
        return -1
