"""How both relays (bare and durable) read a socket's path: ``/pair/<pair id>/<side>``."""

from __future__ import annotations


def pair_path(path: str) -> tuple[str, str, str] | None:
    """``/pair/<pair id>/<side>`` → (pair id, side, the other side); None for any other path."""
    parts = path.strip("/").split("/")
    if len(parts) != 3 or parts[0] != "pair" or parts[2] not in ("a", "b"):
        return None
    return parts[1], parts[2], "b" if parts[2] == "a" else "a"
