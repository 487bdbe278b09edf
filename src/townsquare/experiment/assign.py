"""Deterministic assignment: a user's arm is a pure function of (experiment name, user id, arm weights).

No assignment table is needed and every server agrees without coordination: SHA-256 of "name\\x1fuser" gives a
uniform number in [0, 1) that falls into one arm's slice of the cumulative weights. Hashing the experiment's name
in decorrelates experiments: being in the treatment of one says nothing about the arm in another.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from townsquare.errors import BadInput

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class Arm:
    name: str
    weight: float = 1.0

    def to_dict(self) -> dict:
        return {"name": self.name, "weight": self.weight}


def check_arms(arms: Sequence[Arm | dict]) -> list[Arm]:
    """Arms as `Arm`s with weights summing to 1, or a BadInput naming what is wrong."""
    out = [a if isinstance(a, Arm) else Arm(str(a.get("name", "")), float(a.get("weight", 1.0))) for a in arms]
    if len(out) < 2:
        raise BadInput("arms", f"{len(out)} arm(s) given", "give at least two, e.g. control and treatment")
    names = [a.name for a in out]
    for a in out:
        if not NAME.match(a.name):
            raise BadInput("arms", f"arm name {a.name!r} is not a plain name",
                           "use letters, digits, '-', '_' or '.', up to 128 characters")
        if not a.weight > 0 or a.weight == float("inf"):
            raise BadInput("arms", f"arm {a.name!r} has weight {a.weight}", "give every arm a positive weight")
    if len(set(names)) != len(names):
        raise BadInput("arms", f"arm names repeat ({', '.join(names)})", "give every arm its own name")
    total = sum(a.weight for a in out)
    return [Arm(a.name, a.weight / total) for a in out]


def unit_hash(experiment: str, user_id: int | str) -> float:
    """A uniform number in [0, 1) fixed by the experiment's name and the user's id."""
    digest = hashlib.sha256(f"{experiment}\x1f{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def assign(experiment: str, user_id: int | str, arms: Sequence[Arm]) -> str:
    """The arm of `user_id` in `experiment` (arms' weights need not sum to 1)."""
    u = unit_hash(experiment, user_id) * sum(a.weight for a in arms)
    edge = 0.0
    for a in arms:
        edge += a.weight
        if u < edge:
            return a.name
    return arms[-1].name  # float round-off at the very top
