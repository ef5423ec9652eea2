"""httpx for everything off the quote path (RPC, landers, downloads): one ``AsyncClient``
per source IP, each on ``httpx.AsyncHTTPTransport(local_address=ip)``."""

from __future__ import annotations

from typing import Any

import httpx


class HttpxClients:
    """Lazily built ``httpx.AsyncClient`` per source IP (``""`` = unbound). Close with
    :meth:`aclose` (or use as an async context manager)."""

    def __init__(self, **client_kwargs: Any) -> None:
        self._kwargs = client_kwargs
        self._clients: dict[str, httpx.AsyncClient] = {}

    def get(self, ip: str) -> httpx.AsyncClient:
        client = self._clients.get(ip)
        if client is None:
            client = httpx.AsyncClient(
                transport=httpx.AsyncHTTPTransport(local_address=ip or None), **self._kwargs
            )
            self._clients[ip] = client
        return client

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    async def __aenter__(self) -> HttpxClients:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
