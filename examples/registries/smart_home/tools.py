"""Smart-home tool registry: lights, thermostat, door locks, blinds, scenes, timers and speakers.

An evaluation registry for ``needle-router finetune``: a home-automation app exposes these twelve
tools and the router must pick the right one(s) for what the user says. Several tools are
deliberate near-twins (``turn_on_lights`` / ``set_light_brightness`` / ``set_light_color``,
``lock_door`` / ``unlock_door``, ``set_thermostat`` / ``get_indoor_temperature``) so the router has
to tell them apart. The bodies are stubs: routing only needs the signatures and docstrings.

The hand-written held-out queries for this registry are in ``queries.jsonl`` next to this file.
"""

from typing import Literal

DoorName = Literal["front", "back", "garage", "patio"]


def turn_on_lights(room: str) -> dict:
    """Switch the lights on in a room, at their last brightness and color.

    Args:
        room: Room name, e.g. "kitchen" or "living room"; "all" for the whole house.
    """
    return {"room": room, "on": True}


def turn_off_lights(room: str) -> dict:
    """Switch the lights off in a room.

    Args:
        room: Room name, e.g. "bedroom"; "all" for the whole house.
    """
    return {"room": room, "on": False}


def set_light_brightness(room: str, brightness: int, transition_seconds: int = 0) -> dict:
    """Dim or brighten the lights in a room to a given level (switching them on if needed).

    Args:
        room: Room name, e.g. "office"; "all" for the whole house.
        brightness: Brightness in percent, 1-100.
        transition_seconds: How many seconds the fade to the new level takes; 0 is instant.
    """
    return {"room": room, "brightness": brightness, "transition_seconds": transition_seconds}


def set_light_color(room: str, color: str) -> dict:
    """Change the color of the (color-capable) lights in a room.

    Args:
        room: Room name, e.g. "kids room".
        color: A color name ("warm white", "blue", "purple") or a hex code such as "#ff8800".
    """
    return {"room": room, "color": color}


def set_thermostat(
    temperature: float,
    unit: Literal["celsius", "fahrenheit"] | None = None,
    mode: Literal["heat", "cool", "auto", "off"] | None = None,
    zone: str | None = None,
) -> dict:
    """Set the thermostat's target temperature, and optionally its mode.

    Args:
        temperature: Target temperature.
        unit: Unit of the temperature; the home's configured unit when left out.
        mode: HVAC mode to switch to; unchanged when left out.
        zone: Heating zone, e.g. "upstairs" or "downstairs"; the main zone when left out.
    """
    return {"temperature": temperature, "unit": unit, "mode": mode, "zone": zone}


def get_indoor_temperature(room: str | None = None) -> dict:
    """Read the current temperature measured inside the house (does not change anything).

    Args:
        room: Room whose sensor to read, e.g. "nursery"; the thermostat's own reading when left out.
    """
    return {"room": room, "temperature": 21.5, "unit": "celsius"}


def lock_door(door: DoorName) -> dict:
    """Lock one of the smart door locks.

    Args:
        door: Which door to lock.
    """
    return {"door": door, "locked": True}


def unlock_door(door: DoorName, relock_after_minutes: int | None = None) -> dict:
    """Unlock one of the smart door locks, optionally relocking it automatically later.

    Args:
        door: Which door to unlock.
        relock_after_minutes: Lock the door again after this many minutes; stays unlocked when left out.
    """
    return {"door": door, "locked": False, "relock_after_minutes": relock_after_minutes}


def set_blinds(room: str, open_percent: int) -> dict:
    """Move the motorised blinds in a room to a position.

    Args:
        room: Room name, e.g. "bedroom".
        open_percent: How far open, in percent: 0 is fully closed, 100 fully open.
    """
    return {"room": room, "open_percent": open_percent}


def activate_scene(scene: str) -> dict:
    """Activate a saved scene, a preset that sets several devices at once.

    Args:
        scene: Name of the saved scene, e.g. "movie night", "good morning", "away".
    """
    return {"scene": scene, "active": True}


def set_timer(duration_minutes: int, label: str | None = None) -> dict:
    """Start a countdown timer on the home hub; it rings on every speaker when it ends.

    Args:
        duration_minutes: Length of the timer in minutes.
        label: A name for the timer, e.g. "pasta".
    """
    return {"duration_minutes": duration_minutes, "label": label}


def play_music(
    query: str,
    speaker: str | None = None,
    volume: int | None = None,
    shuffle: bool = False,
) -> dict:
    """Play music on a speaker: a song, artist, album, playlist, genre or radio station.

    Args:
        query: What to play, e.g. "Abbey Road" or "lofi beats".
        speaker: Speaker or room to play on, e.g. "kitchen"; the last used speaker when left out.
        volume: Volume in percent, 0-100; unchanged when left out.
        shuffle: Play in random order.
    """
    return {"query": query, "speaker": speaker, "volume": volume, "shuffle": shuffle}


TOOLS = [
    turn_on_lights,
    turn_off_lights,
    set_light_brightness,
    set_light_color,
    set_thermostat,
    get_indoor_temperature,
    lock_door,
    unlock_door,
    set_blinds,
    activate_scene,
    set_timer,
    play_music,
]
