"""The model protocol, written once: what every tinyvae model (VAE, AE, CVAE, ConvVAE) offers.

x is (batch, x_dim) in the model's namespace and dtype; y is integer labels (batch,) or None; z is
(batch, z_dim). A conditional model (``n_classes > 0``, the CVAE) requires y wherever it takes one;
an unconditional model (``n_classes == 0``) refuses any y that is not None. The two refusals are
:class:`LabelsRequired` and :class:`LabelsRefused` (both ValueError). Callers never ask which
kind of model they hold: they pass ``model.labels_for(y)`` (y or None, as the model wants).

- ``loss_and_grads(x, y=None, *, eps=None, rng=None) -> Loss``: one batch's loss (batch means) and
  ``grads`` filled with ∂loss/∂every parameter. eps (batch, z_dim) fixes the noise; otherwise it is
  drawn from ``rng`` (default: the model's own generator).
- ``loss_terms(x, y=None, *, eps=None, rng=None) -> (recon, kl)``: the same forward, per example
  ((batch,) each), no backward, gradients untouched: what evaluation sums.
- ``encode(x, y=None) -> (mu, logvar)``, every model: q(z|x) = N(mu, diag e^logvar), (batch, z_dim) each.
  Without a posterior (``has_posterior`` False: the AE) mu is the code and logvar None, a point mass
  (None, not -inf: a KL or log q(z|x) computed from it fails rather than giving inf or nan).
- ``embed(x, y=None)``: ``encode(x, y)[0]``, the latent point drawn in plots (mu, the AE's code).
- ``encoder_activations(x, y=None)``: ``{"encoder.i": (batch, ...)}``, the encoder's hidden units.
- ``decode_logits(z, y=None)``: the decoder's output before ``output_act``; ``decode`` applies it.
- ``reconstruct(x, y=None)``: decode(embed(x)) with the same labels (no sampling).
- ``sample(n, rng=None, *, label=None)``: n images decoded from z ~ N(0, I) (a CVAE cycles the labels
  0..C-1, or draws them all with ``label``).
- ``prior_labels(n)``: the labels ``sample`` decodes with (None for unconditional models).
- ``config()``: the constructor's arguments (``registry.build_model`` inverts it).
- ``params``/``grads``: flat dicts named ``"{part}.{name}"`` (``"encoder.0.W"``, ``"mu.b"``), the names
  torch's ``state_dict`` would use; ``parts()`` names the layers they come from.
- ``dtype``, ``xp``, ``device``: where and in what the parameters live; ``to(xp, device)`` moves them.
- ``has_posterior``: True when ``encode`` gives a distribution q(z|x) (ELBO and IWAE are defined);
  ``conditional``: True when it takes labels; ``name``: "VAE", "AE", "CVAE", "conv VAE", from those.
- ``recon_loss``: "bce" or "mse", the reconstruction term (config key ``"loss"``).

Validation happens here, at the door: constructors check their arguments by name (``check_config``),
every forward checks x, y, z and eps against the parameters. ``check_x`` is two checks: its shape, dtype
and place (``check_x_shape``, every call) and its values (``check_x_values``, which reads them all).
``loss_and_grads`` makes both, then runs ``_loss_and_grads``, the model's forward and backward, which
checks x's shape only: ``train_epoch`` checks the values of the whole training set once per epoch and
calls ``_loss_and_grads`` on its batches, slices of it, without reading them again.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Literal

import numpy as np

from ..engine import backend
from ..engine.backend import Array
from ..engine.checks import check_array, check_finite, check_unit_interval
from ..engine.layers import Layer, Sequential
from ..engine.losses import bce_with_logits, bce_with_logits_per_example, mse, mse_per_example
from . import ranges  # the range of every value, which the checkpoint's schema reads too
from .loss_names import Loss  # (models.base.Loss, as before)

LossName = Literal["bce", "mse"]  # ranges.LOSSES, spelled for the type checker (which cannot read a tuple)
DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class LabelsRefused(ValueError):
    """An unconditional model was given labels y."""


class LabelsRequired(ValueError):
    """A conditional model was called without its labels y."""


class Parts:
    """Named layers: ``parts()`` names them, ``params``/``grads`` are their arrays by ``"{part}.{name}"``
    (views, not copies): what an optimizer steps. Every model is one; so is the lecture's network."""

    def parts(self) -> dict[str, Layer]:
        raise NotImplementedError

    @property
    def params(self) -> dict[str, Array]:
        return {f"{p}.{k}": v for p, layer in self.parts().items() for k, v in layer.params.items()}

    @property
    def grads(self) -> dict[str, Array]:
        return {f"{p}.{k}": v for p, layer in self.parts().items() for k, v in layer.grads.items()}


class Model(Parts):
    """Base class: subclasses build their layers in ``__init__``, list them in ``parts`` and follow the
    protocol above. ``Model`` itself holds what does not depend on the kind of model."""

    rng: np.random.Generator
    n_classes: int = 0  # labels the model takes; 0: unconditional, refuses labels
    has_posterior: bool = False  # encode gives (mu, logvar) of q(z|x)
    recon_loss: str = "bce"
    beta: float = 0.0
    free_bits: float = 0.0  # λ of the free-bits KL (0: the plain KL); see ``engine.losses.kl_free_bits``
    x_dim: int
    z_dim: int
    output_act: Layer
    encoder: Sequential
    decoder: Layer

    def config(self) -> dict[str, Any]:
        raise NotImplementedError

    def describe(self) -> str:
        """How error messages name the model, e.g. ``VAE(784 → [400] → 20)``."""
        return f"{type(self).__name__}({self.x_dim} → {getattr(self, 'hidden_dims', '…')} → {self.z_dim})"

    # ---- parameters: where they live -------------------------------------------------------
    @property
    def ref(self) -> Array:
        """One parameter array: what inputs are compared with (namespace, device, dtype)."""
        return next(iter(self.params.values()))

    @property
    def dtype(self) -> Any:
        return self.ref.dtype

    @property
    def xp(self) -> ModuleType:
        """The array namespace the parameters live in."""
        return backend.namespace(self.ref)

    @property
    def device(self) -> Any:
        """The device the parameters live on (``"cpu"`` for NumPy)."""
        return backend.device(self.ref)

    @property
    def conditional(self) -> bool:
        """True when the model takes labels (``n_classes > 0``)."""
        return self.n_classes > 0

    @property
    def name(self) -> str:
        """What titles call the model, from what it has: "VAE", "AE", "CVAE", "conv VAE"."""
        name = ("C" if self.conditional else "") + ("VAE" if self.has_posterior else "AE")
        return f"conv {name}" if self.config().get("arch") == "conv" else name

    def asarray(self, a: Any) -> Array:
        """Host data ``a`` as an array of the parameters' namespace, dtype and device."""
        return backend.asarray_like(backend.to_numpy(a) if backend.is_array(a) else np.asarray(a), self.ref)

    def to(self, xp: ModuleType, device: Any = None) -> "Model":
        """Move every parameter and gradient to namespace ``xp`` (on ``device``); returns self."""
        if not isinstance(xp, ModuleType) or not hasattr(xp, "asarray"):
            raise TypeError(f"{type(self).__name__}.to expects an array namespace module (numpy, cupy, "
                            f"array_api_strict, ...), got {xp!r}; e.g. import numpy as np; model.to(np)")
        for layer in self.parts().values():
            layer.to(xp, device)
        return self

    def load_params(self, values: dict[str, Any]) -> None:
        """Copy ``values`` (host or device arrays, same names and shapes) into the parameters, in place."""
        params = self.params
        missing, extra = set(params) - set(values), set(values) - set(params)
        if missing or extra:
            raise ValueError(
                f"{type(self).__name__} parameters do not match: missing {sorted(missing)}, unexpected {sorted(extra)}"
            )
        for k, p in params.items():
            v = values[k]
            if tuple(v.shape) != tuple(p.shape):
                raise ValueError(f"parameter {k}: expected shape {tuple(p.shape)}, got {tuple(v.shape)}")
            p[...] = backend.asarray_like(backend.to_numpy(v), p)

    def num_params(self) -> int:
        return sum(int(np.prod(p.shape)) for p in self.params.values())

    # ---- labels: the one place that knows whether the model takes them ----------------------
    def labels_for(self, y: Any) -> Any:
        """The labels to pass this model for data labelled ``y``: y itself if it takes labels, else None."""
        return y if self.conditional else None

    def prior_labels(self, n: int) -> np.ndarray | None:
        """The labels ``sample(n)`` decodes with: 0, 1, ..., C-1, 0, 1, ... (None: unconditional)."""
        return np.arange(int(n)) % self.n_classes if self.conditional else None

    def check_labels(self, y: Any, batch: int | None = None) -> Array | None:
        """Refuse y unless it fits the model; returns one-hot labels (batch, n_classes), or None."""
        if not self.conditional:
            if y is not None:
                raise LabelsRefused(f"{type(self).__name__} is unconditional and takes no labels y; pass y=None")
            return None
        return self.onehot(y, batch)

    def onehot(self, y: Any, batch: int | None = None) -> Array:
        """One-hot rows (batch, n_classes) for labels y (conditional models); :class:`LabelsRequired` if y is None."""
        raise NotImplementedError

    # ---- inputs: checked once, where they enter ----------------------------------------------
    def check_x(self, x: Array) -> None:
        """Refuse x unless it is (batch, x_dim) with batch >= 1, where and of the dtype the parameters
        are (:meth:`check_x_shape`), finite, and in [0, 1] for BCE (:meth:`check_x_values`)."""
        self.check_x_shape(x)
        self.check_x_values(x)

    def check_x_shape(self, x: Array) -> None:
        """Refuse x unless it is (batch, x_dim) with batch >= 1, where and of the dtype the parameters
        are; its values are not read (every forward makes this check, whatever x is)."""
        who = self.describe()
        check_array(x, who=who, expect=("batch", self.x_dim), like=self.ref)
        if x.shape[0] == 0:
            raise ValueError(f"{who} got an empty batch, x of shape {tuple(x.shape)}: pass at least one image")

    def check_x_values(self, x: Array) -> None:
        """Refuse x (its shape checked) unless it is finite, and in [0, 1] for BCE: reads every value."""
        if self.recon_loss == "bce":
            check_unit_interval(x, who=self.describe())  # in [0, 1], hence finite
        else:
            check_finite(x, who=self.describe())

    def check_latent(self, z: Array) -> None:
        """Refuse z unless it is (batch, z_dim), where and of the dtype the parameters are."""
        check_array(z, who=f"{type(self).__name__}.decode", name="z", expect=("batch", self.z_dim), like=self.ref)

    def check_eps(self, eps: Array | None, batch: int) -> None:
        """Refuse fixed noise eps unless it is (batch, z_dim), like the parameters, and finite."""
        if eps is None:
            return
        who = f"{type(self).__name__}.loss_and_grads"
        check_array(eps, who=who, name="eps", expect=(batch, self.z_dim), like=self.ref)
        check_finite(eps, who=who, name="eps")

    def _noise_rng(self, rng: np.random.Generator | None) -> np.random.Generator:
        return self.rng if rng is None else rng

    # ---- the loss and its gradients: x checked whole, then the model's forward and backward -------
    def loss_and_grads(self, x: Array, y: Any = None, *, eps: Array | None = None,
                       rng: np.random.Generator | None = None, beta: float | None = None) -> Loss:
        """One batch's loss; fills ``grads`` with ∂loss/∂every parameter (see the protocol above).

        x (batch, x_dim) is checked whole here, its values read (:meth:`check_x`); then
        :meth:`_loss_and_grads`, the model's own forward and backward, does the work.
        """
        self.check_x(x)
        return self._loss_and_grads(x, y, eps=eps, rng=rng, beta=beta)

    def _loss_and_grads(self, x: Array, y: Any = None, *, eps: Array | None = None,
                        rng: np.random.Generator | None = None, beta: float | None = None) -> Loss:
        """:meth:`loss_and_grads` for an x whose values were checked already: its shape, dtype and place
        are checked (:meth:`check_x_shape`), its values not read again. For the slices of a data set
        checked once (``train_epoch``)."""
        raise NotImplementedError

    # ---- the decoder's end: shared by every model ----------------------------------------------
    def decode_logits(self, z: Array, y: Any = None) -> Array:
        """The decoder's output before ``output_act``, (batch, x_dim), for z (batch, z_dim); a
        conditional model joins its labels to z first (``CVAE``)."""
        self.check_latent(z)
        self.check_labels(y)
        return self.decoder.forward(z)

    def decode(self, z: Array, y: Any = None) -> Array:
        """x_hat (batch, x_dim) = output_act(decoder(z)) for z (batch, z_dim); z must be finite, like eps."""
        self.check_latent(z)
        check_finite(z, who=f"{type(self).__name__}.decode", name="z")
        return self.output_act.forward(self.decode_logits(z, y))

    def encode(self, x: Array, y: Any = None) -> tuple[Array, Array | None]:
        """(mu, logvar), each (batch, z_dim), for x (batch, x_dim); logvar None without a posterior.
        x is checked whole (its values read), then each model's ``_encode`` runs the forward."""
        self.check_x(x)
        return self._encode(x, y)

    def _encode(self, x: Array, y: Any = None) -> tuple[Array, Array | None]:
        """``encode`` for an x whose values were checked: its shape is checked, its values not read."""
        raise NotImplementedError

    def embed(self, x: Array, y: Any = None) -> Array:
        """The latent point of each x drawn in plots, (batch, z_dim): mu (the AE: its code)."""
        return self.encode(x, y)[0]

    def encoder_activations(self, x: Array, y: Any = None) -> dict[str, Array]:
        """``{"encoder.i": (batch, ...)}``: each encoder activation i after a Linear or a convolution, for x."""
        self.check_x(x)
        c = self.check_labels(y, x.shape[0])  # (batch, n_classes) one-hot, or None
        h = x if c is None else backend.namespace(x).concat((x, c), axis=1)
        layers, out = self.encoder.layers, {}
        for i, layer in enumerate(layers):
            h = layer.forward(h)
            if not layer.params and i > 0 and layers[i - 1].params:  # an activation after Linear/Conv
                out[f"encoder.{i}"] = h
        return out

    def reconstruct(self, x: Array, y: Any = None) -> Array:
        """x_hat through the latent means (no sampling): decode(embed(x, y), y)."""
        return self.decode(self.embed(x, y), y)

    def sample(self, n: int, rng: np.random.Generator | None = None, *, label: int | None = None) -> Array:
        """n images decoded from z ~ N(0, I): (n, x_dim). Labels: ``prior_labels(n)``, or all ``label``
        (conditional models only; an unconditional one refuses a label with :class:`LabelsRefused`)."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"{type(self).__name__}.sample: n must be a non-negative integer, got {n!r}")
        y = self.prior_labels(n) if label is None else np.full(int(n), label)
        self.check_labels(y, int(n))  # before drawing: a refused label consumes no noise
        z = backend.asarray_like(self._noise_rng(rng).standard_normal((int(n), self.z_dim)), self.ref)
        return self.decode(z, y)

    def reconstruction_loss(self, logits: Array, x: Array) -> tuple[Array, Array]:
        """(recon, dlogits): BCE from the logits (σ and BCE together: ∂recon/∂logits = (x_hat - x) / B);
        MSE through the output layer and back: dlogits = output_act.backward(∂recon/∂x_hat)."""
        if self.recon_loss == "bce":
            return bce_with_logits(logits, x)
        x_hat = self.output_act.forward(logits)
        recon, dx_hat = mse(x_hat, x)
        return recon, self.output_act.backward(dx_hat)

    def reconstruction_per_example(self, logits: Array, x: Array) -> Array:
        """The reconstruction term of each row, (batch,): ``reconstruction_loss`` before the batch mean."""
        if self.recon_loss == "bce":
            return bce_with_logits_per_example(logits, x)
        return mse_per_example(self.output_act.forward(logits), x)


# ---- validation of constructor arguments, by their names --------------------------------------
def check_dtype(dtype: Any) -> Any:
    """The dtype if it is float32 or float64 (integer weights would all round to zero)."""
    try:
        dt = np.dtype(dtype)
    except TypeError as e:
        raise ValueError(f"dtype must be np.float32 or np.float64, got {dtype!r}") from e
    if dt not in DTYPES:
        raise ValueError(f"dtype must be np.float32 or np.float64, got {dt}")
    return dt


def check_config(x_dim: Any, hidden_dims: Any, z_dim: Any, loss: Any, beta: Any, output: Any,
                 dtype: Any = np.float64, n_classes: int = 0) -> tuple[int, list[int], int, float]:
    """Refuse a model configuration that cannot work, naming the argument; returns the checked
    (x_dim, hidden_dims, z_dim, beta). Every number is checked against its range in ``ranges.ARCHITECTURE``;
    the size counts ``n_classes`` label columns (a CVAE's, checked already) where there are any."""
    ranges.check_choice("loss", loss)
    ranges.check_choice("output", output)
    if loss == "bce" and output != "sigmoid":
        raise ValueError("loss='bce' needs output='sigmoid' (BCE compares probabilities)")
    hidden = ranges.check_widths("hidden_dims", hidden_dims)
    check_dtype(dtype)
    x_dim, z_dim = ranges.check("x_dim", x_dim), ranges.check("z_dim", z_dim)
    labels = {"model": "cvae", "n_classes": n_classes} if n_classes else {"model": "vae"}
    check_size({**labels, "x_dim": x_dim, "hidden_dims": hidden, "z_dim": z_dim})
    return x_dim, hidden, z_dim, check_beta(beta)


def check_size(cfg: dict[str, Any]) -> None:
    """Refuse, before a weight is allocated, an architecture ``cfg`` (``model.config()``'s form, its widths
    checked) of more than ``size.MAX_PARAMS`` parameters: the limit of the checkpoint reader too."""
    ranges.check_param_count(cfg)


def check_beta(beta: Any) -> float:
    """β as a float if it is a finite number in its range (``ranges.ARCHITECTURE["beta"]``: 0 to 1e6)."""
    return ranges.check("beta", beta)


def check_free_bits(free_bits: Any) -> float:
    """λ of the free-bits KL as a float if it is in its range (nats per latent dimension, 0 to 1e6)."""
    return ranges.check("free_bits", free_bits)
