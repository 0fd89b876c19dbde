"""Helpers shared by the server and playground tests."""

from __future__ import annotations

import http.client

# A small tool set the playground browser tests type into the page.
PLAYGROUND_TOOLS = [
    {"type": "function", "function": {
        "name": "set_thermostat", "description": "Set the thermostat to a temperature.",
        "parameters": {"type": "object", "properties": {
            "room": {"type": "string", "description": "Room name."},
            "celsius": {"type": "number", "description": "Target temperature."}},
            "required": ["room", "celsius"]}}},
    {"type": "function", "function": {
        "name": "lock_door", "description": "Lock a door.",
        "parameters": {"type": "object", "properties": {
            "door": {"type": "string", "enum": ["front", "back", "garage"]}}, "required": ["door"]}}},
]


def raw(server, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    """One request with the path sent byte for byte (no client-side normalisation of '..')."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=120)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        res = conn.getresponse()
        return res.status, res.read(), dict(res.getheaders())
    finally:
        conn.close()
