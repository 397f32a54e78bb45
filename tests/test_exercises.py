"""tinyvae.exercises: every reference solution passes, every catalogued mistake is named by its own message,
anything else wrong is reported as a line (never a traceback), and the notebooks' exercise cells run both
as shipped (not done yet) and solved (passed)."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

import tinyvae.exercises as exercises
from tinyvae.exercises import check, names, solution
from tinyvae.exercises.course import EXERCISES
from tinyvae.exercises.mistakes import CATALOGUE

MISTAKES = [(name, key, message, wrong) for name, ms in CATALOGUE.items() for key, message, wrong in ms]


def test_course_order() -> None:
    assert names() == ["linear_backward", "relu_backward", "sigmoid_backward", "reparameterize_backward", "kl",
                       "bce_with_logits_backward", "vae_backward", "adam_step"]
    assert set(CATALOGUE) <= set(names())


@pytest.mark.parametrize("name", names())
def test_reference_solution_passes(name: str) -> None:
    result = check(name, solution(name))
    assert result.passed and result.done and bool(result), str(result)
    assert str(result).startswith(f"✓ {name}: passed")
    if EXERCISES[name].scalar is not None:
        fd = float(str(result).rsplit("agree to ", 1)[1])
        assert fd < 1e-7, str(result)  # the finite differences were really compared


@pytest.mark.parametrize("name,key,message,wrong", MISTAKES, ids=[f"{m[0]}-{m[1]}" for m in MISTAKES])
def test_each_mistake_is_named_by_its_own_message(name: str, key: str, message: str, wrong) -> None:
    result = check(name, wrong)
    assert not result.passed and result.done
    assert message in result.message, str(result)
    others = [m for n, k, m, _ in MISTAKES if n == name and m != message and m in result.message]
    assert not others, f"{key} also matched {others}"


def test_every_exercise_has_mistakes_each_distinct() -> None:
    assert set(CATALOGUE) == set(names())
    for name, ms in CATALOGUE.items():
        messages = [m for _, m, _ in ms]
        assert len(ms) >= 3 and len(set(messages)) == len(messages), name


def test_the_words_the_issue_asks_for() -> None:
    transposed = check("linear_backward", lambda x, W, b, dout: (dout @ W, x.T @ dout, dout.sum(0)))
    assert "transposed" in transposed.message
    flipped = check("kl", lambda mu, lv: tuple(-a for a in solution("kl")(mu, lv)))
    assert "sign" in flipped.message


def test_not_done_yet_is_not_an_error() -> None:
    def stub(x, W, b, dout):
        raise NotImplementedError
    result = check("linear_backward", stub)
    assert not result.passed and not result.done and "not done yet" in str(result)


@pytest.mark.parametrize("answer,expect", [
    (lambda x, W, b, dout: None, "returned 1 value(s); expected 3"),
    (lambda x, W, b, dout: (dout @ W, dout.T @ x), "returned 2 value(s); expected 3"),
    (lambda x, W, b, dout: (dout @ W, (dout.T @ x)[:, :-1], dout.sum(0)), "dW has shape"),
    (lambda x, W, b, dout: (dout @ W, "dW", dout.sum(0)), "dW is str"),
    (lambda x, W, b, dout: (x @ dout, dout.T @ x, dout.sum(0)), "raised ValueError"),
    (lambda x, W, b, dout: 1 / 0, "raised ZeroDivisionError: division by zero"),
])
def test_wrong_shapes_and_errors_are_one_line(answer, expect: str) -> None:
    result = check("linear_backward", answer)
    assert not result.passed and expect in result.message and "\n" not in str(result), str(result)


def test_a_wrong_dict_answer_is_a_line() -> None:
    bad = check("vae_backward", lambda params, x, eps: {k: ("a" if k == "mu.b" else 0 * v) for k, v in params.items()})
    assert not bad.passed and "mu.b is str, not an array of numbers" in bad.message, str(bad)
    ragged = check("linear_backward", lambda x, W, b, dout: (dout @ W, [[1.0], [1.0, 2.0]], dout.sum(0)))
    assert not ragged.passed and "dW is list, not an array of numbers" in ragged.message, str(ragged)


def test_a_float32_answer_is_told_so() -> None:
    result = check("linear_backward", lambda *a: tuple(r.astype(np.float32) for r in solution("linear_backward")(*a)))
    assert not result.passed and "float32" in result.message, str(result)


def test_finite_differences_decide_too(monkeypatch) -> None:
    """A library answer that were wrong (here: sigmoid without its (1 - σ)) cannot pass a matching answer."""
    from dataclasses import replace

    from tinyvae.exercises import course
    wrong = replace(course.EXERCISES["sigmoid_backward"], library=lambda c: (c["dout"] * c["out"],))
    monkeypatch.setitem(course.EXERCISES, "sigmoid_backward", wrong)
    result = check("sigmoid_backward", lambda out, dout: dout * out)
    assert not result.passed and "finite differences disagree" in result.message, str(result)


def test_patterns_beyond_the_catalogue() -> None:
    """Transposed, scaled by B and by 1/B: answers no catalogued mistake produces, named by the pattern."""
    from tinyvae.exercises.grader import _pattern
    e = np.arange(9.0).reshape(3, 3) + 1
    assert "transposed" in _pattern({"dW": e.T}, {"dW": e}, 4)
    for factor, words in [(4, "a 1/B is missing"), (1 / 4, "an extra 1/B")]:
        result = check("relu_backward", lambda x, dout, f=factor: f * dout * (x > 0) if x.shape[0] > 1 else dout * (x > 0))
        assert words in result.message, str(result)


def test_an_unknown_mistake_names_its_worst_entry() -> None:
    def off_by_a_bit(x, W, b, dout):
        dx, dW, db = solution("linear_backward")(x, W, b, dout)
        dW = dW.copy()
        dW[1, 2] += 1e-3
        return dx, dW, db
    result = check("linear_backward", off_by_a_bit)
    assert not result.passed and "dW[1, 2] is" in result.message and "(off by 0.001)" in result.message, str(result)


@pytest.mark.parametrize("factor,words", [(2.0, "a ½ is missing"), (-1.0, "sign"), (0.5, "an extra ½")])
def test_scaled_answers_are_named(factor: float, words: str) -> None:
    result = check("relu_backward", lambda x, dout: factor * dout * (x > 0))
    assert words in result.message, str(result)


def test_the_learners_inputs_are_copies() -> None:
    """An answer that writes into its inputs does not change the cases the library is asked about."""
    def in_place(x, W, b, dout):
        dx, dW, db = solution("linear_backward")(x, W, b, dout)
        x[...] = 0
        dout[...] = 0
        return dx, dW, db
    assert check("linear_backward", in_place).passed


def test_unknown_exercise_and_not_a_function() -> None:
    with pytest.raises(ValueError, match="no exercise named 'linear'"):
        check("linear", solution("kl"))
    assert "expected a function" in check("kl", 3).message


def test_adam_solution_follows_the_library_for_many_steps() -> None:
    """The plain Adam of the exercise equals tinyvae.Adam (itself proven against torch.optim.Adam) for 50 steps."""
    rng = np.random.default_rng(0)
    p, m, v = rng.standard_normal(5), np.zeros(5), np.zeros(5)

    class Holder:
        params, grads = {"p": p.copy()}, {"p": np.zeros(5)}
    opt = exercises.course.Adam(Holder, lr=1e-2)
    for t in range(1, 51):
        g = rng.standard_normal(5)
        Holder.grads["p"][...] = g
        opt.step()
        p, m, v = solution("adam_step")(p, g, m, v, t, 1e-2, (0.9, 0.999), 1e-8)
    np.testing.assert_allclose(p, Holder.params["p"], rtol=1e-12)


def test_adam_solution_is_adam_step_plain_bit_for_bit() -> None:
    """The exercise's reference is Adam.step_plain, the library's plain twin, to the last bit (float32 too).
    The weight restarts from 0 every step, so the new weight is minus the step, with no rounding to hide it."""
    rng = np.random.default_rng(1)
    for dtype in (np.float32, np.float64):
        m, v = np.zeros(50, dtype), np.zeros(50, dtype)

        class Holder:
            params, grads = {"p": np.zeros(50, dtype)}, {"p": np.zeros(50, dtype)}
        opt = exercises.course.Adam(Holder, lr=1e-2, betas=(0.8, 0.99), eps=1e-6)
        for t in range(1, 21):
            g = (rng.standard_normal(50) * 10.0 ** rng.integers(-3, 3, 50)).astype(dtype)
            Holder.params["p"][...], Holder.grads["p"][...] = 0, g
            opt.step_plain()
            p, m, v = solution("adam_step")(np.zeros(50, dtype), g, m, v, t, 1e-2, (0.8, 0.99), 1e-6)
            np.testing.assert_array_equal(p, Holder.params["p"])
            np.testing.assert_array_equal(m, opt.state["m.p"])
            np.testing.assert_array_equal(v, opt.state["v.p"])


def test_package_docstring_example() -> None:
    result = doctest.testmod(exercises, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.attempted >= 3 and result.failed == 0
