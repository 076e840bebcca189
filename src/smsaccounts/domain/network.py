"""IP ranges: comma-separated addresses and CIDRs; an empty list allows any address."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_ranges(text: str) -> tuple[Network, ...]:
    """Parse `'10.0.0.1, 192.168.0.0/24'`; raise ValueError naming the bad entry."""
    networks = []
    for part in text.split(","):
        entry = part.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or CIDR range: {entry!r}") from None
    return tuple(networks)


def normalize_ranges(text: str) -> str:
    """The canonical stored form: entries as given, trimmed, comma-separated."""
    parse_ranges(text)
    return ",".join(p.strip() for p in text.split(",") if p.strip())


@functools.lru_cache(maxsize=4096)
def _cached(text: str) -> tuple[Network, ...]:
    return parse_ranges(text)


def ip_allowed(ranges: str, client_ip: str | None) -> bool:
    """True when `ranges` is empty or holds `client_ip`; an unknown client IP never matches."""
    if not ranges.strip():
        return True
    if not client_ip:
        return False
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    return any(address in net for net in _cached(ranges))


def client_address(
    peer: str | None, forwarded_for: Sequence[str], trusted: tuple[Network, ...]
) -> str | None:
    """The address a request comes from: the peer's, unless the peer is a trusted proxy.

    Behind trusted proxies, `X-Forwarded-For` is read from the right (each proxy appends the
    address it was reached from) and the first hop that is no trusted proxy is the client:
    whatever a client writes into the header itself stays to the left of it and is never
    believed. A hop that is not an address ends the walk at the proxy that reported it.
    """
    address = peer
    if not trusted or not _inside(address, trusted):
        return address
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",")]
    for hop in reversed([hop for hop in hops if hop]):
        if not _is_address(hop):
            return address
        address = hop
        if not _inside(hop, trusted):
            return hop
    return address


def _inside(address: str | None, networks: tuple[Network, ...]) -> bool:
    if not address:
        return False
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in net for net in networks)


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
