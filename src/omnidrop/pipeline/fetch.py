"""Fetching a project's `download_link`: streamed, size-capped, time-limited, and never towards
loopback, private, link-local or cloud-metadata addresses unless the configuration allows them.

Every hop of a redirect chain is checked, and the connection goes to the very address that was
checked (the request carries the name in Host and TLS SNI), so a DNS answer that changes between
the check and the connect cannot steer it elsewhere.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import httpx

from omnidrop.uploads.names import safe_filename

MAX_REDIRECTS = 5
_REDIRECTS = {301, 302, 303, 307, 308}
_FILENAME = re.compile(r"""filename\*?=(?:UTF-8'')?["']?([^"';]+)""", re.IGNORECASE)


class LinkRefused(Exception):
    """The link cannot or may not be fetched; `reason` says why, for the project's error."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class FetchPolicy:
    max_bytes: int
    timeout: float
    connect_timeout: float
    allow: tuple[str, ...] = ()  # CIDRs or host names reachable despite being private

    def allows(self, host: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        """Public, or listed in `allow`. An IPv6 form of an IPv4 address (mapped, compatible, NAT64,
        6to4) is judged by the IPv4 address inside it: that is where the packets end up."""
        inner = embedded_ipv4(ip)
        candidates = (ip,) if inner is None else (ip, inner)
        for entry in self.allow:
            if entry.lower() == host.lower():
                return True
            try:
                network = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                continue
            if any(c.version == network.version and c in network for c in candidates):
                return True
        if isinstance(ip, ipaddress.IPv6Address) and ip in _NAT64_LOCAL:
            return False
        return all(c.is_global and not c.is_multicast for c in candidates)


# IPv6 prefixes that carry an IPv4 address in their low or high bits.
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated by RFC 4291, still routed by some stacks
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix: the last 32 bits
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215 local-use: never public
_6TO4 = ipaddress.ip_network("2002::/16")  # RFC 3056: bits 16..47


def embedded_ipv4(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, compatible, NAT64 or 6to4), else None."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or ip in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


async def resolve(host: str, port: int, policy: FetchPolicy) -> str:
    """One address of `host` that the policy allows; every address must be allowed."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise LinkRefused(f"cannot resolve {host}: {exc.strerror}") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
    if not addresses:
        raise LinkRefused(f"{host} has no address")
    for ip in addresses:
        if not policy.allows(host, ip):
            raise LinkRefused(f"{host} resolves to {ip}, a non-public address")
    return str(addresses[0])


def _pinned(url: str, ip: str) -> tuple[str, str, str]:
    """(URL aimed at the checked IP, Host header, TLS server name)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc_ip = f"[{ip}]" if ":" in ip else ip
    if parts.port:
        netloc_ip += f":{parts.port}"
    host_header = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc_ip, parts.path or "/", parts.query, "")), host_header, host


def filename_of(url: str, disposition: str | None) -> str:
    """The download's file name (Content-Disposition, else the URL's last path segment), by the
    naming rule every stored name follows (uploads/names.py); `download` when nothing usable is left."""
    if disposition and (m := _FILENAME.search(disposition)):
        if name := _last_segment(m.group(1), fallback=""):
            return name
    return _last_segment(urlsplit(url).path, fallback="download")


def _last_segment(quoted: str, fallback: str) -> str:
    return safe_filename(PurePosixPath(unquote(quoted).replace("\\", "/")).name, fallback=fallback)


@dataclass(frozen=True)
class Fetched:
    filename: str
    size: int
    final_url: str


async def fetch(url: str, policy: FetchPolicy,
                sink: Callable[[AsyncIterator[bytes]], Awaitable[int]],
                progress: Callable[[int, int | None], Awaitable[None]] | None = None) -> Fetched:
    """Stream the body at `url` into `sink` (which returns the bytes it stored)."""
    try:
        async with asyncio.timeout(policy.timeout):
            return await _fetch(url, policy, sink, progress)
    except TimeoutError:
        raise LinkRefused(f"download did not finish within {policy.timeout:.0f} s") from None
    except httpx.HTTPError as exc:
        raise LinkRefused(f"download failed: {type(exc).__name__}: {exc}") from None


async def _fetch(url, policy, sink, progress) -> Fetched:
    timeout = httpx.Timeout(policy.connect_timeout, read=max(policy.connect_timeout, 60.0))
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise LinkRefused(f"not an http(s) URL: {url}")
            ip = await resolve(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), policy)
            target, host_header, server_name = _pinned(url, ip)
            request = client.build_request("GET", target, headers={"Host": host_header, "Accept-Encoding": "identity"},
                                           extensions={"sni_hostname": server_name})
            response = await client.send(request, stream=True)
            try:
                if response.status_code in _REDIRECTS and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                if response.status_code != 200:
                    raise LinkRefused(f"the server answered HTTP {response.status_code}")
                declared = response.headers.get("content-length")
                expected = int(declared) if declared and declared.isdigit() else None
                if expected is not None and expected > policy.max_bytes:
                    raise LinkRefused(f"the file is {expected} bytes, over the {policy.max_bytes} byte limit")
                size = await sink(_capped(response, policy.max_bytes, expected, progress))
                if expected is not None and size != expected:
                    raise LinkRefused(f"the download ended after {size} of {expected} bytes")
                return Fetched(filename_of(url, response.headers.get("content-disposition")), size, url)
            finally:
                await response.aclose()
        raise LinkRefused(f"more than {MAX_REDIRECTS} redirects")


async def _capped(response: httpx.Response, limit: int, expected: int | None, progress) -> AsyncIterator[bytes]:
    count = 0
    async for chunk in response.aiter_raw():
        count += len(chunk)
        if count > limit:
            raise LinkRefused(f"the download passed the {limit} byte limit")
        if progress:
            await progress(count, expected)
        yield chunk
