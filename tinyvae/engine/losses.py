"""Losses that return their value together with the gradients of their inputs.

One reduction for the whole package: **summed over features, averaged over the batch**.
For a batch of B examples with D features::

    loss = (1/B) Σ_b Σ_d ℓ(b, d)

so a batch of one gives the lecture's per-example numbers, and the ``1/B`` reappears in every
gradient. Each function returns ``(loss, d_input...)``; ``loss`` is a 0-d array of the inputs'
namespace (``float(loss)`` brings it home).
"""

from __future__ import annotations

from .backend import Array, namespace
from .checks import check_array, check_unit_interval


def _batch(a: Array, b: Array, who: str, names: tuple[str, str]) -> int:
    check_array(a, who=who, name=names[0], expect=("batch", "features"))
    check_array(b, who=who, name=names[1], expect=tuple(a.shape))
    return a.shape[0]


def mse(x_hat: Array, x: Array) -> tuple[Array, Array]:
    """Squared error summed over features, averaged over the batch (the lecture's "MSE").

    loss = (1/B) Σ (x_hat - x)²;   ∂loss/∂x_hat = (2/B) (x_hat - x).
    x_hat, x: (batch, features). Returns (loss, dx_hat).
    """
    xp = namespace(x_hat, x)
    B = _batch(x_hat, x, "mse", ("x_hat", "x"))
    diff = x_hat - x
    loss = xp.sum(diff * diff) / B
    dx_hat = (2.0 / B) * diff
    return loss, dx_hat


def bce_with_logits_plain(logits: Array, x: Array) -> tuple[Array, Array]:
    """Binary cross-entropy of x against x_hat = σ(logits), from the logits: the equations, one a line.

    With x_hat = σ(l):  -[x log x_hat + (1 - x) log(1 - x_hat)] = softplus(l) - x·l,  softplus(l) = log(1 + e^l).
    loss = (1/B) Σ (softplus(l) - x·l);   ∂loss/∂l = (σ(l) - x) / B = (x_hat - x) / B.
    logits, x: (batch, features). Returns (loss, dlogits). Training runs the fast twin, :func:`bce_with_logits`.
    """
    xp = namespace(logits, x)
    B = _batch(logits, x, "bce_with_logits_plain", ("logits", "x"))
    e = xp.exp(-xp.abs(logits))  # e^-|l|, in (0, 1]: neither line below can overflow, for any l
    x_hat = xp.where(logits >= 0, 1 / (1 + e), e / (1 + e))  # σ(l) = 1/(1 + e^-l) for l ≥ 0, e^l/(1 + e^l) below
    softplus = xp.maximum(logits, 0.0) + xp.log1p(e)  # log(1 + e^l) = max(l, 0) + log(1 + e^-|l|)
    loss = xp.sum(softplus - x * logits) / B
    dlogits = (x_hat - x) / B
    return loss, dlogits


def bce_with_logits(logits: Array, x: Array) -> tuple[Array, Array]:
    """:func:`bce_with_logits_plain` with fewer passes over the (B, D) arrays: what training runs.

    σ(l) = max(e, [l ≥ 0]) / (1 + e) picks 1 or e as ``where`` does (e ≤ 1) at a third of its cost, and
    the gradient is built in place: bit for bit the plain gradient. The loss sums Σ max(l, 0), Σ log(1 + e)
    and Σ x·l (a ``vecdot``, no (B, D) temporary) apart, and takes ``log(1 + e)`` (NumPy vectorizes
    ``log``, not ``log1p``; for e in (0, 1] they differ by less than one rounding of 1 + e): equal to the
    plain loss to rounding (``tests/test_losses.py::test_bce_fast_equals_plain``). For B = 128, D = 784,
    float32: 0.29 ms against 0.67 ms for the plain form, of a 7.4 ms training step (``bench/bench_step.py``:
    CPU time, 15 interleaved rounds, OPENBLAS_CORETYPE=Haswell, 2026-12-06).
    """
    xp = namespace(logits, x)
    B = _batch(logits, x, "bce_with_logits", ("logits", "x"))
    e = xp.exp(-xp.abs(logits))  # e^-|l|, in (0, 1]
    one_plus_e = 1 + e
    softplus_sum = xp.sum(xp.maximum(logits, 0.0)) + xp.sum(xp.log(one_plus_e))  # Σ softplus(l)
    loss = (softplus_sum - xp.sum(xp.vecdot(x, logits))) / B  # Σ x·l, row by row, no (B, D) temporary
    dlogits = xp.maximum(e, xp.astype(logits >= 0, e.dtype)) / one_plus_e  # σ(l) = x_hat ...
    dlogits -= x  # ... - x
    dlogits /= B  # ... / B, in place: one (B, D) array for the gradient
    return loss, dlogits


def bce(x_hat: Array, x: Array) -> tuple[Array, Array]:
    """Binary cross-entropy on probabilities x_hat in [0, 1] (torch's ``F.binary_cross_entropy``).

    loss = -(1/B) Σ [x log x_hat + (1 - x) log(1 - x_hat)], each log clamped at -100 as torch does;
    ∂loss/∂x_hat = (1/B) (x_hat - x) / (x_hat (1 - x_hat)), with the same clamp on the denominator.
    Prefer :func:`bce_with_logits` in a model: it is exact where x_hat saturates at 0 or 1.
    Returns (loss, dx_hat).
    """
    xp = namespace(x_hat, x)
    B = _batch(x_hat, x, "bce", ("x_hat", "x"))
    check_unit_interval(x, who="bce", name="x (the targets)")
    tiny = 3.7e-44  # ≈ e^-100: keeps log away from log(0) and its warning; the clamp does the rest
    log_p = xp.maximum(xp.log(xp.maximum(x_hat, tiny)), -100.0)
    log_1mp = xp.maximum(xp.log(xp.maximum(1 - x_hat, tiny)), -100.0)
    loss = -xp.sum(x * log_p + (1 - x) * log_1mp) / B
    dx_hat = (x_hat - x) / xp.maximum(x_hat * (1 - x_hat), 1e-12) / B
    return loss, dx_hat


def kl_divergence(mu: Array, logvar: Array) -> tuple[Array, Array, Array]:
    """KL( N(mu, σ²) ‖ N(0, I) ) in closed form, summed over latent dims, averaged over the batch.

    kl = -(1/2B) Σ (1 + logvar - mu² - e^logvar)
    ∂kl/∂mu     = mu / B
    ∂kl/∂logvar = (e^logvar - 1) / (2B)
    mu, logvar: (batch, z_dim). Returns (kl, dmu, dlogvar).
    Finite for |logvar| up to about 80 in float32 (e^88 overflows float32).
    """
    xp = namespace(mu, logvar)
    B = _batch(mu, logvar, "kl_divergence", ("mu", "logvar"))
    var = xp.exp(logvar)
    kl = -0.5 * xp.sum(1 + logvar - mu * mu - var) / B
    dmu = mu / B
    dlogvar = 0.5 * (var - 1) / B
    return kl, dmu, dlogvar


def kl_free_bits(mu: Array, logvar: Array, free_bits: float) -> tuple[Array, Array, Array, Array]:
    """The KL term with free bits (Kingma et al., 2016): each latent dimension's KL counts at least λ.

    For a batch of B rows, with KL_ij = -½ (1 + logvar_ij - mu_ij² - e^logvar_ij)::

        kl_j      = (1/B) Σ_i KL_ij                       the batch-mean KL of dimension j
        objective = Σ_j max(λ, kl_j)                      what the loss adds, times β
        ∂objective/∂mu_ij     = [kl_j ≥ λ] · mu_ij / B
        ∂objective/∂logvar_ij = [kl_j ≥ λ] · (e^logvar_ij - 1) / (2B)

    A dimension below λ (kl_j < λ) sits on the flat part of max(λ, ·): its KL term sends it no
    gradient at all, so nothing pushes its KL further towards 0 and the reconstruction is free to put
    information into it, up to λ nats, at no cost. (At kl_j = λ exactly the gradient is kept, as
    torch.clamp does.) λ = 0 gives the plain KL of :func:`kl_divergence` (every kl_j ≥ 0).
    mu, logvar: (batch, z_dim); free_bits: λ ≥ 0, nats per dimension. Returns (objective, kl, dmu,
    dlogvar), kl = Σ_j kl_j the plain KL (for the record: the objective is at least kl).
    """
    xp = namespace(mu, logvar)
    B = _batch(mu, logvar, "kl_free_bits", ("mu", "logvar"))
    var = xp.exp(logvar)
    kl_j = -0.5 * xp.sum(1 + logvar - mu * mu - var, axis=0) / B  # (z_dim,): each dimension's batch mean
    objective = xp.sum(xp.maximum(kl_j, free_bits))  # Σ_j max(λ, kl_j)
    kept = xp.astype(kl_j >= free_bits, mu.dtype)  # (z_dim,): 1 where the KL is above the floor, 0 below it
    dmu = kept * mu / B  # below λ: no gradient from the KL term
    dlogvar = kept * 0.5 * (var - 1) / B
    return objective, xp.sum(kl_j), dmu, dlogvar


def kl_per_dim(mu: Array, logvar: Array) -> Array:
    """Each latent dimension's KL, summed over the rows (not averaged), no gradients: (z_dim,).

    Σ_i -½ (1 + logvar_ij - mu_ij² - e^logvar_ij); divide by the rows for the mean (the diagnostics
    sum it chunk by chunk). Summed over j it is ``kl_divergence_per_example`` summed over the rows.
    """
    xp = namespace(mu, logvar)
    _batch(mu, logvar, "kl_per_dim", ("mu", "logvar"))
    return -0.5 * xp.sum(1 + logvar - mu * mu - xp.exp(logvar), axis=0)


# ---- per-example forms, for evaluation: one value per row, nothing averaged, no gradients -------------
def mse_per_example(x_hat: Array, x: Array) -> Array:
    """Σ_d (x_hat - x)² for each row: (batch,). ``mse`` is the mean of these over the batch."""
    xp = namespace(x_hat, x)
    _batch(x_hat, x, "mse_per_example", ("x_hat", "x"))
    diff = x_hat - x
    return xp.sum(diff * diff, axis=1)


def bce_with_logits_per_example(logits: Array, x: Array) -> Array:
    """Σ_d [softplus(l) - x·l] for each row: (batch,). ``bce_with_logits`` is their mean over the batch.

    softplus(l) = max(l, 0) + log(1 + e^-|l|), finite for any l, as in :func:`bce_with_logits`.
    """
    xp = namespace(logits, x)
    _batch(logits, x, "bce_with_logits_per_example", ("logits", "x"))
    softplus = xp.maximum(logits, 0.0) + xp.log(1 + xp.exp(-xp.abs(logits)))
    return xp.sum(softplus - x * logits, axis=1)


def kl_divergence_per_example(mu: Array, logvar: Array) -> Array:
    """KL( N(mu, σ²) ‖ N(0, I) ) for each row: -½ Σ_j (1 + logvar - mu² - e^logvar), (batch,).

    ``kl_divergence`` is their mean over the batch.
    """
    xp = namespace(mu, logvar)
    _batch(mu, logvar, "kl_divergence_per_example", ("mu", "logvar"))
    return -0.5 * xp.sum(1 + logvar - mu * mu - xp.exp(logvar), axis=1)
