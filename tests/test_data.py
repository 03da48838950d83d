"""tinynet/data.py: seeded data sets, split into training and validation without overlap,
their label rules and options, and the majority baseline."""
from __future__ import annotations

import numpy as np
import pytest

from tinynet.data import DATASETS, make_dataset


@pytest.mark.parametrize("name", DATASETS)
def test_datasets_are_seeded_and_split(name):
    a = make_dataset(name, 50, seed=1, val_fraction=0.2)
    b = make_dataset(name, 50, seed=1, val_fraction=0.2)
    c = make_dataset(name, 50, seed=2, val_fraction=0.2)
    assert a.x_train.shape == (50, 2) and a.x_val.shape == (10, 2)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.x_train, c.x_train)
    assert set(np.unique(a.y_train)) <= {0, 1}
    majority = np.bincount(a.y_train).argmax()
    assert a.majority_baseline == np.mean(a.y_val == majority)


def test_xor_labels_follow_the_sign_rule_and_random_labels_do_not():
    xor = make_dataset("xor", 500, seed=0)
    np.testing.assert_array_equal(xor.y_train, (xor.x_train[:, 0] * xor.x_train[:, 1] > 0).astype(int))
    rnd = make_dataset("random", 500, seed=0)
    agreement = np.mean(rnd.y_train == (rnd.x_train[:, 0] * rnd.x_train[:, 1] > 0))
    assert 0.4 < agreement < 0.6


def test_class_share_and_label_noise():
    xor = make_dataset("xor", 4000, seed=0, ones=0.36)
    assert np.mean(xor.y_train) == pytest.approx(0.36, abs=0.02)
    np.testing.assert_array_equal(xor.y_train, (xor.x_train[:, 0] * xor.x_train[:, 1] > 0).astype(int))
    assert np.abs(xor.x_train).max() <= 1.0
    coin = make_dataset("random", 4000, seed=0, ones=0.36)
    assert np.mean(coin.y_train) == pytest.approx(0.36, abs=0.02)
    noisy = make_dataset("xor", 4000, seed=0, flip=0.36)
    agreement = np.mean(noisy.y_train == (noisy.x_train[:, 0] * noisy.x_train[:, 1] > 0))
    assert agreement == pytest.approx(0.64, abs=0.02)
    moons = make_dataset("moons", 4000, seed=0, ones=0.36)
    assert np.mean(moons.y_train) == pytest.approx(0.36, abs=0.02)


@pytest.mark.parametrize("n", [np.uint8(255), np.int8(100), np.int16(300)])
def test_a_size_given_as_a_small_numpy_integer_does_not_wrap(n):
    """n + n_val was computed in the argument's own type: 255 + 51 in uint8 is 50."""
    data = make_dataset("xor", n, val_fraction=0.2)
    assert len(data.y_train) == int(n) and len(data.y_val) == round(int(n) * 0.2)
