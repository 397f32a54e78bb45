"""What gradcheck's rounding floor assumes, shown: the floor scales with |f|, so a loss near 0 made of
terms of size 1 (the KL at mu = logvar ≈ 0) raises a false alarm, which the same check away from the
minimum does not (the limit stated in ``tinyvae/engine/gradcheck.py``'s docstring)."""

import numpy as np

from tinyvae.engine.gradcheck import EXPECTED_REL_ERROR, _central_differences, worst_error
from tinyvae.engine.losses import kl_divergence


def _kl_dlogvar_error(mu0: float, logvar0: float) -> tuple[float, float, float]:
    mu, logvar = np.full((1, 1), mu0), np.full((1, 1), logvar0)
    dlogvar = kl_divergence(mu, logvar)[2].ravel()
    n, noise = _central_differences(lambda: float(kl_divergence(mu, logvar)[0]), logvar, np.arange(1), 1e-6)
    return float(dlogvar[0]), float(n[0]), worst_error(dlogvar, n, noise)


def test_the_floor_is_too_low_at_a_minimum_made_of_large_terms():
    analytic, numeric, error = _kl_dlogvar_error(2.7e-12, 2.7e-12)
    assert round(analytic, 14) == 1.35e-12 and round(numeric, 12) == 2.8e-11
    assert error > EXPECTED_REL_ERROR  # a correct gradient reported wrong: 2.6e-3
    assert round(error, 4) == 0.0026


def test_away_from_the_minimum_the_same_check_passes():
    assert _kl_dlogvar_error(0.3, -0.2)[2] == 0.0
