"""Every program under examples/ runs and its numbers are right."""

import importlib.util
import pathlib
import runpy

import numpy as np
import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_linear_regression_fits_and_loss_decreases():
    ex = load("linear_regression")
    x, y = ex.make_data(np.random.default_rng(0), n=100)
    w, b, losses = ex.fit(x, y, steps=150)
    assert abs(w - 3.0) < 0.1 and abs(b - 2.0) < 0.1
    assert all(later <= earlier for earlier, later in zip(losses, losses[1:]))


def test_linear_regression_plot(tmp_path):
    pytest.importorskip("matplotlib")
    ex = load("linear_regression")
    path = tmp_path / "loss.png"
    assert ex.plot_losses([1.0, 0.5, 0.25], path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_logistic_regression_gradient_and_training():
    ex = load("logistic_regression")
    import s2sgrad as sg
    rng = np.random.default_rng(1)
    X, y = ex.make_data(rng, n=50)
    w, b = rng.normal(size=X.shape[1]), 0.3
    dw, db = sg.grad(ex.loss, wrt=("w", "b"))(w, b, X, y)
    hand_w, hand_b = ex.hand_gradient(w, b, X, y)
    np.testing.assert_allclose(dw, hand_w, atol=1e-12)
    np.testing.assert_allclose(db, hand_b, atol=1e-12)
    w, b, losses = ex.train(X, y, steps=50)
    assert losses[-1] < 0.5 * losses[0] and ex.accuracy(w, b, X, y) > 0.9


def test_newton_hessian_and_convergence():
    ex = load("newton")
    import s2sgrad as sg
    x = np.array([-0.4, 0.9, 1.3])
    np.testing.assert_allclose(sg.hessian(ex.rosenbrock)(x), ex.hand_hessian(x), atol=1e-10)
    x, values = ex.newton(np.array([-1.2, 1.0]))
    np.testing.assert_allclose(x, 1.0, atol=1e-8)
    assert values[-1] < 1e-16


def test_pendulum_equations_of_motion():
    ex = load("pendulum")
    for q, qdot, l in [(0.7, -0.3, 2.0), (-2.1, 1.4, 0.5)]:
        assert ex.pendulum_acceleration(q, qdot, l=l) == pytest.approx(-ex.G / l * np.sin(q), abs=1e-12)
    q, qdot = np.array([0.9, -0.4]), np.array([0.5, 1.5])
    for masses in [dict(), dict(m1=0.5, m2=2.0, l1=1.5, l2=0.7)]:
        np.testing.assert_allclose(ex.double_pendulum_acceleration(q, qdot, **masses),
                                   ex.double_pendulum_closed_form(q, qdot, **masses), atol=1e-10)


def test_char_rnn_gradient_matches_hand_backprop_and_trains():
    ex = load("char_rnn")
    import s2sgrad as sg
    chars, data = ex.encode(ex.TEXT)
    params = ex.init_params(np.random.default_rng(2), len(chars), 6)
    args = dict(inputs=data[:5], targets=data[1:6], h0=0.1 * np.ones(6))
    auto = sg.grad(ex.loss, wrt=ex.PARAMS)(**params, **args)
    for a, b in zip(auto, ex.hand_backprop(**params, **args)):
        np.testing.assert_allclose(a, b, atol=1e-12)
    _, losses = ex.train(steps=30, hidden=8, seq_length=6)
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])


def test_two_layer_net_gradient_matches_hand_backprop_and_trains():
    ex = load("two_layer_net")
    import s2sgrad as sg
    rng = np.random.default_rng(3)
    X, Y = ex.make_spiral(rng, points_per_class=10)
    params = ex.init_params(rng, 2, 7, 3)
    auto = sg.grad(ex.loss, wrt=ex.PARAMS)(**params, X=X, y_onehot=Y, reg=1e-2)
    for a, b in zip(auto, ex.hand_backprop(**params, X=X, y_onehot=Y, reg=1e-2)):
        np.testing.assert_allclose(a, b, atol=1e-12)
    _, losses, accuracy = ex.train(steps=100, n_hidden=20)
    assert losses[-1] < 0.6 * losses[0] and accuracy > 0.6


@pytest.mark.parametrize("name", ["quickstart", "tape", "mlp", "linear_regression", "logistic_regression",
                                  "newton", "pendulum", "char_rnn", "two_layer_net"])
def test_example_runs_as_a_script(name, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the plot, if any, lands here
    runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name="__main__")
    assert capsys.readouterr().out


def test_quickstart_derivative_and_source():
    ex = load("quickstart")
    import s2sgrad as sg
    for x, a, b, c in [(3.0, 1.0, -2.0, 1.0), (-0.7, 2.5, 0.3, -4.0)]:
        assert sg.grad(ex.f)(x, a, b, c) == pytest.approx(2 * a * x + b, rel=1e-14)
    source = sg.source(ex.f)
    compile(source, "<quickstart source>", "exec")
    assert "def " in source and "x" in source


def test_tape_example_derivatives(capsys):
    ex = load("tape")
    ex.derivatives()
    out = capsys.readouterr().out
    x, c = 3.0, 2.0
    for label, value in [("dy/dx", 2 * c * x + np.cos(x)), ("dy/dc", x ** 2), ("d2y/dx2", 2 * c - np.sin(x))]:
        line = next(line for line in out.splitlines() if line.startswith(label))
        printed = float(line.split("Tensor(")[1].split(",")[0])
        assert printed == pytest.approx(value, rel=1e-8), label


def test_mlp_gradient_matches_finite_differences_and_trains(capsys):
    ex = load("mlp")
    import s2sgrad as sg
    from tests.fd import numerical_grad
    rng = np.random.default_rng(4)
    X, Y = ex.make_data(rng, n=12, n_in=3, n_classes=2)
    params = [rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=(4, 2)), rng.normal(size=2)]
    grads = sg.grad(ex.loss, wrt=ex.PARAMS)(*params, X, Y)
    for i, g in enumerate(grads):
        np.testing.assert_allclose(g, numerical_grad(ex.loss, (*params, X, Y), argnum=i), rtol=1e-6, atol=1e-8)
    ex.main()
    losses = [float(line.split()[-1]) for line in capsys.readouterr().out.splitlines()
              if line.startswith("step")]
    assert losses[-1] < 0.2 * losses[0]
