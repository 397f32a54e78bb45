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
# # 11 · A convolution's forward and backward, by hand
#
# The β-VAE document's model (`tinyvae train --arch conv`) replaces the MLP's `Linear` layers by
# convolutions. Here is one convolution on the smallest example that shows everything: a 4×4 image,
# a 2×2 kernel, stride 1, no padding, so the output is 3×3. We compute
#
# 1. the forward, as a kernel sliding over the image;
# 2. `dW`, which turns out to be a correlation of the input with `dout`;
# 3. `dx`, which turns out to be a *full* convolution of `dout` with the *flipped* kernel;
#
# each with plain loops, and check every number against `tinyvae.engine.conv.Conv2d`.
# Walkthrough: `walkthroughs/11_convolutions.md`. Code: `tinyvae/engine/conv.py`.

# %%
import numpy as np

from tinyvae.engine.conv import Conv2d, ConvTranspose2d
from tinyvae.engine.gradcheck import rel_error

x = np.array([[1.0, 2, 0, 1],
              [3, 1, 2, 0],
              [0, 2, 1, 3],
              [1, 0, 2, 1]])  # the image, 4×4
W = np.array([[1.0, 2],
              [-1, 0]])  # the kernel, 2×2
b = 0.5

# %% [markdown]
# ## 1. Forward: slide the kernel
#
# Put the kernel on each 2×2 window of the image, multiply element by element, add up, add the bias:
#
# `out[r, c] = Σ_i Σ_j x[r + i, c + j] · W[i, j] + b`
#
# (Deep-learning libraries call this a convolution; mathematicians would call it a
# cross-correlation, because the kernel is not flipped. Torch and tinyvae compute exactly this.)

# %%
out = np.zeros((3, 3))
for r in range(3):
    for c in range(3):
        window = x[r : r + 2, c : c + 2]
        out[r, c] = np.sum(window * W) + b
print(out)
assert out[0, 0] == 1 * 1 + 2 * 2 + 3 * (-1) + 1 * 0 + 0.5 == 2.5

# %% [markdown]
# tinyvae's `Conv2d` works on batches of multi-channel images, `(N, C, H, W)`, with a kernel of shape
# `(out_channels, in_channels, kh, kw)`. One image, one channel in, one channel out:

# %%
conv = Conv2d(1, 1, kernel_size=2)
conv.params["W"][...] = W.reshape(1, 1, 2, 2)
conv.params["b"][...] = b
lib_out = conv.forward(x.reshape(1, 1, 4, 4))  # (N, C, H, W) = (1, 1, 4, 4) -> (1, 1, 3, 3)
assert lib_out.shape == (1, 1, 3, 3)
assert np.array_equal(lib_out[0, 0], out)

# %% [markdown]
# ## 2. The weight gradient: correlate the input with `dout`
#
# Backward starts from `dout = ∂L/∂out`, one number per output pixel. Take any:

# %%
dout = np.array([[1.0, 0, -1],
                 [2, 1, 0],
                 [0, 1, 1]])

# %% [markdown]
# `W[i, j]` multiplies `x[r + i, c + j]` in *every* output pixel `(r, c)`, so its gradient collects one
# term from each:
#
# `dW[i, j] = Σ_r Σ_c dout[r, c] · x[r + i, c + j]`
#
# Read it as the forward again, with `dout` (3×3) in the place of the kernel sliding over `x`:
# a 2×2 result, one number per kernel weight. And the bias enters every output with weight 1:
# `db = Σ dout`.

# %%
dW = np.zeros((2, 2))
for i in range(2):
    for j in range(2):
        dW[i, j] = np.sum(dout * x[i : i + 3, j : j + 3])
db = dout.sum()
print(dW, db)

# %% [markdown]
# ## 3. The input gradient: a full convolution with the flipped kernel
#
# Pixel `x[p, q]` sits in several windows: it meets `W[i, j]` in output `(p - i, q - j)`, whenever that
# output exists. So
#
# `dx[p, q] = Σ_i Σ_j dout[p - i, q - j] · W[i, j]`
#
# Two ways to compute it. **Scatter**: every output pixel sends `dout[r, c] · W` back onto the window
# it came from (this is what tinyvae's `col2im` does, one kernel offset at a time).

# %%
dx_scatter = np.zeros((4, 4))
for r in range(3):
    for c in range(3):
        dx_scatter[r : r + 2, c : c + 2] += dout[r, c] * W
print(dx_scatter)

# %% [markdown]
# **Gather**: pad `dout` with a border of `kernel - 1 = 1` zeros (so that windows hanging over the
# edge still count) and slide the kernel *flipped* in both directions over it. The sum
# `Σ dout[p - i, q - j] W[i, j]` runs `i` forwards while the `dout` index runs backwards: that is what
# flipping means. This is a "full" convolution: the output (4×4) is larger than `dout` (3×3).

# %%
dout_padded = np.pad(dout, 1)  # 5×5
W_flipped = W[::-1, ::-1]
dx = np.zeros((4, 4))
for p in range(4):
    for q in range(4):
        dx[p, q] = np.sum(dout_padded[p : p + 2, q : q + 2] * W_flipped)
assert np.array_equal(dx, dx_scatter)
print(W_flipped)

# %% [markdown]
# ## 4. The library agrees

# %%
lib_dx = conv.backward(dout.reshape(1, 1, 3, 3))
assert np.array_equal(lib_dx[0, 0], dx)
assert np.array_equal(conv.grads["W"][0, 0], dW)
assert conv.grads["b"][0] == db

# %% [markdown]
# And a finite-difference check of `dW[0, 0]` with the loss `L = Σ out · dout` (whose `∂L/∂out` is `dout`):

# %%
def loss(W00: float) -> float:
    Wp = W.copy()
    Wp[0, 0] = W00
    return sum(np.sum(x[r : r + 2, c : c + 2] * Wp) * dout[r, c] for r in range(3) for c in range(3))


h = 1e-6
numeric = (loss(W[0, 0] + h) - loss(W[0, 0] - h)) / (2 * h)
assert rel_error(numeric, dW[0, 0]) < 1e-9

# %% [markdown]
# ## 5. Stride 2, and the transposed convolution
#
# With stride 2 the windows jump two pixels. The backward is the same scatter (each output pixel
# sends `dout · W` back to its window); in the gather picture, zeros are first inserted between the
# rows and columns of `dout` ("dilation"), then it is a full convolution with the flipped kernel
# as before.
#
# Scattering `dout · W` onto windows is itself a layer: the **transposed convolution**. Its forward
# is exactly the convolution's input gradient (and its backward is the convolution's forward); with
# stride 2 it doubles the image size, which is how the conv VAE's decoder grows 7×7 to 28×28.

# %%
conv2 = Conv2d(1, 1, 2, stride=2, bias=False)
conv2.params["W"][...] = W.reshape(1, 1, 2, 2)
out2 = conv2.forward(x.reshape(1, 1, 4, 4))  # (1, 1, 2, 2)
dout2 = np.array([[1.0, -1], [2, 3]])
dx2 = conv2.backward(dout2.reshape(1, 1, 2, 2))[0, 0]

dilated = np.zeros((3, 3))
dilated[::2, ::2] = dout2  # zeros between the pixels of dout
padded = np.pad(dilated, 1)  # 5×5
dx2_hand = np.array([[np.sum(padded[p : p + 2, q : q + 2] * W_flipped) for q in range(4)] for p in range(4)])
assert np.array_equal(dx2, dx2_hand)

up = ConvTranspose2d(1, 1, 2, stride=2, bias=False)
up.params["W"][...] = W.reshape(1, 1, 2, 2)
assert np.array_equal(up.forward(dout2.reshape(1, 1, 2, 2))[0, 0], dx2)  # 2×2 -> 4×4
print(dx2)

# %% [markdown]
# ## 6. How the layer does it: im2col, one matrix product
#
# Loops over pixels are slow in Python. `Conv2d` copies every window into a column of a matrix
# (`im2col`): here 9 windows of 4 numbers, a (4, 9) matrix. The forward is then one matrix product
# with the kernel as a row, exactly `Linear`'s forward; the backward is `Linear`'s backward,
# `dW = dout_mat @ colsᵀ`, and the columns' gradient `W_matᵀ @ dout_mat` added back onto the pixels
# each column came from (`col2im`, the scatter of section 3). `im2col` takes its image channel
# first, batch last, `(C, H, W, N)`; here N = C = 1.

# %%
from tinyvae.engine.conv import col2im, im2col

cols = im2col(x.reshape(1, 4, 4, 1), (2, 2), (1, 1), (3, 3))  # (C·kh·kw, Ho·Wo·N)
print(cols.shape, "first window, x[0:2, 0:2] read row by row:", cols[:, 0])
assert cols.shape == (4, 9) and np.array_equal(cols[:, 0], x[0:2, 0:2].ravel())
assert np.array_equal((W.reshape(1, 4) @ cols + b).reshape(3, 3), out)  # the forward of section 1
assert np.array_equal((dout.reshape(1, 9) @ cols.T).reshape(2, 2), dW)  # dW of section 2
dcols = W.reshape(1, 4).T @ dout.reshape(1, 9)  # (4, 9): each column is dout[r, c] · W
assert np.array_equal(col2im(dcols, (1, 4, 4, 1), (2, 2), (1, 1), (3, 3))[0, :, :, 0], dx)  # dx of section 3

# %% [markdown]
# With a batch and channels the matrix is `(C_in·kh·kw, Ho·Wo·N)`: the whole batch, one product per
# layer. Two images of three channels through a `Conv2d(3, 5, 2)`:

# %%
xb = np.random.default_rng(0).standard_normal((2, 3, 4, 4))  # (N, C, H, W)
conv3 = Conv2d(3, 5, kernel_size=2, rng=1)  # W: (5, 3, 2, 2)
cols3 = im2col(xb.transpose(1, 2, 3, 0), (2, 2), (1, 1), (3, 3))  # (3·2·2, 3·3·2)
out3 = conv3.params["W"].reshape(5, 12) @ cols3 + conv3.params["b"][:, None]  # (C_out, Ho·Wo·N)
print(cols3.shape, "->", out3.shape)
assert np.allclose(out3.reshape(5, 3, 3, 2).transpose(3, 0, 1, 2), conv3.forward(xb), rtol=1e-12)

# %% [markdown]
# ## 7. The β-VAE document's conv VAE
#
# `ConvVAE()` has document 001's layers: Conv(1 → 32, 3×3, stride 2) → Conv(32 → 64, 3×3, stride 2)
# → Dense(3136 → 16) → μ, log σ² (latent 2), ReLU after every hidden layer; the decoder mirrors it
# with Dense(2 → 3136) and three transposed convolutions, the last with a sigmoid; the loss is the
# squared error summed over pixels plus β·KL. Images come in flat, (N, 784), and are reshaped
# inside. An image shrinks 28×28 → 14×14 → 7×7 on the way in, so the flatten gives 7·7·64 = 3136
# features, and grows back to 28×28 on the way out.

# %%
from tinyvae import ConvVAE, gradcheck
from tinyvae.engine.layers import Sequential

vae = ConvVAE(rng=0)
print(vae.encoder)
print(vae.decoder)
print("parameters:", vae.num_params())
assert vae.num_params() == 134165
images = np.random.default_rng(0).random((2, 784))
h = images
for layer in vae.encoder.layers:
    h = layer.forward(h)
    print(f"{type(layer).__name__:9s} -> {h.shape}")
to_flatten = Sequential(*vae.encoder.layers[:6])  # reshape, conv, relu, conv, relu, flatten
assert to_flatten.forward(images).shape == (2, 3136)
mu, logvar = vae.encode(images)
assert mu.shape == (2, 2) and vae.decode(mu).shape == (2, 784)

# %% [markdown]
# Its backward is the VAE's (notebook 05) unchanged: only the layers inside `encoder` and `decoder`
# differ, and each conv layer's backward is the im2col product above. Finite differences on a sample
# of every array's entries agree (`tests/test_conv.py::test_conv_vae_matches_torch` checks every
# gradient against torch). One care first: the model starts, as Keras's does, with zero biases, so a
# unit whose window sees only black pixels or padding gets an input of exactly 0, the ReLU's kink, where
# a finite difference straddles two slopes. Small positive biases move every unit off its kink:

# %%
bias_rng = np.random.default_rng(2)
for name, p in vae.params.items():
    if name.endswith(".b"):
        p[...] = bias_rng.uniform(0.05, 0.15, p.shape)
eps = np.random.default_rng(1).standard_normal((2, 2))
errors = gradcheck(vae, images, eps=eps, sample=5)
print(errors.summary())
assert max(errors.values()) < 1e-6
