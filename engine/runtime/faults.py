"""Fault injection for tests: an exception raised inside an actor's handler on purpose.

The supervision of actors is only believable when a bug in a handler is shown to stay in its
actor. A test arms a ``Faults`` given to the engine's ``Config``; each actor asks it before
handling a command, and an armed rule that matches raises ``InjectedFault`` there, as a bug in
that handler would. Without a ``Faults`` (every real engine) the actors skip the check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


class InjectedFault(Exception):
    """Raised where a bug would be; nothing catches it on purpose."""


@dataclass
class _Rule:
    kind: str
    when: Callable[[object], bool]
    times: int


class Faults:
    def __init__(self) -> None:
        self._rules: list[_Rule] = []
        self.raised = 0

    def arm(self, kind: str, when: Callable[[object], bool], times: int = 1) -> None:
        """The next ``times`` commands of an actor of ``kind`` for which ``when(command)`` holds raise."""
        self._rules.append(_Rule(kind, when, times))

    def check(self, kind: str, command: object) -> None:
        for rule in self._rules:
            if rule.times > 0 and rule.kind == kind and rule.when(command):
                rule.times -= 1
                self.raised += 1
                raise InjectedFault(f"injected into a {kind} handling {type(command).__name__}")
