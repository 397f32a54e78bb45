"""The digit judge: its 5 nearest training digits vote, as scikit-learn's KNeighborsClassifier(5) does; and
the figures' captions report what it finds."""

import numpy as np
import pytest

import tinyvae
from tinyvae.figures import captions
from tinyvae.training.data import load
from tinyvae.figures.judge import nearest_labels, recognised


@pytest.fixture(scope="module")
def digits():
    return load()


def test_the_judge_votes_as_scikit_learn_does(digits):
    from sklearn.neighbors import KNeighborsClassifier

    xt, yt = digits.x_train, digits.y_train
    images = np.concatenate([digits.x_test[:300], np.random.default_rng(0).uniform(size=(100, 784))])  # and noise
    ours = nearest_labels(xt, yt, images, chunk=128)
    theirs = KNeighborsClassifier(5).fit(np.asarray(xt, np.float64), yt).predict(np.asarray(images, np.float64))
    np.testing.assert_array_equal(ours, theirs)
    assert np.mean(ours[:300] == digits.y_test[:300]) > 0.85  # it knows the real digits


def test_a_tie_goes_to_the_smaller_digit():
    x_train = np.array([[0.0], [0.1], [1.0], [1.1]])
    assert nearest_labels(x_train, np.array([7, 7, 3, 3]), np.array([[0.5]]), k=4).tolist() == [3]
    assert nearest_labels(x_train, np.array([7, 7, 3, 3]), np.array([[0.05]]), k=1).tolist() == [7]
    with pytest.raises(ValueError, match="k must be between 1 and the 4 training images"):
        nearest_labels(x_train, np.array([7, 7, 3, 3]), np.array([[0.5]]), k=5)


def test_recognised_counts_overall_per_digit_and_the_confusions():
    r = recognised([1, 1, 2, 9, 4, 9], [1, 1, 2, 2, 4, 4])
    assert r["overall"] == pytest.approx(4 / 6) and r["per_digit"] == {1: 1.0, 2: 0.5, 4: 0.5}
    assert r["worst"] == (2, 0.5) and r["confusions"] == [(2, 9, 0.5), (4, 9, 0.5)]


def test_captions_say_what_the_judge_found(digits):
    model = tinyvae.VAE(784, [8], 2, rng=0, dtype=np.float32)  # untrained: every reconstruction is one grey blur
    judge = captions.judge_of(digits)
    line = captions.kept(model, digits, judge)
    x_hat = model.reconstruct(digits.x_test)
    got = recognised(nearest_labels(digits.x_train, digits.y_train, x_hat), digits.y_test)
    assert line.startswith(f"through a 2-D code: the right digit for {got['overall']:.0%} of 1,000 test reconstructions")
    d, p, f = got["confusions"][0]
    assert f"most often lost: {d} as {p} ({f:.0%} of {d}s)" in line
    assert captions.on_grid(np.array([0, 1, 1, 3])) == ("the 5-nearest-neighbour judge finds on this grid: 0 1 3; "
                                                        "no 2, no 4, no 5, no 6, no 7, no 8, no 9")
    assert captions.on_grid(np.arange(10)).endswith("0 1 2 3 4 5 6 7 8 9 (every digit)")


def test_the_interpolation_caption_names_the_ends_that_come_back_as_another_digit():
    line = captions.ends(np.array([2, 4, 4, 5]), originals=np.array([8, 4, 4, 5]), decoded=np.array([8, 9, 4, 5]))
    assert line == ("the ends, as the 5 nearest training digits read them: 2 (read as 8 itself) decodes as 8 … 4; "
                    "4 decodes as 9 … 5")
