"""The lecture's worked example: its printed numbers, the corrected KL, every gradient against torch.

Lecture mode is checked against the digits the lecture printed; exact mode against the same
arithmetic written here in plain NumPy; the backward pass and the Adam step against torch autograd
and torch.optim.Adam (float64).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tinyvae import VAE
from tinyvae import worked_example as we
from tinyvae.cli import main

ROOT = Path(__file__).resolve().parent.parent
RTOL = 1e-10

W = {**we.GIVEN, **we.RECONSTRUCTED}
X = np.array([0.5, 1.0, -0.5])
EPS = np.array([0.5, -0.5])

GRADS = ["dx_hat", "dW_d", "db_d", "dz", "dmu_recon", "dlogvar_recon", "dmu_kl", "dlogvar_kl", "dmu", "dlogvar",
         "dW_mu", "db_mu", "dW_logvar", "db_logvar", "dh", "dW_e", "db_e", "dx"]


@pytest.fixture(scope="module", params=[False, True], ids=["lecture", "exact"])
def ex(request) -> we.WorkedExample:
    return we.run(exact=request.param)


@pytest.fixture(scope="module")
def lec() -> we.WorkedExample:
    return we.run()


@pytest.fixture(scope="module")
def ext() -> we.WorkedExample:
    return we.run(exact=True)


# ---- lecture mode: the lecture's printed numbers --------------------------------------------------
@pytest.mark.parametrize("name", ["h", "mu", "logvar", "std", "z", "x_hat", "recon_loss"])
def test_lecture_mode_reproduces_printed_numbers(lec, name):
    printed = np.asarray(we.LECTURE[name], dtype=float)
    d = we.decimals(printed)
    value = np.asarray(lec[name], dtype=float)
    np.testing.assert_array_equal(np.round(value, d), printed)  # to the printed digits
    np.testing.assert_allclose(value, printed, rtol=0, atol=1e-14)  # and in fact to float rounding


def test_lecture_mode_values_exactly():
    ex = we.run()
    np.testing.assert_allclose(ex["h"], [0.2, 0.6], rtol=0, atol=1e-15)
    np.testing.assert_allclose(ex["mu"], [-0.04, 0.02], rtol=0, atol=1e-15)
    np.testing.assert_allclose(ex["std"], [0.99, 1.02], rtol=0, atol=1e-15)
    np.testing.assert_allclose(ex["z"], [0.455, -0.49], rtol=0, atol=1e-15)
    np.testing.assert_allclose(ex["x_hat"], [0.044, 0.137, 0.23], rtol=0, atol=1e-15)
    assert ex["recon_loss"] == pytest.approx(1.485605, rel=0, abs=1e-14)


def test_recon_line_per_term(lec):
    """The lecture's own line: 0.207936 + 0.744769 + 0.5329."""
    assert lec.step("recon_loss").lines[1] == "0.207936 + 0.744769 + 0.5329"


def test_kl_line_squares_worked_out(lec):
    """The lecture's lines 614-616, sign fixed: the squares, then the brackets."""
    assert lec.step("kl_mixed").lines == (
        "-½·[(1 + (-0.02) - (-0.04)² - 0.99²) + (1 + 0.04 - 0.02² - 1.02²)]",
        "-½·[(1 - 0.02 - 0.0016 - 0.9801) + (1 + 0.04 - 0.0004 - 1.0404)]",
        "-½·[(-0.0017) + (-0.0008)]")


def test_sigma_is_rounded_directly(lec):
    """σ̃ = round(σ, 2) is a step of its own; no log-variance shift device."""
    np.testing.assert_array_equal(lec["std"], np.round(np.exp(0.5 * np.array([-0.02, 0.04])), 2))
    assert "logvar_shift" not in lec and lec.step("std").formula == "σ̃ = round(σ, 2)"


def test_eps_is_implied_by_the_lecture():
    np.testing.assert_allclose(we.implied_eps(), EPS, rtol=0, atol=1e-15)


def test_reconstructed_logvar_head_gives_the_lecture_logvar():
    np.testing.assert_allclose(W["W_logvar"] @ np.array([0.2, 0.6]) + W["b_logvar"], [-0.02, 0.04], atol=1e-15)


def test_a_wrong_reconstruction_is_refused(monkeypatch):
    monkeypatch.setitem(we.RECONSTRUCTED, "W_d", np.array([[0.2, 0.3], [0.4, 0.5], [0.6, 0.8]]))
    with pytest.raises(RuntimeError, match="x_hat"):
        we.run()


def test_three_kl_figures():
    """(i) the lecture's mix, sign fixed; (ii) the KL of N(μ, σ̃²); (iii) the exact KL."""
    mu, logvar, s = np.array([-0.04, 0.02]), np.array([-0.02, 0.04]), np.array([0.99, 1.02])
    ex = we.run()
    assert ex["kl_mixed"] == pytest.approx(-0.5 * np.sum(1 + logvar - mu**2 - s**2), rel=1e-12)
    assert ex["kl_mixed"] == pytest.approx(0.00125, rel=0, abs=1e-15)
    np.testing.assert_allclose(ex["logvar_rounded"], 2 * np.log(s), rtol=1e-15)
    sampled = -0.5 * np.sum(1 + 2 * np.log(s) - mu**2 - s**2)
    assert ex["kl"] == pytest.approx(sampled, rel=1e-13)
    assert round(ex["kl"], 10) == 0.0014977086
    assert round(ex["kl_exact"], 8) == 0.00150472
    assert ex["total"] == pytest.approx(1.485605 + sampled, rel=0, abs=1e-14)


def test_the_lecture_mix_is_no_kl():
    """(i) pairs log σ² = -0.02 with σ̃² = 0.9801: no σ has both; and the mix can go negative."""
    assert np.exp(-0.02) != pytest.approx(0.9801, abs=1e-5) and 2 * np.log(0.99) != pytest.approx(-0.02, abs=1e-5)
    logvar = np.array([0.009])  # σ = 1.0045, σ̃ = 1.00
    mixed = we.kl_lecture_formula(np.zeros(1), logvar, np.round(np.exp(0.5 * logvar), 2))
    assert mixed == pytest.approx(-0.0045, abs=1e-15)  # a negative "KL"


# ---- exact mode: against plain float64 arithmetic -------------------------------------------------
def plain_forward() -> dict[str, object]:
    h = W["W_e"] @ X + W["b_e"]
    mu = W["W_mu"] @ h + W["b_mu"]
    logvar = W["W_logvar"] @ h + W["b_logvar"]
    std = np.exp(0.5 * logvar)
    z = mu + std * EPS
    x_hat = W["W_d"] @ z + W["b_d"]
    recon = float(np.sum((X - x_hat) ** 2))
    kl = float(-0.5 * np.sum(1 + logvar - mu**2 - np.exp(logvar)))
    return dict(h=h, mu=mu, logvar=logvar, std=std, eps=EPS, z=z, x_hat=x_hat, recon_loss=recon, kl=kl,
                total=recon + kl)


@pytest.mark.parametrize("name", ["h", "mu", "logvar", "std", "eps", "z", "x_hat", "recon_loss", "kl", "total"])
def test_exact_mode_matches_plain_numpy(ext, name):
    np.testing.assert_allclose(ext[name], plain_forward()[name], rtol=0, atol=1e-12)


def test_exact_kl_and_total(ext):
    assert round(ext["kl"], 8) == 0.00150472
    assert round(ext["total"], 5) == 1.48712
    assert ext["std"][0] != 0.99  # really unrounded


def test_exact_mode_agrees_with_the_library_vae(ext):
    """The same numbers through tinyvae.VAE (identity activations, a decoder whose first layer is I)."""
    vae = VAE(3, [2], 2, loss="mse", output="identity", activation="identity", rng=0)
    vae.load_params({"encoder.0.W": W["W_e"], "encoder.0.b": W["b_e"], "mu.W": W["W_mu"], "mu.b": W["b_mu"],
                     "logvar.W": W["W_logvar"], "logvar.b": W["b_logvar"], "decoder.0.W": np.eye(2),
                     "decoder.0.b": np.zeros(2), "decoder.2.W": W["W_d"], "decoder.2.b": W["b_d"]})
    loss = vae.loss_and_grads(X[None, :], eps=EPS[None, :])
    assert loss.total == pytest.approx(ext["total"], rel=1e-14)
    assert loss.kl == pytest.approx(ext["kl"], rel=1e-13)
    g = vae.grads
    for ours, theirs in [("dW_e", "encoder.0.W"), ("db_e", "encoder.0.b"), ("dW_mu", "mu.W"), ("db_mu", "mu.b"),
                         ("dW_logvar", "logvar.W"), ("db_logvar", "logvar.b"), ("dW_d", "decoder.2.W"),
                         ("db_d", "decoder.2.b")]:
        np.testing.assert_allclose(ext[ours], g[theirs], rtol=RTOL, atol=1e-15)


# ---- backward: every gradient against torch autograd ---------------------------------------------
def torch_reference(exact: bool) -> dict[str, np.ndarray]:
    """The same example in torch (float64); lecture mode adds the constant c = 2 ln round(σ, 2) - log σ².

    So lecture mode's loss is recon + KL(N(μ, σ̃²) ‖ N(0, 1)), differentiated with the rounding passed through.
    """
    T = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in W.items()}
    x_in = torch.tensor(X, dtype=torch.float64, requires_grad=True)  # x as the encoder's input: dx
    x = torch.tensor(X, dtype=torch.float64)  # x as the reconstruction's target (a constant)
    eps = torch.tensor(EPS, dtype=torch.float64)
    h = T["W_e"] @ x_in + T["b_e"]
    mu = T["W_mu"] @ h + T["b_mu"]
    logvar = T["W_logvar"] @ h + T["b_logvar"]
    if exact:
        c = torch.zeros(2, dtype=torch.float64)
    else:
        c = (2 * torch.log(torch.round(torch.exp(0.5 * logvar), decimals=2)) - logvar).detach()
    std = torch.exp(0.5 * (logvar + c))
    z = mu + std * eps
    x_hat = T["W_d"] @ z + T["b_d"]
    recon = torch.sum((x_hat - x) ** 2)
    kl = -0.5 * torch.sum(1 + (logvar + c) - mu**2 - std**2)
    total = recon + kl
    inter = {"x_hat": x_hat, "z": z, "mu": mu, "logvar": logvar, "h": h}
    partial = {
        "dmu_recon": torch.autograd.grad(recon, mu, retain_graph=True)[0],
        "dlogvar_recon": torch.autograd.grad(recon, logvar, retain_graph=True)[0],
        "dmu_kl": torch.autograd.grad(kl, mu, retain_graph=True)[0],
        "dlogvar_kl": torch.autograd.grad(kl, logvar, retain_graph=True)[0],
    }
    grads = torch.autograd.grad(total, [*inter.values(), *T.values(), x_in])
    out = {f"d{k}": g for k, g in zip([*inter, *T, "x"], grads)}
    out.update(partial)
    out["total"] = total.detach()
    return {k: v.detach().numpy() for k, v in out.items()}


@pytest.mark.parametrize("exact", [False, True], ids=["lecture", "exact"])
@pytest.mark.parametrize("name", GRADS)
def test_gradient_matches_torch(exact, name):
    ref = torch_reference(exact)
    ex = we.run(exact=exact)
    assert ex[name].shape == ref[name].shape
    np.testing.assert_allclose(ex[name], ref[name], rtol=RTOL, atol=1e-15)


@pytest.mark.parametrize("exact", [False, True], ids=["lecture", "exact"])
def test_total_matches_torch(exact):
    assert we.run(exact=exact)["total"] == pytest.approx(float(torch_reference(exact)["total"]), rel=1e-14)


def test_a_few_gradients_by_hand(lec):
    """Lecture mode, small enough to do on paper: ∂L/∂x̂ = 2(x̂ - x), ∂L/∂z = ∂L/∂x̂·W_d, ∂KL/∂μ = μ."""
    np.testing.assert_allclose(lec["dx_hat"], [-0.912, -1.726, 1.46], atol=1e-14)
    np.testing.assert_allclose(lec["dz"], [0.0032, -0.1146], atol=1e-14)
    np.testing.assert_allclose(lec["dmu"], [-0.0368, -0.0946], atol=1e-14)
    np.testing.assert_allclose(lec["dlogvar"], [-0.009158, 0.049423], atol=1e-14)


# ---- one Adam step ---------------------------------------------------------------------------------
@pytest.mark.parametrize("exact", [False, True], ids=["lecture", "exact"])
def test_adam_step_matches_torch(exact):
    ex = we.run(exact=exact)
    names = list(W)
    params = [torch.tensor(W[k], dtype=torch.float64, requires_grad=True) for k in names]
    for p, k in zip(params, names):
        p.grad = torch.tensor(ex["d" + k], dtype=torch.float64)
    torch.optim.Adam(params, lr=we.ADAM_LR).step()
    for p, k in zip(params, names):
        np.testing.assert_allclose(ex[k + "_new"], p.detach().numpy(), rtol=RTOL, atol=1e-15)


def test_adam_step_lowers_the_loss(ext):
    W_new = {k: np.asarray(ext[k + "_new"]) for k in W}
    h = W_new["W_e"] @ X + W_new["b_e"]
    mu, logvar = W_new["W_mu"] @ h + W_new["b_mu"], W_new["W_logvar"] @ h + W_new["b_logvar"]
    z = mu + np.exp(0.5 * logvar) * EPS
    x_hat = W_new["W_d"] @ z + W_new["b_d"]
    after = np.sum((x_hat - X) ** 2) - 0.5 * np.sum(1 + logvar - mu**2 - np.exp(logvar))
    assert ext["total_after"] == pytest.approx(after, rel=1e-13)
    assert after < ext["total"] - 0.2


def test_adam_steps_loss_after_keeps_lecture_modes_convention(lec):
    """Lecture mode's loss before is recon + KL (ii) with σ rounded to σ̃; so is the one after (the
    unrounded loss after beside the rounded one before paired two conventions on one line)."""
    W_new = {k: np.asarray(lec[k + "_new"]) for k in W}
    h = W_new["W_e"] @ X + W_new["b_e"]
    mu, logvar = W_new["W_mu"] @ h + W_new["b_mu"], W_new["W_logvar"] @ h + W_new["b_logvar"]
    std = np.round(np.exp(0.5 * logvar), 2)
    x_hat = W_new["W_d"] @ (mu + std * EPS) + W_new["b_d"]
    after = np.sum((x_hat - X) ** 2) - 0.5 * np.sum(1 + 2 * np.log(std) - mu**2 - std**2)
    assert lec["total_after"] == pytest.approx(after, rel=1e-13)
    assert f"{lec['total']:.7f} -> {lec['total_after']:.7f}" == "1.4871027 -> 1.2010974"
    assert "loss 1.4871027 -> 1.2010974" in we.format_trace(lec)
    assert "loss 1.4871213 -> 1.1987729" in we.format_trace(we.run(exact=True))


def test_first_adam_step_moves_each_weight_by_about_lr(lec):
    for k in W:
        step = np.asarray(W[k]) - lec[k + "_new"]
        np.testing.assert_allclose(step, we.ADAM_LR * np.sign(lec["d" + k]), rtol=0, atol=2e-6)


# ---- errata ----------------------------------------------------------------------------------------
def test_errata_rows():
    rows = {r.key: r for r in we.errata()}
    kl, total = rows["kl"], rows["total"]
    assert (kl.lecture, total.lecture) == (0.00675, 1.492355)
    assert kl.fixed == pytest.approx(0.00125, abs=1e-15) and round(kl.exact, 8) == 0.00150472
    assert round(kl.sampled, 10) == 0.0014977086
    assert total.fixed == pytest.approx(1.486855, abs=1e-14) and round(total.exact, 5) == 1.48712
    assert round(total.sampled, 7) == 1.4871027
    assert rows["bracket1"].fixed == pytest.approx(0.9784, abs=1e-15)
    assert rows["var1"].fixed == pytest.approx(0.9801, abs=1e-15)
    assert rows["var2"].fixed == pytest.approx(1.0404, abs=1e-15)
    assert rows["sum"].fixed == pytest.approx(-0.0025, abs=1e-15)
    assert rows["sign"].lecture == "+½·Σ(…) = -0.00125"  # a negative "KL"
    for r in rows.values():
        assert r.lecture != r.fixed


def test_errata_lines_quote_document_004():
    """Every row's line in document 004 holds the quoted numbers or symbols."""
    found = [p / "shared" / "seeds" / we.DOCUMENT for p in ROOT.parents if (p / "shared" / "seeds" / we.DOCUMENT).exists()]
    if not found:
        pytest.skip("the lecture documents (../shared/seeds/) are not beside the repository")
    lines = found[0].read_text(encoding="utf-8").splitlines()
    witness = {"sign": "0.5 \\sum", "mix": "0.99^2", "bracket1": "0.9964", "var1": "0.9817", "var2": "1.0408",
               "sum": "0.0147", "kl": "0.00675", "total": "1.492355", "log_mu2": "log(\\mu^2)", "psi": "\\psi",
               "o_of_x": "O(x)"}
    for r in we.errata():
        assert witness[r.key] in lines[r.line - 1], (r.key, r.line)


def test_where_the_lecture_parts():
    """The errata rows' lecture values are the diagnosed slips: 0.9964 = 1 - 0.002 - 0.0016 (a dropped
    decimal); 0.9817 and 1.0408 are σ̃² + μ² (μ² counted again); 0.00675 is its own sum of them."""
    rows = {r.key: r for r in we.errata()}
    mu = np.array([-0.04, 0.02])  # the lecture's μ
    assert rows["bracket1"].lecture == pytest.approx(1 - 0.002 - mu[0] ** 2, abs=1e-15)
    assert rows["var1"].lecture == pytest.approx(rows["var1"].fixed + mu[0] ** 2, abs=1e-15)
    assert rows["var2"].lecture == pytest.approx(rows["var2"].fixed + mu[1] ** 2, abs=1e-15)
    second = 1.0396  # its second bracket's first part, 1 + log σ₂² - μ₂², as line 619 writes it
    its_sum = 0.5 * (rows["bracket1"].lecture - rows["var1"].lecture + second - rows["var2"].lecture)
    assert its_sum == pytest.approx(rows["kl"].lecture, abs=1e-15)


def test_format_errata_shows_every_figure():
    text = we.format_errata(we.errata())
    for s in ("0.00675", "0.00125", "0.0014977086", "0.0015047237", "1.492355", "1.486855", "1.4871027",
              "1.4871213", "0.9964", "0.9784", "log(μ²)", "ψ", "O(x)", "Q(x)", "-0.020100672"):
        assert s in text


# ---- the object and the command line ----------------------------------------------------------------
def test_as_dict_has_every_step(ex):
    d = ex.as_dict()
    for k in ["h", "mu", "logvar", "std", "eps", "z", "x_hat", "recon_loss", "kl", "total", *GRADS,
              *(k + "_new" for k in W), "total_after"]:
        assert k in d
    assert d == json.loads(json.dumps(d))


def test_unknown_step_names_the_known_ones(lec):
    with pytest.raises(KeyError, match="recon_loss"):
        lec["loss"]


def test_cli_text(capsys):
    assert main(["example"]) == 0
    out = capsys.readouterr().out
    for s in ("[0.2, 0.6]", "[-0.04, 0.02]", "[0.455, -0.49]", "[0.044, 0.137, 0.23]", "1.485605", "0.00125",
              "0.0014977086", "0.0015047237", "1.4871027", "1.486855", "0.00675", "1.492355", "BACKWARD", "∂L/∂W_e",
              "ADAM", "ERRATA", "[R]", "0.207936 + 0.744769 + 0.5329", "σ̃ = round(σ, 2)"):
        assert s in out, s
    assert out.index("FORWARD") < out.index("BACKWARD") < out.index("ADAM") < out.index("ERRATA")


def test_cli_exact_text(capsys):
    assert main(["example", "--exact", "--no-errata"]) == 0
    out = capsys.readouterr().out
    assert "0.0015047237" in out and "1.4871213" in out and "ERRATA" not in out


@pytest.mark.parametrize("flags,exact", [([], False), (["--exact"], True)])
def test_cli_json(capsys, flags, exact):
    assert main(["example", "--json", *flags]) == 0
    assert json.loads(capsys.readouterr().out) == we.run(exact=exact).as_dict()


@pytest.mark.parametrize("lr,shown", [("0", "0.0"), ("-1", "-1.0"), ("nan", "nan"), ("inf", "inf")])
def test_cli_bad_lr(capsys, lr, shown):  # the engine's check (Adam's), in one line with the flag's name
    assert main(["example", "--lr", lr]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(f"--lr must be positive (and finite), got {shown}") and err.splitlines() == [err]


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_exact_traces_words_are_exact_modes(lang):
    """In exact mode z is a sample of N(μ, σ²) and x̂ is not the printed one: the notes say so."""
    exact, lecture = we.format_trace(we.run(exact=True), lang=lang), we.format_trace(we.run(), lang=lang)
    z_exact, z_lecture = (words_of(t, "z = μ") for t in (exact, lecture))
    assert "N(μ, σ²)" in z_exact and "N(μ, σ̃²)" in z_lecture
    assert words_of(exact, "x̂ = W_d") != words_of(lecture, "x̂ = W_d")
    assert "gives the printed x̂ exactly" not in exact and ("exactly" in lecture if lang == "en" else True)


def words_of(trace: str, formula: str) -> str:
    """The explanation line under the step whose formula starts with ``formula``."""
    lines = trace.splitlines()
    i = next(i for i, line in enumerate(lines) if line[4:].startswith(formula))
    return lines[i + 1]
