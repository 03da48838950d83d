"""Part 3's cases beyond the log: each judge on synthetic histories both ways, each sentence
against the numbers it quotes, each user-written piece against finite differences, the
--cases flag, and the 95% intervals."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinynet as tn
from experiments import breakages, cases, part3_break
from experiments import verdicts as v
from experiments.cases import BY_NAME
from experiments.flags import Seed
from tinynet import gradcheck
from tinynet.testing import assert_backward_correct
from tinynet.training import History

STEPS = [0, 100, 200, 299]


def history(loss_end: float, *, loss_start: float = 0.70, diverged_at=None, train_acc=0.9, val_acc=float("nan"),
            norms=(0.5, 0.2), measured=None) -> History:
    """A run measured at steps 0, 100, 200, 299, its loss falling linearly from start to end."""
    loss = np.linspace(loss_start, loss_end, 300).tolist()  # Python floats, as a history holds
    if diverged_at is not None:
        loss = loss[:diverged_at] + [loss_start * 20]
    grad_norm = {f"layers[{2 * i}] Linear": [n] * 4 for i, n in enumerate(norms)}
    return History(loss=loss, eval_steps=STEPS, train_acc=[0.5, 0.6, 0.7, train_acc], val_acc=[0.5] * 3 + [val_acc],
                   grad_norm=grad_norm, measured=measured or {}, diverged_at=diverged_at)


HEALTHY = history(0.03)


# (case, a history where it happens, one where it does not, numbers its sentence must quote in each)
BOTH_WAYS = {
    "constant_init": (history(0.65, measured={"unit_spread": [0.0] * 4}),
                      history(0.04, measured={"unit_spread": [0.0] * 4}), ["0.65", "0.03"], ["0.04"]),
    "lr_too_small": (history(0.699, norms=(0.3, 0.1)), history(0.3, norms=(0.3, 0.1)),
                     ["1e-05", "0.7", "0.699", "0.1%"], ["0.3", "57.1%"]),
    "unnormalised_inputs": (history(0.7, diverged_at=2, norms=(500.0, 1.0)), history(0.02, norms=(500.0, 1.0)),
                            ["1000", "1.56e+03", "step 2"], ["0.02", "converged all the same"]),
    "softmax_twice": (history(0.40, train_acc=0.95), history(0.05, train_acc=1.0),
                      ["0.313", "0.4", "0.0867", "95%"], ["0.05", "100%"]),
    "labels_shuffled": (history(0.2, train_acc=0.9, val_acc=0.5), history(0.6, train_acc=0.6, val_acc=0.52),
                        ["90%", "50%", "40%", "memorised"], ["60%", "52%", "8%", "not yet memorised"]),
    "sum_not_mean": (history(500.0, loss_start=70.0, diverged_at=3, norms=(50.0, 1.0)),
                     history(2.0, loss_start=70.0, norms=(50.0, 1.0)), ["100", "lr 0.01 is one at lr 1", "step 3"], ["70", "2"]),
    "sigmoid_deep": (history(0.69, loss_start=0.70, norms=(1e-4, 0.1)), history(0.3, norms=(1e-4, 0.1)),
                     ["0.001", "1.4%", "0.69"], ["57.1%", "0.3"]),
}


@pytest.mark.parametrize("name", list(BY_NAME))
def test_each_case_judged_both_ways_and_its_sentence_quotes_its_numbers(name):
    case = BY_NAME[name]
    healthy = history(0.03, norms=(0.32, 0.1)) if name == "unnormalised_inputs" else HEALTHY
    if name == "sum_not_mean":
        healthy = history(0.03, norms=(0.5, 0.1))
    happens, does_not, said_yes, said_no = BOTH_WAYS[name]
    lr = cases.TINY_LR if name == "lr_too_small" else 0.01
    measured, happened = case.judge(happens, healthy, lr)
    assert happened is True, measured
    sentence = case.cause(measured, True)
    for number in said_yes:
        assert number in sentence, (number, sentence)
    measured, happened = case.judge(does_not, healthy, lr)
    assert happened is False, measured
    sentence = case.cause(measured, False)
    for number in said_no:
        assert number in sentence, (number, sentence)


def test_every_case_is_declared_once_with_a_prediction_and_a_figure():
    assert len(cases.CASES) >= 6 and len(BY_NAME) == len(cases.CASES)
    claims = [case.claim for case in cases.CASES] + ["lr10_diverges", "relu_last_stops_learning"]
    assert len(set(claims)) == len(claims)
    for case in cases.CASES:
        assert case.predicts.startswith("(predicted)") and case.plot is not None and case.name in breakages.BREAKAGES


# --- the user-written pieces: their backward is right; using them is what breaks training -------
def test_the_sigmoid_layer_passes_the_checker(be):
    x = np.random.default_rng(0).normal(size=(5, 4))
    assert_backward_correct(breakages.Sigmoid(), be.asarray(x))


@pytest.mark.parametrize("loss", [breakages.SoftmaxTwiceCrossEntropy, breakages.SumCrossEntropy])
def test_the_user_losses_pass_the_checker(loss, be):
    rng = np.random.default_rng(1)
    logits, labels = be.asarray(rng.normal(size=(6, 3))), be.asarray(np.array([0, 2, 1, 1, 0, 2]))
    results = gradcheck.check_loss(loss(), logits, labels)
    assert all(r.passed for r in results), [r.report() for r in results]


def test_softmax_twice_cannot_go_below_its_floor():
    """Even with logits that make the model sure and right, the loss stays at ln(1 + 1/e)."""
    be = tn.get_backend("numpy")
    loss = breakages.SoftmaxTwiceCrossEntropy().forward(be.asarray(np.array([[50.0, -50.0]])), be.asarray([0]))
    assert float(loss) == pytest.approx(cases.SOFTMAX_TWICE_FLOOR, rel=1e-9)


def test_sum_not_mean_is_the_mean_times_n():
    be = tn.get_backend("numpy")
    logits, labels = be.asarray(np.random.default_rng(2).normal(size=(7, 2))), be.asarray([0, 1, 1, 0, 1, 0, 0])
    mean, total = tn.SoftmaxCrossEntropy(), breakages.SumCrossEntropy()
    assert float(total.forward(logits, labels)) == pytest.approx(7 * float(mean.forward(logits, labels)))
    np.testing.assert_allclose(total.backward(), 7 * mean.backward())


def test_constant_init_makes_every_hidden_unit_the_same_and_the_hook_sees_it():
    model = tn.create_model([2, 8, 8, 2], seed=0)
    breakages.constant_init(model)
    x = np.random.default_rng(0).uniform(-1, 1, size=(10, 2)).astype("float32")
    m = breakages.measure_symmetry(model, x, np.zeros(10, dtype=int))
    assert m["unit_spread"] == 0.0 and "stranded" in m
    healthy = breakages.measure_symmetry(tn.create_model([2, 8, 8, 2], seed=0), x, np.zeros(10, dtype=int))
    assert healthy["unit_spread"] > 0.01


def test_data_breakages_change_only_what_they_say():
    from tinynet.data import make_dataset

    data = make_dataset("xor", 40, seed=0, val_fraction=0.5)
    scaled = breakages.scaled_inputs(data)
    np.testing.assert_array_equal(scaled.x_train, data.x_train * 1000)
    np.testing.assert_array_equal(scaled.y_train, data.y_train)
    shuffled = breakages.shuffled_labels(data, seed=0)
    np.testing.assert_array_equal(shuffled.x_train, data.x_train)
    np.testing.assert_array_equal(shuffled.y_val, data.y_val)  # fresh examples keep their true labels
    assert sorted(shuffled.y_train) == sorted(data.y_train) and not np.array_equal(shuffled.y_train, data.y_train)


# --- --cases, and the intervals --------------------------------------------------------------------
@pytest.mark.parametrize("text, names", [("log", ("lr10", "relu_last")), ("all", part3_break.ALL_CASES),
                                         ("softmax_twice, lr10", ("softmax_twice", "lr10"))])
def test_the_cases_flag(text, names):
    assert part3_break.cases_flag(text) == names


def test_an_unknown_case_is_one_line_naming_the_choices(capsys):
    with pytest.raises(SystemExit) as info:
        part3_break.main(["--cases", "softmax_thrice", "--out", "runs/flag-test"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and len(err.strip().splitlines()) == 1
    assert "unknown case 'softmax_thrice'" in err and "constant_init" in err


@pytest.mark.parametrize("k, n, low, high", [(0, 5, 0.0, 0.4345), (2, 5, 0.1176, 0.7693), (5, 5, 0.5655, 1.0),
                                             (12, 20, 0.3866, 0.7812)])
def test_the_wilson_interval_against_known_values(k, n, low, high):
    got = v.wilson_interval(k, n)
    assert got == pytest.approx((low, high), abs=5e-5)


def test_k_of_n_is_printed_with_its_interval():
    assert v.k_of_n(2, 5) == "2/5 (95% CI 12-77%)"
    assert v.k_of_n(12, 20) == "12/20 (95% CI 39-78%)"
    assert v.wilson_interval(0, 0) == (0.0, 1.0)


def test_a_claim_carries_its_interval():
    per_seed = {Seed(i, i, i): v.Verdict({"x": 1.0}, i < 2, "story") for i in range(5)}
    claim = v.across_seeds("c", "words", per_seed)
    assert (claim["reproduced_in"], claim["seeds"]) == (2, 5)
    assert claim["interval"] == pytest.approx([0.1176, 0.7693], abs=5e-5)


@pytest.mark.slow
def test_the_log_s_two_cases_keep_today_s_verdicts(tmp_path):
    """--cases log on seeds 0-4, the README's main job: lr 10 diverges on 5/5, ReLU last stalls
    on 2/5, as the committed log says (about a minute on 2 cores)."""
    assert part3_break.main(["--cases", "log", "--out", str(tmp_path)]) == 0
    import json

    claims = {c["id"]: c for c in json.loads((tmp_path / "results.json").read_text())["claims"]}
    assert (claims["lr10_diverges"]["reproduced_in"], claims["lr10_diverges"]["seeds"]) == (5, 5)
    assert (claims["relu_last_stops_learning"]["reproduced_in"], claims["relu_last_stops_learning"]["seeds"]) == (2, 5)
    assert [e["seed"] for e in claims["relu_last_stops_learning"]["per_seed"] if e["reproduced"]] == [1, 3]
    assert math.isclose(claims["relu_last_stops_learning"]["interval"][0], 0.1176, abs_tol=5e-5)
