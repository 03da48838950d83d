"""tinynet/data.py and tinynet/idx.py: seeded data sets, split into training and validation
without overlap, their label rules and options, the majority baseline, the shipped digits and
IDX files (MNIST's format) written here, right and wrong."""
from __future__ import annotations

import gzip
import hashlib
import struct

import numpy as np
import pytest

from tinynet.data import DATASETS, digits, load_idx, make_dataset


@pytest.mark.parametrize("name", DATASETS)
def test_datasets_are_seeded_and_split(name):
    a = make_dataset(name, 50, seed=1, val_fraction=0.2)
    b = make_dataset(name, 50, seed=1, val_fraction=0.2)
    c = make_dataset(name, 50, seed=2, val_fraction=0.2)
    features = 64 if name == "digits" else 2
    assert a.x_train.shape == (50, features) and a.x_val.shape == (10, features) and a.n_features == features
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.x_train, c.x_train)
    assert set(np.unique(a.y_train)) <= set(range(a.n_classes))
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


def test_digits_file():
    """The shipped file is the 1,797 UCI digits, unchanged: a changed pixel or label fails."""
    x, y = digits()
    assert x.shape == (1797, 64) and y.shape == (1797,) and x.dtype == np.float64 and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0 and np.all(x * 16 == np.round(x * 16))  # ink counts 0..16, / 16
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    digest = hashlib.sha256((x * 16).astype(np.uint8).tobytes() + y.astype(np.uint8).tobytes()).hexdigest()
    assert digest == DIGITS_SHA256
    assert (x[0] * 16).reshape(8, 8)[1].tolist() == [0, 0, 13, 15, 10, 15, 5, 0]  # the first image: a 0


# sha256 of the 1797 x 64 ink counts, then the 1797 labels, as uint8: the same bytes read from
# scikit-learn 1.9.1's digits.csv.gz, from which the file was made
DIGITS_SHA256 = "87ff0c9e40dc7e2c0e34e7257799c2e3f3aec1a016363bb11cad869ec428a826"


def test_digits_split_is_seeded_disjoint_and_bounded():
    a, b = make_dataset("digits", 1437, seed=3), make_dataset("digits", 1437, seed=3)
    assert a.n_classes == 10 and a.image_shape == (8, 8) and len(a.y_val) == 287
    np.testing.assert_array_equal(a.x_val, b.x_val)
    x, _ = digits()
    rows = {row.tobytes(): i for i, row in enumerate(x)}
    train = [rows[r.tobytes()] for r in a.x_train]
    val = [rows[r.tobytes()] for r in a.x_val]
    assert len(np.unique(x, axis=0)) == 1797  # no two images alike, so an image names its index
    assert len(set(train)) == 1437 and not set(train) & set(val)
    with pytest.raises(ValueError, match=r"digits has 1,797: ask for n <= 1,497"):
        make_dataset("digits", 1498)
    assert len(make_dataset("digits", 1497).y_val) == 299
    assert len(make_dataset("digits", 1797, val_fraction=0).y_train) == 1797
    with pytest.raises(ValueError, match="ones sets the share of class 1"):
        make_dataset("digits", 100, ones=0.5)


def test_digits_label_noise_moves_to_another_class():
    clean, noisy = make_dataset("digits", 1000, seed=0), make_dataset("digits", 1000, seed=0, flip=0.3)
    np.testing.assert_array_equal(clean.x_train, noisy.x_train)
    changed = noisy.y_train != clean.y_train
    assert np.mean(changed) == pytest.approx(0.3, abs=0.05)
    assert set(np.unique(noisy.y_train)) == set(range(10))


def write_idx(path, array, code, gz=False):
    """An IDX file as MNIST's are written: 0 0 type ndim, the sizes big-endian, the numbers big-endian."""
    raw = bytes([0, 0, code, array.ndim]) + b"".join(struct.pack(">I", s) for s in array.shape)
    raw += array.astype(array.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


@pytest.fixture
def idx_pair(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(60, 5, 4), dtype=np.uint8)
    labels = rng.integers(0, 10, size=60).astype(np.uint8)
    return tmp_path, images, labels


@pytest.mark.parametrize("gz", [False, True])
def test_load_idx_reads_images_and_labels(idx_pair, gz):
    tmp, images, labels = idx_pair
    data = load_idx(write_idx(tmp / "img", images, 0x08, gz), write_idx(tmp / "lab", labels, 0x08, gz), seed=1)
    assert data.image_shape == (5, 4) and data.n_classes == 10
    assert len(data.y_train) == 50 and len(data.y_val) == 10  # 50 + round(50 * 0.2) = 60
    by_pixels = {(images[i].reshape(-1) / 255.0).tobytes(): labels[i] for i in range(60)}
    for x, y in zip(np.concatenate([data.x_train, data.x_val]), np.concatenate([data.y_train, data.y_val])):
        assert by_pixels[x.tobytes()] == y  # every example keeps its own label, scaled to [0, 1]
    again = load_idx(tmp / "img", tmp / "lab", seed=1)
    np.testing.assert_array_equal(again.x_val, data.x_val)
    wide = write_idx(tmp / "float", images.astype(">f4") / 3, 0x0D)
    assert load_idx(wide, tmp / "lab", n=10).x_train.max() <= 255 / 3 + 1e-4  # floats taken as they are


def wrong(tmp, images, labels):
    """Each way an IDX pair can be wrong, and the words that must name it."""
    good = write_idx(tmp / "good-labels", labels, 0x08)
    img = write_idx(tmp / "good-images", images, 0x08)
    whole = good.read_bytes()
    (tmp / "magic").write_bytes(b"\x12\x34" + whole[2:])
    (tmp / "cut").write_bytes(whole[:-7])
    (tmp / "long").write_bytes(whole + b"\0")
    (tmp / "header").write_bytes(whole[:6])
    (tmp / "cut.gz").write_bytes(gzip.compress(whole)[:-9])
    write_idx(tmp / "fewer", labels[:50], 0x08)
    write_idx(tmp / "range", np.where(labels == 3, 12, labels).astype(np.uint8), 0x08)
    write_idx(tmp / "floats", labels.astype(">f4"), 0x0D)
    return [((img, tmp / "magic"), "magic: not an IDX file: it must begin with the bytes 0 0"),
            ((img, tmp / "cut"), r"cut: truncated: the header gives shape \(60,\), 60 bytes of numbers, and the "
                                 "file holds 53"),
            ((img, tmp / "long"), "long: longer than its header says"),
            ((img, tmp / "header"), "header: truncated: its header announces 1 dimensions"),
            ((img, tmp / "cut.gz"), "cut.gz: cannot read it as an IDX file"),
            ((img, tmp / "fewer"), "good-images holds 60 images but .*fewer 50 labels"),
            ((img, tmp / "range"), "range: label 12 at index .* is out of range 0..9"),
            ((img, tmp / "floats"), "floats: labels must be integers"),
            ((good, good), "good-labels: an images file has 3 dimensions"),
            ((img, img), "good-images: a labels file has 1 dimension"),
            ((tmp / "missing", good), "missing: cannot read it as an IDX file"),
            ]


def test_load_idx_refuses_each_wrong_file_in_one_line(idx_pair):
    tmp, images, labels = idx_pair
    for (imgs, labs), words in wrong(tmp, images, labels):
        with pytest.raises(ValueError, match=words) as e:
            load_idx(imgs, labs)
        assert "\n" not in str(e.value)


def test_load_idx_takes_another_number_of_classes_and_refuses_too_many_examples(idx_pair):
    tmp, images, labels = idx_pair
    args = write_idx(tmp / "i", images, 0x08), write_idx(tmp / "l", labels, 0x08)
    assert load_idx(*args, n_classes=13).n_classes == 13
    with pytest.raises(ValueError, match="i has 60: ask for n <= 50"):
        load_idx(*args, n=51)
