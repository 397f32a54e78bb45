# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 07 · Adam
#
# Training moves every weight a little after every batch. Plain gradient descent moves it by `lr · g`,
# so a weight whose gradient is tiny barely moves and one whose gradient is huge jumps. Adam divides a
# running mean of the gradient by a running root mean square of it, so every weight moves by about
# `lr` when its gradient keeps its sign, whatever the gradient's scale. Here we write its four equations
# beside the library's `Adam`, see what they do to a single weight, and why the bias correction is there;
# then you write one Adam step yourself.
#
# Library: `tinyvae/engine/optim.py` (`Adam`). Walkthrough: `walkthroughs/07_adam.md`. The gradients it
# follows come from the backward passes of `walkthroughs/05_backprop_vae.md`; training uses it on every
# batch (`walkthroughs/08_training.md`).

# %%
import numpy as np

from tinyvae import Adam, Linear

np.set_printoptions(precision=6, suppress=True)

# %% [markdown]
# ## 1. The update rule, written out beside the library
#
# For a parameter `p` with gradient `g` at step `t = 1, 2, …`:
#
#     m = β₁ m + (1 − β₁) g              a running mean of g
#     v = β₂ v + (1 − β₂) g²             a running mean of g²
#     m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)   the bias correction
#     p ← p − lr · m̂ / (√v̂ + ε)
#
# `Adam.step_plain()` is these four lines as code; `Adam.step()`, what training calls, runs its fast twin
# `Adam._step_fast()`, the same equations in torch's order and in place (equal to rounding). Both read
# `layer.grads` and move `layer.params` in place. Run `step()` beside the four lines for 50 steps on
# gradients that change every step and whose scale jumps between 1e-3 and 1e2:

# %%
layer = Linear(4, 3, rng=0)
p = {k: v.copy() for k, v in layer.params.items()}
m = {k: np.zeros_like(v) for k, v in p.items()}
v = {k: np.zeros_like(val) for k, val in p.items()}
opt, lr, beta1, beta2, eps = Adam(layer, lr=0.01), 0.01, 0.9, 0.999, 1e-8
rng = np.random.default_rng(0)
for t in range(1, 51):
    for k in layer.params:
        g = rng.standard_normal(layer.params[k].shape) * 10.0 ** rng.integers(-3, 3)
        layer.grads[k] = g
        m[k] = beta1 * m[k] + (1 - beta1) * g
        v[k] = beta2 * v[k] + (1 - beta2) * g**2
        m_hat, v_hat = m[k] / (1 - beta1**t), v[k] / (1 - beta2**t)
        p[k] = p[k] - lr * m_hat / (np.sqrt(v_hat) + eps)
    opt.step()
worst = max(float(np.max(np.abs(layer.params[k] - p[k]) / np.abs(p[k]))) for k in p)
print(f"after 50 steps, the largest relative difference between Adam and the four lines: {worst:.1e}")
assert worst < 1e-12

# %% [markdown]
# ## 2. A step of about `lr`, whatever the gradient's scale
#
# One weight, 200 steps of `lr = 0.01`, with a gradient `scale · s_t` for three sign patterns `s_t`: the
# mean step over the last 100, in units of `lr`.

# %%
class One:
    """A single weight, in the protocol optimizers read: params and grads with the same keys."""

    def __init__(self):
        self.params, self.grads = {"w": np.zeros(1)}, {"w": np.zeros(1)}


def mean_step(signs, scale):
    one = One()
    adam = Adam(one, lr=0.01)
    path = []
    for s in signs:
        one.grads["w"][0] = scale * s
        adam.step()
        path.append(one.params["w"][0])
    return abs(path[-1] - path[99]) / 100 / 0.01


patterns = {"+1 always": np.ones(200), "+1 +1 +1 -1 ...": np.tile([1.0, 1, 1, -1], 50),
            "+1 -1 +1 -1 ...": np.tile([1.0, -1], 100)}
steps = {(name, c): mean_step(s, c) for name, s in patterns.items() for c in (1e-3, 300.0)}
for name in patterns:
    print(f"{name:16s}" + "".join(f"  scale {c:g}: {steps[name, c]:.3f}" for c in (1e-3, 300.0)))
assert all(abs(steps[name, 1e-3] - steps[name, 300.0]) < 1e-3 for name in patterns)  # the scale does not matter
assert abs(steps["+1 always", 1e-3] - 1) < 1e-3 and steps["+1 -1 +1 -1 ...", 1e-3] < 1e-3
assert abs(steps["+1 +1 +1 -1 ...", 1e-3] - 0.5) < 1e-3

# %% [markdown]
# The sign pattern decides everything: a full `lr` per step for a gradient that keeps its sign, nothing
# for one that alternates, half for one whose mean is half its root mean square.
#
# ## 3. Why the bias correction
#
# `m` and `v` start at zero, so after the first step `m = (1 − β₁) g` and `v = (1 − β₂) g²` are too small,
# by different factors. The correction divides them back, so the first step is `lr · g / (|g| + ε)`:
# every weight moves by almost exactly `lr`. Without it the first step would be
# `lr · (1 − β₁) / √(1 − β₂)`, about 3.16 `lr`.

# %%
layer = Linear(3, 2, rng=0)
w0 = layer.params["W"].copy()
layer.grads["W"] = np.array([[1.0, -2.0, 300.0], [-1e-3, 5.0, -7.0]])
layer.grads["b"] = np.array([1.0, -1.0])
Adam(layer, lr=0.1).step()
first = w0 - layer.params["W"]
print(first.round(6))
assert np.allclose(np.abs(first), 0.1, atol=2e-6)
uncorrected = (1 - beta1) / np.sqrt(1 - beta2)
print(f"without the correction the first step would be {uncorrected:.4f} lr")
assert abs(uncorrected - 3.1623) < 1e-4

for t in (1, 10, 100, 1000, 10000):
    print(t, f"1/(1 − β₁ᵗ) = {1 / (1 - beta1**t):.4f}", f"1/√(1 − β₂ᵗ) = {1 / np.sqrt(1 - beta2**t):.4f}")
assert abs(1 / (1 - beta1**100) - 1) < 1e-4 and 1 / np.sqrt(1 - beta2**1000) > 1.2
assert abs(1 / np.sqrt(1 - beta2**10000) - 1) < 1e-4

# %% [markdown]
# As `t` grows the correction fades: by step 100 the first moment's is gone, the second moment's lasts a
# few thousand steps. `tests/test_optim.py::test_adam_follows_torch_for_100_steps` runs a VAE 100 steps
# beside `torch.optim.Adam` and finds every weight equal to rtol 1e-10.

# %% [markdown]
# ## Exercises: one Adam step
#
# Now write Adam's update yourself. Replace each `raise NotImplementedError` with your code and run the
# check below it: `exercises.check` runs your function on several cases (the first step and later ones, several shapes), compares every
# entry with tinyvae's own answer and with finite differences, and when something is off it names the
# classic mistake it recognises (a transposed gradient, a missing 1/B, a sign, ...) or the worst entry.
# `exercises.describe(name)` repeats the signature; `exercises.solution(name)` is the reference, to read
# after you have tried.

# %%
from tinyvae import exercises

# %%
# exercise: adam_step
def adam_step(p, g, m, v, t, lr, betas, eps):
    """One Adam step, t counting from 1, betas = (beta1, beta2) -> the new (p, m, v)."""
    # your code
    raise NotImplementedError


# %%
exercises.check("adam_step", adam_step)
