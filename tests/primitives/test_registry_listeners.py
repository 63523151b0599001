"""registry.on_change: a listener is told of every registration after it
joined (none before), and one that is gone is no longer called."""

import gc

from s2sgrad.primitives import registry


class _Listener:
    def __init__(self):
        self.told = 0

    def rules_changed(self):
        self.told += 1


def _twice(x):
    return 2.0 * x


def test_listeners_are_told_of_later_registrations_only():
    before = registry.generation()
    registry.deffacts(_twice, linear=True)  # (nobody listening: just counted)
    assert registry.generation() == before + 1
    first, second = _Listener(), _Listener()
    registry.on_change(first)
    registry.defvjp(_twice)(lambda g, ans, x: (2.0 * g,))
    registry.on_change(second)
    registry.deffacts(_twice, linear=True)
    assert (first.told, second.told) == (2, 1)
    assert registry.generation() == before + 3
    del first, second
    gc.collect()
    registry.deffacts(_twice, linear=True)  # (the listeners gone: nothing to tell)
    assert registry.generation() == before + 4
