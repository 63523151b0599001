"""Bad input gets one clear error; s2sgrad's warning class is public."""

import warnings

import pytest

import s2sgrad as sg


def test_the_warning_class_is_exported_and_a_user_warning():
    assert "S2SGradWarning" in sg.__all__
    assert issubclass(sg.S2SGradWarning, UserWarning)
    assert not issubclass(sg.S2SGradWarning, sg.S2SGradError)
    with pytest.warns(sg.S2SGradWarning):
        warnings.warn("x", sg.S2SGradWarning)
