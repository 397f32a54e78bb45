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
# # 12 · Backends: one code path for NumPy and the GPU
#
# tinyvae's math is written once. Every function that computes on data asks its inputs which array library
# they belong to (`xp = namespace(x, W)`) and calls that library's functions, so the same lines run on
# NumPy arrays, on CuPy arrays on a GPU, or on any library that follows the array API standard. The test
# machines have no GPU; `array_api_strict` stands in for one: its arrays on `Device("device1")` refuse
# every silent conversion to NumPy, as a GPU's arrays do. This notebook runs the page's points on NumPy
# and on that strict device.
#
# Library: `tinyvae/engine/backend.py`. Walkthrough: `walkthroughs/12_backends.md`. The models and the
# optimizer it moves are those of `walkthroughs/05_backprop_vae.md` and `walkthroughs/07_adam.md`.

# %%
import array_api_strict as xps
import numpy as np

from tinyvae import VAE, Adam
from tinyvae.engine import backend

dev = xps.Device("device1")

# %% [markdown]
# ## 1. The namespace comes from the inputs
#
# Plain NumPy arrays get the `numpy` module itself (one type check, no wrapper); anything else is asked of
# `array_api_compat`, which knows CuPy, PyTorch, JAX and `array_api_strict`.

# %%
a = xps.asarray([[1.0, 2.0]], device=dev)
print(backend.namespace(np.zeros(2), None).__name__, backend.namespace(a).__name__, backend.device(a))
assert backend.namespace(np.zeros(2), None) is np
assert backend.namespace(a).__name__ == "array_api_strict" and backend.device(a) == dev

# %% [markdown]
# ## 2. The strict device refuses a silent trip to NumPy
#
# A stray `np.asarray` on device data raises, as it would on a GPU (where CuPy raises `TypeError`;
# `array_api_strict` raises `RuntimeError`). `to_numpy` is the one door home.

# %%
try:
    np.asarray(a)
    refused = None
except (RuntimeError, TypeError) as e:
    refused = type(e).__name__
print(f"np.asarray on the device: refused with {refused}")
assert refused is not None
print(backend.to_numpy(a))
assert isinstance(backend.to_numpy(a), np.ndarray)

# %% [markdown]
# ## 3. A whole VAE on the device gives NumPy's numbers
#
# The same model, its weights copied to the device by `model.to(xps, dev)`, the same input and noise:
# the loss and all of its gradients agree with the NumPy run to rounding.

# %%
rng = np.random.default_rng(1)
x = rng.uniform(size=(4, 6))
eps = rng.standard_normal((4, 2))
model = VAE(6, [5], 2, rng=0)
host = model.loss_and_grads(x, eps=eps)
grads_host = {k: g.copy() for k, g in model.grads.items()}
model.to(xps, dev)
on_device = model.loss_and_grads(xps.asarray(x, device=dev), eps=xps.asarray(eps, device=dev))
print(f"loss on the host {host.total:.12f}, on the device {float(on_device.total):.12f}")
assert all(p.device == dev for p in model.params.values())
worst = max(float(np.max(np.abs(backend.to_numpy(model.grads[k]) - g))) for k, g in grads_host.items())
print(f"largest difference between a gradient on the device and on the host: {worst:.1e}")
assert abs(float(on_device.total) - host.total) < 1e-12 and worst < 1e-12

# %% [markdown]
# ## 4. Training steps: Adam's state moves too
#
# Three steps of Adam on the host and on the device, from the same weights with the same noise:

# %%
def three_steps(model, x, eps_list):
    opt = Adam(model, lr=0.01)
    losses = []
    for e in eps_list:
        losses.append(float(model.loss_and_grads(x, eps=e).total))
        opt.step()
    return losses, opt


eps3 = rng.standard_normal((3, 4, 2))
host_model, dev_model = VAE(6, [5], 2, rng=0), VAE(6, [5], 2, rng=0)
losses_host, _ = three_steps(host_model, x, list(eps3))
dev_model.to(xps, dev)
losses_dev, opt_dev = three_steps(dev_model, xps.asarray(x, device=dev), [xps.asarray(e, device=dev) for e in eps3])
print("host:  ", [f"{v:.10f}" for v in losses_host])
print("device:", [f"{v:.10f}" for v in losses_dev])
assert np.allclose(losses_dev, losses_host, rtol=1e-12, atol=0)
assert all(s.device == dev for s in opt_dev.state.values())
assert all(np.allclose(backend.to_numpy(dev_model.params[k]), host_model.params[k], rtol=1e-12, atol=1e-14)
           for k in host_model.params)

# %% [markdown]
# ## 5. Noise is drawn on the host
#
# Random numbers come from an explicit `numpy.random.Generator` on the host and are then moved next to the
# data, so a seed means the same noise on every backend:

# %%
model = VAE(6, [5], 2, rng=0)
a_host = model.loss_and_grads(x, rng=np.random.default_rng(3))
model.to(xps, dev)
b_dev = model.loss_and_grads(xps.asarray(x, device=dev), rng=np.random.default_rng(3))
print(f"seed 3 on the host {a_host.total:.12f}, on the device {float(b_dev.total):.12f}")
assert abs(float(b_dev.total) - a_host.total) < 1e-12

# %% [markdown]
# On a machine with CuPy and a GPU, `tinyvae train --backend cupy` runs the same code there;
# `tests/test_backend.py::test_cupy_step` makes the comparison of section 4 for real (it is skipped where
# CuPy is missing). A GPU rounds its products and sums in its own order, so there the numbers agree with
# NumPy's to rounding, not digit for digit.
