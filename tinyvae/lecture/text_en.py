"""The worked example's words in English: headings, labels, one explanation per step, the errata rows.

Every language's table has the same keys (``tests/test_lecture_text.py`` checks it) and the same
numbers in the same order; the numbers themselves are filled in by :mod:`.layout`.
"""

LANGUAGE = "English"

TEXT: dict[str, str] = {
    "title_lecture": "The lecture's worked example (lecture mode: σ̃ = round(σ, 2), as the lecture did)",
    "title_exact": "The lecture's worked example (exact mode: σ = exp(½·log σ²) in full precision)",
    "given": "Given in the lecture:",
    "reconstructed": "Reconstructed [R] (missing from the lecture's text; they reproduce its printed numbers):",
    "forward": "FORWARD",
    "backward": "BACKWARD (beyond the lecture: L = recon + KL, batch size 1)",
    "backward_lecture": ("lecture mode: the gradients of L = recon + KL (ii), the loss of the Gaussian z was drawn "
                         "from, with respect to log σ̃²; the gradient passes through the rounding unchanged "
                         "(straight-through: the rounding's own derivative is 0 almost everywhere), so the "
                         "log-variance head receives ∂L/∂log σ̃² as its ∂L/∂log σ²"),
    "adam": ("ONE ADAM STEP (lr = {lr}, betas 0.9, 0.999, eps 1e-8; on the first step m̂ = g, v̂ = g², "
             "so each weight moves by about lr against its gradient's sign)"),
    "loss_change": "loss {before} -> {after}",
    "lecture_value": "lecture: {value} {mark}",
    "mark_ok": "✓",
    "mark_rounded": "≈, its σ was rounded",
    "mark_wrong": "✗, see the errata",
    "errata_title": "ERRATA (document 004; each number computed by tinyvae.lecture.errata.errata)",
    "errata_what": "what",
    "errata_line": "line",
    "errata_lecture": "lecture",
    "errata_fixed": "(i) its formula, fixed",
    "errata_sampled": "(ii) N(μ, σ̃²)",
    "errata_exact": "(iii) exact σ",
    "errata_note": "- {what} (line {line}: '{quote}'): {note}",
}

#: One explanation per step name (a step without an entry has none).
NOTES: dict[str, str] = {
    "h": "the encoder: one Linear layer, no activation; h is its hidden layer",
    "eps": "not printed; implied by the lecture's z, μ and σ̃",
    "logvar": "the reconstructed head [R]: one of many that give the printed log σ²",
    "std_exact": "the standard deviation before the lecture's rounding",
    "std": "the lecture rounds σ to two decimals before it samples z",
    "z": "the reparameterization: the latent variable z, a sample of N(μ, σ̃²), as a function of μ and σ̃ with ε fixed",
    "z_exact": "the reparameterization: the latent variable z, a sample of N(μ, σ²), as a function of μ and σ with ε fixed",
    "x_hat": "the reconstructed decoder [R], linear with no activation: it gives the printed x̂ exactly",
    "x_hat_exact": ("the reconstructed decoder [R], linear with no activation; with σ unrounded, z and so x̂ "
                    "move slightly from the printed x̂ (lecture mode gives that exactly)"),
    "recon_loss": "the reconstruction loss: the squared errors, then their sum",
    "kl_mixed": ("the lecture's own formula and numbers, its sign and arithmetic fixed: unrounded log σ² "
                 "beside the rounded σ̃²; it mixes two Gaussians, and none has both"),
    "logvar_rounded": "the log-variance of the Gaussian the lecture sampled from",
    "kl": "the KL divergence of the Gaussian z was drawn from, against the prior N(0, 1); the gradients below are its",
    "kl_exact": "the exact KL, σ unrounded: what --exact computes",
    "total": "the total loss, the lecture's last line",
    "dW_d": "outer product",
    "dmu_recon": "∂z/∂μ = 1",
    "dlogvar_recon": "∂σ/∂log σ² = ½σ",
    "dmu": "two paths into μ: through z and through the KL",
    "dlogvar": "two paths into the log-variance: through z and through the KL",
    "dh": "h feeds both heads, so their gradients add",
    "dx": "x as the encoder's input; as the target of the reconstruction, x is a constant",
    "adam_new": "Adam's first step",
    "total_after": "after the step: same x, same ε, σ rounded to σ̃ and KL (ii), as before the step",
    "total_after_exact": "after the step: same x, same ε, σ unrounded, as before the step",
}

#: Errata rows by key: (what, why).
ERRATA: dict[str, tuple[str, str]] = {
    "sign": ("sign of the closed-form KL",
             "the closed form is -½·Σ(…); with +½ the lecture's own brackets give a negative KL, which no KL is"),
    "mix": ("log σ² and σ̃² mixed",
            "unrounded log σ² beside rounded σ̃²: the line mixes two Gaussians, and none has both"),
    "bracket1": ("first bracket, 1 + log σ₁² - μ₁²",
                 "0.9964 is 1 - 0.002 - 0.0016: the decimal of 0.02 dropped"),
    "var1": ("first bracket, σ₁²", "0.9817 is 0.9801 + 0.0016 = σ̃₁² + μ₁²: μ₁² counted a second time"),
    "var2": ("second bracket, σ₂²", "1.0408 is 1.0404 + 0.0004 = σ̃₂² + μ₂²: μ₂² counted a second time"),
    "sum": ("sum of the brackets", "the brackets are -0.0017 and -0.0008, not 0.0147 and -0.0012"),
    "kl": ("KL divergence", "(i) is the lecture's line corrected, (ii) the KL of what it sampled, (iii) exact; "
           "at lines 643 and 653 the lecture repeats its 0.00675"),
    "total": ("total loss", "the reconstruction loss 1.485605 is right; the KL added to it is not "
              "(the same total is repeated at lines 645 and 655)"),
    "log_mu2": ("symbol for the log-variance", "a typo: the head outputs log σ², not log(μ²)"),
    "psi": ("symbol for the mean", "the same numbers, labelled μ further on"),
    "o_of_x": ("KL definition", "notation: the second distribution is Q"),
}
