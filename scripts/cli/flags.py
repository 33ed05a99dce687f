"""Checks a flag's value needs before anything runs: numbers in range, modes that exclude each
other. Each failure is a ``ConfigError`` (exit 2) whose one line names the flag and the fix."""

from __future__ import annotations

from foundation.errors import ConfigError


def in_range(flag: str, value: int, low: int, high: int | None, meaning: str) -> int:
    """``value`` when ``low <= value <= high`` (no upper bound when ``high`` is None);
    ``meaning`` says what the number is for."""
    if value < low or (high is not None and value > high):
        allowed = f"{flag} {low} to {high}" if high is not None else f"{flag} {low} or more"
        raise ConfigError(f"{flag} {value} is out of range", fix=f"use {allowed} ({meaning})")
    return value


def at_most_one(**given: bool) -> str | None:
    """The one flag set among ``given`` (names as Python spells them), or None; two or more
    is an error, never a silent choice between them."""
    chosen = [f"--{name.replace('_', '-')}" for name, on in given.items() if on]
    if len(chosen) > 1:
        raise ConfigError(f"{' and '.join(chosen)} exclude each other",
                          fix="pass only one of them")
    return chosen[0].removeprefix("--") if chosen else None
