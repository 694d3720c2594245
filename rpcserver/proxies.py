"""The client's address behind reverse proxies: X-Forwarded-For, believed only from proxies named in
`--trusted-proxies` (any client can send the header; only a proxy we trust appends to it honestly)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """The addresses or networks (CIDR) of a comma-separated list.

    Raises:
        ValueError: an item is neither; the message names it.
    """
    networks = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or network (e.g. 127.0.0.1, 10.0.0.0/8, ::1)") from None
    return tuple(networks)


def client_address(remote: str, forwarded_for: Sequence[str], trusted: tuple[Network, ...]) -> str:
    """The address of the client: the connection's (`remote`), unless that is a trusted proxy; then the
    last address of X-Forwarded-For (`forwarded_for`: the header's values) that is not a trusted proxy
    itself, each proxy having appended the address it received the request from."""
    if not trusted or not forwarded_for or not _trusted(remote, trusted):
        return remote
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
    address = remote
    for hop in reversed(hops):
        try:
            parsed = ipaddress.ip_address(hop)
        except ValueError:
            return address  # not an address (garbage, "unknown"): stop at the last one that was
        address = str(parsed)
        if not any(parsed in network for network in trusted):
            break
    return address


def _trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in trusted)
