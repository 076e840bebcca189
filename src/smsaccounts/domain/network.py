"""IP ranges: comma-separated addresses and CIDRs; an empty list allows any address."""

from __future__ import annotations

import functools
import ipaddress

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
