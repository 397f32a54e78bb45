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
# # 02 · A layer's forward and backward, by hand
#
# Every layer in tinyvae does two things:
#
# - **forward** `out = f(x)`, keeping in `layer.cache` what the backward will need;
# - **backward** takes `dout` = ∂L/∂out (how the loss L changes with each output number) and
#   returns `dx` = ∂L/∂x, filling `layer.grads` with ∂L/∂(each parameter).
#
# Backward never needs to know what L is: the chain rule only asks for `dout`. Here we derive the
# backward of `Linear`, `ReLU` and `Sigmoid` step by step, compute it ourselves, assert that the
# library (`tinyvae/engine/layers.py`) computes the same, and finally check both against finite
# differences. Walkthrough: `walkthroughs/02_layers.md`.

# %%
import numpy as np

from tinyvae import Linear, ReLU, Sequential, Sigmoid, gradcheck
from tinyvae.engine.gradcheck import rel_error

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## Linear: `out = x Wᵀ + b`
#
# We start from the lecture's encoder layer (document 004): the input `x = [0.5, 1.0, −0.5]`,
# `W_e` of shape (2, 3) and `b_e`. tinyvae stores `W` as (out_features, in_features), like the
# lecture and like torch, and works on batches: `x` is (batch, in).

# %%
layer = Linear(3, 2)
layer.params["W"][...] = [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]
layer.params["b"][...] = [0.1, 0.2]
x = np.array([[0.5, 1.0, -0.5]])  # a batch of one: (1, 3)

W, b = layer.params["W"], layer.params["b"]
out_by_hand = x @ W.T + b  # (1, 2)
out = layer.forward(x)
print("h =", out)
assert np.allclose(out_by_hand, [[0.2, 0.6]]) and np.array_equal(out, out_by_hand)

# %% [markdown]
# ### Deriving the backward
#
# Write one output number out in full: `out[n, j] = Σ_i x[n, i] · W[j, i] + b[j]`.
# The loss depends on the outputs, and `dout[n, j]` = ∂L/∂out[n, j] is given to us. The chain rule
# sums over every output a parameter touches:
#
# - `W[j, i]` appears in `out[n, j]` for every example n, multiplied by `x[n, i]`:
#   ∂L/∂W[j, i] = Σ_n dout[n, j] · x[n, i], that is **`dW = doutᵀ x`** (shape (out, in), like W).
# - `b[j]` appears in `out[n, j]` for every n with coefficient 1:
#   ∂L/∂b[j] = Σ_n dout[n, j], that is **`db = Σ_batch dout`**.
# - `x[n, i]` appears in `out[n, j]` for every j, multiplied by `W[j, i]`:
#   ∂L/∂x[n, i] = Σ_j dout[n, j] · W[j, i], that is **`dx = dout W`** (shape (batch, in), like x).
#
# Each gradient has the shape of the thing it is the gradient of; that is a quick check on the
# order of the matrix product.
#
# With `dout = [[1, 0]]` (the loss is just the first output, `L = h₁`), the formulas say that
# dW's first row is x, its second row is zero, db = [1, 0], and dx is W's first row.

# %%
dout = np.array([[1.0, 0.0]])
dx = layer.backward(dout)
print("dW =\n", layer.grads["W"])
print("db =", layer.grads["b"], "  dx =", dx)
assert np.array_equal(layer.grads["W"], [[0.5, 1.0, -0.5], [0.0, 0.0, 0.0]])
assert np.array_equal(layer.grads["b"], [1.0, 0.0])
assert np.array_equal(dx, [[0.1, 0.2, 0.3]])

# %% [markdown]
# ### Build it yourself: the three sums as loops
#
# The matrix forms hide the sums. Here they are as loops over a random batch, exactly as derived,
# and then compared with the library's `Linear.backward`.

# %%
rng = np.random.default_rng(0)
x = rng.standard_normal((4, 3))
dout = rng.standard_normal((4, 2))
layer = Linear(3, 2, rng=rng)
W, b = layer.params["W"], layer.params["b"]

dW = np.zeros_like(W)
db = np.zeros_like(b)
dx = np.zeros_like(x)
for n in range(x.shape[0]):
    for j in range(W.shape[0]):
        db[j] += dout[n, j]
        for i in range(W.shape[1]):
            dW[j, i] += dout[n, j] * x[n, i]
            dx[n, i] += dout[n, j] * W[j, i]

layer.forward(x)
dx_lib = layer.backward(dout)
assert np.allclose(dW, dout.T @ x) and np.allclose(db, dout.sum(axis=0)) and np.allclose(dx, dout @ W)
assert np.allclose(dW, layer.grads["W"]) and np.allclose(db, layer.grads["b"]) and np.allclose(dx, dx_lib)
print("loops == matrix forms == tinyvae.Linear.backward")

# %% [markdown]
# ## ReLU: `out = max(x, 0)`
#
# Where `x > 0` the output is `x` itself (slope 1); where `x < 0` it is the constant 0 (slope 0).
# So the backward lets `dout` through where the input was positive and blocks it elsewhere:
# **`dx = dout · [x > 0]`**, a mask. At exactly 0 the slope is undefined; tinyvae (like torch)
# takes it as 0.

# %%
relu = ReLU()
x = np.array([[-2.0, -0.5, 0.0, 0.5, 2.0]])
out = relu.forward(x)
dx = relu.backward(np.ones_like(x))
print("out =", out, "  dx =", dx)
assert np.array_equal(out, [[0.0, 0.0, 0.0, 0.5, 2.0]])
assert np.array_equal(dx, [[0.0, 0.0, 0.0, 1.0, 1.0]])

# build it yourself: the mask times dout
dout = rng.standard_normal(x.shape)
assert np.array_equal(relu.backward(dout), dout * (x > 0))

# %% [markdown]
# ## Sigmoid: `σ(x) = 1 / (1 + e^(−x))`
#
# Differentiate: `σ'(x) = e^(−x) / (1 + e^(−x))²`. Split it as
# `1/(1 + e^(−x)) · e^(−x)/(1 + e^(−x))`; the first factor is σ, and the second is
# `(1 + e^(−x) − 1)/(1 + e^(−x)) = 1 − σ`. So **`σ' = σ(1 − σ)`**: the backward needs only the
# forward's output, which is what `Sigmoid` keeps in its cache. At x = 0, σ = 1/2 and σ' = 1/4;
# far from 0 the slope vanishes (the sigmoid saturates).

# %%
sig = Sigmoid()
x = np.array([[0.0, 2.0, -2.0, 10.0]])
s = sig.forward(x)
ds = sig.backward(np.ones_like(x))
print("σ(x) =", s, "  σ'(x) =", ds)
assert s[0, 0] == 0.5 and ds[0, 0] == 0.25
assert np.allclose(s, 1 / (1 + np.exp(-x)))
assert np.allclose(ds, np.exp(-x) / (1 + np.exp(-x)) ** 2)  # the derivative before simplifying
assert ds[0, 3] < 5e-5  # saturated: almost no gradient gets through

# build it yourself: σ(1 − σ) times dout
dout = rng.standard_normal(x.shape)
assert np.allclose(sig.backward(dout), dout * s * (1 - s))

# %% [markdown]
# ## The finite-difference check
#
# A derivative is a limit: `∂L/∂θ ≈ (L(θ + h) − L(θ − h)) / 2h` for a small h (the central
# difference; its error shrinks like h²). It needs no calculus, only two more forward passes per
# number, so it is slow but independent of the backward we wrote. We compare the two with the
# relative error `‖a − n‖ / (‖a‖ + ‖n‖)`: 0 when they agree, 1 when they point opposite ways.
#
# First one entry by hand, for `L = Σ out · r` with a fixed random `r` (so `dout = r`).

# %%
layer = Linear(3, 2, rng=rng)
x = rng.standard_normal((4, 3))
r = rng.standard_normal((4, 2))


def L() -> float:
    return float(np.sum(layer.forward(x) * r))


layer.forward(x)
layer.backward(r)
analytic = layer.grads["W"][1, 2]

h = 1e-6
W = layer.params["W"]
old = W[1, 2]
W[1, 2] = old + h
L_plus = L()
W[1, 2] = old - h
L_minus = L()
W[1, 2] = old
numeric = (L_plus - L_minus) / (2 * h)
err = rel_error(np.array(analytic), np.array(numeric))
print(f"dW[1, 2]: backward {analytic:.10f}   finite difference {numeric:.10f}   relative error {err:.1e}")
assert err < 1e-8

# %% [markdown]
# `tinyvae.engine.gradcheck` does the same for every entry of every parameter and of the input
# (when a full check would take over 10 s, a seeded sample it names), and returns per array its worst entry's
# relative error `|a − n| / (|a| + |n|)`, after taking off the rounding noise of the difference.
# A correct float64 backward reports 0 or nearly; anything above 1e-6 is a bug.

# %%
for name, module in [("Linear", Linear(3, 2, rng=rng)), ("ReLU", ReLU()), ("Sigmoid", Sigmoid())]:
    x = rng.standard_normal((4, 3))
    errors = gradcheck(module, x)
    print(f"{name:8s}", {k: f"{v:.1e}" for k, v in errors.items()})
    assert max(errors.values()) < 1e-8

# %% [markdown]
# ### The check catches a wrong backward
#
# Suppose we forgot the `(1 − σ)` factor and wrote `dx = dout · σ`. The check does not know the
# right formula, yet it notices at once.

# %%
class WrongSigmoid(Sigmoid):
    def backward(self, dout, need_dx=True):
        return dout * self.cache  # missing (1 - σ)


errors = gradcheck(WrongSigmoid(), rng.standard_normal((4, 3)))
print({k: f"{v:.2f}" for k, v in errors.items()})
assert errors["x"] > 0.1

# %% [markdown]
# ### A whole stack
#
# `Sequential` runs backward through its layers in reverse order, one link of the chain rule per
# layer. The same check passes for a small MLP: Linear → ReLU → Linear → Sigmoid.

# %%
net = Sequential(Linear(5, 4, rng=rng), ReLU(), Linear(4, 3, rng=rng), Sigmoid())
errors = gradcheck(net, rng.standard_normal((6, 5)))
print({k: f"{v:.1e}" for k, v in errors.items()})
assert set(errors) == {"0.W", "0.b", "2.W", "2.b", "x"} and max(errors.values()) < 1e-8

# %% [markdown]
# ## Exercises: the three backward passes
#
# Now write the backward passes of this notebook yourself. Replace each `raise NotImplementedError` with your code and run the
# check below it: `exercises.check` runs your function on several cases (a batch of one and more, square and non-square W, inputs of both signs), compares every
# entry with tinyvae's own answer and with finite differences, and when something is off it names the
# classic mistake it recognises (a transposed gradient, a missing 1/B, a sign, ...) or the worst entry.
# `exercises.describe(name)` repeats the signature; `exercises.solution(name)` is the reference, to read
# after you have tried.

# %%
from tinyvae import exercises

# %%
# exercise: linear_backward
def linear_backward(x, W, b, dout):
    """y = x @ W.T + b.  x (B, in), W (out, in), b (out,), dout (B, out) -> (dx, dW, db)."""
    # your code
    raise NotImplementedError


# %%
exercises.check("linear_backward", linear_backward)

# %%
# exercise: relu_backward
def relu_backward(x, dout):
    """out = max(x, 0).  x is the layer's INPUT (B, D); dout (B, D) -> dx (B, D)."""
    # your code
    raise NotImplementedError


# %%
exercises.check("relu_backward", relu_backward)

# %%
# exercise: sigmoid_backward
def sigmoid_backward(out, dout):
    """out = σ(x).  out is the layer's OUTPUT σ(x) (B, D); dout (B, D) -> dx (B, D)."""
    # your code
    raise NotImplementedError


# %%
exercises.check("sigmoid_backward", sigmoid_backward)
