"""Deterministic fresh names: the same program always gets the same names.

Output guarantees: a name handed out is never one the program already
uses or one handed out before (per :class:`Namer`), and the same program
gets the same names in every run.
"""

import re


class Namer:
    """Hands out names that collide with nothing already taken.

    ``fresh("x")`` returns ``x`` if free, else ``x_1``, ``x_2``, ...; names
    depend only on the order of requests, never on ids or randomness.
    """

    def __init__(self, taken=()):
        self.taken = set(taken)
        self._next_temp = 1
        self.temporaries = set()

    def reserve(self, name):
        self.taken.add(name)
        return name

    def fresh(self, base, *, exact_first=True):
        base = re.sub(r"\W", "_", base) or "t"
        if exact_first and base not in self.taken:
            return self.reserve(base)
        stem = re.sub(r"_\d+$", "", base)
        i = 1
        while f"{stem}_{i}" in self.taken:
            i += 1
        return self.reserve(f"{stem}_{i}")

    def temp(self):
        while f"_t{self._next_temp}" in self.taken:
            self._next_temp += 1
        self.temporaries.add(f"_t{self._next_temp}")
        return self.reserve(f"_t{self._next_temp}")


def bind(env, namer, obj, preferred):
    """The name ``env`` gives ``obj``, adding a fresh one if it has none.

    ``env`` maps the names generated code uses for helper objects to the
    objects; one object gets one name.
    """
    for name, value in env.items():
        if value is obj:
            return name
    name = namer.fresh(preferred)
    env[name] = obj
    return name
