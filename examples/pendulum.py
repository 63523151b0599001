"""Equations of motion from a Lagrangian, by differentiating it twice.

The Euler-Lagrange equation d/dt dL/dqdot = dL/dq expands to

    d2L/dqdot2 * qddot + d2L/dq dqdot * qdot = dL/dq

so the acceleration qddot follows from the second derivatives of L, which
``sg.grad`` of ``sg.grad`` (with different ``wrt``) or ``sg.jacobian`` give.
"""

import numpy as np

import s2sgrad as sg

G = 9.81


def pendulum_lagrangian(q, qdot, m, l):
    """Kinetic minus potential energy of a simple pendulum at angle q."""
    return 0.5 * m * l ** 2 * qdot ** 2 + m * G * l * np.cos(q)


dL_dq = sg.grad(pendulum_lagrangian, wrt="q")
dL_dqdot = sg.grad(pendulum_lagrangian, wrt="qdot")
d2L_dqdot2 = sg.grad(dL_dqdot, wrt="qdot")
d2L_dq_dqdot = sg.grad(dL_dqdot, wrt="q")


def pendulum_acceleration(q, qdot, m=1.0, l=1.0):
    """qddot from the Euler-Lagrange equation, using only derivatives of L."""
    return (dL_dq(q, qdot, m, l) - d2L_dq_dqdot(q, qdot, m, l) * qdot) / d2L_dqdot2(q, qdot, m, l)


def double_pendulum_lagrangian(q, qdot, m1, m2, l1, l2):
    """Two point masses on rigid rods; q holds both angles from the vertical."""
    t1, t2 = q[0], q[1]
    w1, w2 = qdot[0], qdot[1]
    kinetic = (0.5 * (m1 + m2) * l1 ** 2 * w1 ** 2 + 0.5 * m2 * l2 ** 2 * w2 ** 2
               + m2 * l1 * l2 * w1 * w2 * np.cos(t1 - t2))
    potential = -(m1 + m2) * G * l1 * np.cos(t1) - m2 * G * l2 * np.cos(t2)
    return kinetic - potential


dLd_dq = sg.grad(double_pendulum_lagrangian, wrt="q")
dLd_dqdot = sg.grad(double_pendulum_lagrangian, wrt="qdot")
mass_matrix = sg.jacobian(dLd_dqdot, wrt="qdot")  # d2L/dqdot2
mixed = sg.jacobian(dLd_dqdot, wrt="q")  # d2L/dqdot dq: row i is d(dL/dqdot_i)/dq


def double_pendulum_acceleration(q, qdot, m1=1.0, m2=1.0, l1=1.0, l2=1.0):
    args = (q, qdot, m1, m2, l1, l2)
    return np.linalg.solve(mass_matrix(*args), dLd_dq(*args) - mixed(*args) @ qdot)


def double_pendulum_closed_form(q, qdot, m1=1.0, m2=1.0, l1=1.0, l2=1.0):
    """The textbook equations of motion of the double pendulum."""
    t1, t2 = q
    w1, w2 = qdot
    d = t1 - t2
    den = 2 * m1 + m2 - m2 * np.cos(2 * d)
    a1 = (-G * (2 * m1 + m2) * np.sin(t1) - m2 * G * np.sin(t1 - 2 * t2)
          - 2 * np.sin(d) * m2 * (w2 ** 2 * l2 + w1 ** 2 * l1 * np.cos(d))) / (l1 * den)
    a2 = (2 * np.sin(d) * (w1 ** 2 * l1 * (m1 + m2) + G * (m1 + m2) * np.cos(t1)
                           + w2 ** 2 * l2 * m2 * np.cos(d))) / (l2 * den)
    return np.array([a1, a2])


def main():
    q, qdot, l = 0.7, -0.3, 2.0
    print(f"pendulum:        qddot = {pendulum_acceleration(q, qdot, l=l):+.6f}"
          f"   closed form -g/l sin(q) = {-G / l * np.sin(q):+.6f}")
    q2, qdot2 = np.array([0.9, -0.4]), np.array([0.5, 1.5])
    print("double pendulum: qddot =", double_pendulum_acceleration(q2, qdot2, m2=2.0, l1=1.5))
    print("     closed form qddot =", double_pendulum_closed_form(q2, qdot2, m2=2.0, l1=1.5))


if __name__ == "__main__":
    main()
