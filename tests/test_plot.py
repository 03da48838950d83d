"""tn.plot / History.plot: a run in one figure, for a notebook."""
from __future__ import annotations

import numpy as np
import pytest

import tinynet as tn
from tinynet.data import make_dataset


@pytest.fixture(scope="module")
def run():
    data = make_dataset("xor", 64, seed=1)
    model = tn.create_model([2, 8, 8, 2], seed=1)
    return tn.train(model, data, steps=120, lr=0.1), model, data


def test_the_figure_draws_the_run_s_own_numbers(run):
    hist, model, data = run
    fig = hist.plot(model, data)
    loss, acc, norms, boundary = fig.axes
    assert [ax.get_title() for ax in fig.axes] == ["training loss", "accuracy", "gradient norm per Linear layer",
                                                   "decision boundary"]
    np.testing.assert_array_equal(loss.lines[0].get_ydata(), hist.loss)
    np.testing.assert_array_equal(acc.lines[0].get_xdata(), hist.eval_steps)
    assert len(norms.lines) == 3 and loss.get_yscale() == "log"
    assert len(boundary.collections) >= 2  # the classes' regions and the points


def test_without_a_model_there_is_no_boundary_and_tn_plot_is_the_same(run):
    hist, _, _ = run
    assert len(tn.plot(hist).axes) == 3


def test_a_diverged_run_is_marked(run):
    _, _, data = run
    hist = tn.train(tn.create_model([2, 8, 2], seed=0), data, steps=50, lr=1e4, quiet=True)
    fig = hist.plot()
    legend = fig.axes[0].get_legend().texts[0].get_text()
    assert hist.diverged_at is not None and f"diverged at {hist.diverged_at}" in legend


def test_plot_refuses_what_it_cannot_draw(run):
    hist, model, data = run
    with pytest.raises(TypeError, match="takes the History that tn.train returned, got list"):
        tn.plot(hist.loss)
    with pytest.raises(TypeError, match="needs both the model and the data"):
        tn.plot(hist, model)


def test_plotting_changes_no_backend_and_opens_no_window(run):
    import matplotlib

    before = matplotlib.get_backend()
    run[0].plot()
    assert matplotlib.get_backend() == before


def test_a_run_that_stopped_in_its_first_steps_gets_an_inset_of_them(monkeypatch, tmp_path):
    """Part 3's lr-10 run stops at step 2 of 5,000: on the full axis it is a spike at the edge."""
    from tinynet import plots

    drawn = []
    monkeypatch.setattr(plots, "save", lambda fig, path: drawn.append(fig))
    long = list(np.linspace(0.7, 0.05, 5000))
    plots.loss_curves({"healthy": long, "lr 10": [0.7, 5.0, 4000.0]}, "t", tmp_path / "a.png", marks={"lr 10": 2})
    plots.loss_curves({"healthy": long, "other": long[:4000]}, "t", tmp_path / "b.png")
    inset = drawn[0].axes[0].child_axes
    assert len(inset) == 1 and inset[0].get_title() == "the first 5 steps" and len(inset[0].lines) == 2
    assert drawn[1].axes[0].child_axes == []


@pytest.fixture(scope="module")
def digits_run():
    data = make_dataset("digits", 300, seed=2)
    model = tn.create_model([64, 24, 10], seed=2)
    return tn.train(model, data, steps=60, lr=0.5, progress=False), model, data


def test_image_data_gets_weights_confusion_and_mistakes_in_place_of_a_boundary(digits_run):
    hist, model, data = digits_run
    fig = hist.plot(model, data)
    titles = [ax.get_title() for ax in fig.axes]
    assert "decision boundary" not in titles and "validation set: true vs predicted" in titles
    first = model.layers[0].W
    tiles = [ax for ax in fig.axes if ax.get_title().startswith("unit ")]
    assert len(tiles) == 16
    np.testing.assert_allclose(tiles[3].images[0].get_array(), np.asarray(first)[:, 3].reshape(8, 8), rtol=1e-6)
    guessed = np.argmax(model.forward(np.asarray(data.x_val, np.float32)), axis=1)
    matrix = next(ax for ax in fig.axes if ax.get_title() == "validation set: true vs predicted").images[0].get_array()
    assert matrix.sum() == len(data.y_val) and np.trace(matrix) == np.sum(guessed == data.y_val)
    wrong = [ax for ax in fig.axes if "(" in ax.get_title() and ax.images]
    assert len(wrong) == min(16, np.sum(guessed != data.y_val))
    for ax in wrong:  # "guess (true)", never a right one
        guess, true = ax.get_title().replace("(", "").replace(")", "").split()
        assert guess != true


def test_the_image_helpers_count_and_refuse():
    from matplotlib.figure import Figure

    from tinynet import images
    counts = images.confusion_matrix(np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 0, 2]), 3)
    assert counts.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]  # rows: the true class
    with pytest.raises(ValueError, match="W has 10 rows, but images of 8 x 8 have 64 pixels"):
        images.first_layer(Figure(), np.zeros((10, 4)), (8, 8))
    assert images.misclassified(Figure(), np.zeros((2, 4)), np.array([1, 0]), np.array([1, 0]), (2, 2)) == 0
