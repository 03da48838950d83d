"""Part 3's cases (experiments/part3/cases.py): each judge on synthetic histories both ways,
each sentence against the numbers it quotes, each declaration whole, each user-written piece
against finite differences, and the --cases flag."""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pytest

import tinynet as tn
from experiments import part3_break
from experiments.part3 import cases, log_cases, measures
from tinynet import breakages as user
from experiments.harness.runner import broken
from experiments.harness.seeds import Seed
from experiments.part3.cases import BY_NAME, Trial
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


class BothWays(NamedTuple):
    """One case judged on a history where it happens and one where it does not, each beside
    its healthy run, with the numbers its sentence must quote in each."""

    happens: History
    does_not: History
    says_when_it_happens: list[str]
    says_when_not: list[str]
    healthy: History = HEALTHY
    lr: float = 0.01  # the broken run's own learning rate


BOTH_WAYS = {
    "constant_init": BothWays(history(0.65, measured={"unit_spread": [0.0] * 4}),
                              history(0.04, measured={"unit_spread": [0.0] * 4}), ["0.65", "0.03"], ["0.04"]),
    "lr_too_small": BothWays(history(0.699, norms=(0.3, 0.1)), history(0.3, norms=(0.3, 0.1)),
                             ["1e-05", "0.7", "0.699", "0.1%"], ["0.3", "57.1%"], lr=user.TINY_LR),
    "unnormalised_inputs": BothWays(history(0.7, diverged_at=2, norms=(500.0, 1.0)),
                                    history(0.02, norms=(500.0, 1.0)), ["1000", "1.56e+03", "step 2"],
                                    ["0.02", "converged all the same"], healthy=history(0.03, norms=(0.32, 0.1))),
    "softmax_twice": BothWays(history(0.40, train_acc=0.95), history(0.05, train_acc=1.0),
                              ["0.313", "0.4", "0.0867", "95%"], ["0.05", "100%"]),
    "labels_shuffled": BothWays(history(0.2, train_acc=0.9, val_acc=0.5), history(0.6, train_acc=0.6, val_acc=0.52),
                                ["90%", "50%", "40%", "memorised"], ["60%", "52%", "8%", "not yet memorised"]),
    "sum_not_mean": BothWays(history(500.0, loss_start=70.0, diverged_at=3, norms=(50.0, 1.0)),
                             history(2.0, loss_start=70.0, norms=(50.0, 1.0)),
                             ["100", "lr 0.01 is one at lr 1", "step 3"], ["70", "2"],
                             healthy=history(0.03, norms=(0.5, 0.1))),
    "sigmoid_deep": BothWays(history(0.69, loss_start=0.70, norms=(1e-4, 0.1)), history(0.3, norms=(1e-4, 0.1)),
                             ["0.001", "1.4%", "0.69"], ["57.1%", "0.3"]),
}


@pytest.mark.parametrize("name", list(BOTH_WAYS))
def test_each_case_judged_both_ways_and_its_sentence_quotes_its_numbers(name):
    case, row = BY_NAME[name], BOTH_WAYS[name]
    for run, expected, said in ((row.happens, True, row.says_when_it_happens),
                                (row.does_not, False, row.says_when_not)):
        verdict = case.verdict(Trial(run, row.healthy, row.lr, 0.01), seed=7)
        assert verdict.reproduced is expected, verdict.measured
        for number in said:
            assert number in verdict.cause, (number, verdict.cause)
        assert verdict.explanation == f"Seed 7: {verdict.cause}"


def test_lr10_judged_both_ways_with_the_step_ratio_from_the_runs_own_lr():
    diverged = history(0.7, diverged_at=3, norms=(5.0, 1.0))
    verdict = cases.LR10.verdict(Trial(diverged, HEALTHY, 10.0, 0.01), seed=2)
    assert verdict.reproduced and "1,000 times" in verdict.cause and "step 3" in verdict.cause
    verdict = cases.LR10.verdict(Trial(diverged, HEALTHY, 10.0, 0.1), seed=2)
    assert "100 times" in verdict.cause
    late = cases.LR10.verdict(Trial(history(0.7, diverged_at=250), HEALTHY, 10.0, 0.01), seed=2)
    assert not late.reproduced and "later than 'immediately'" in late.cause
    calm = cases.LR10.verdict(Trial(history(0.3), HEALTHY, 10.0, 0.01), seed=2)
    assert not calm.reproduced and "stayed within" in calm.cause


def test_every_case_is_declared_once_and_whole():
    """One declaration per case: its claim, its words, how it breaks the healthy run (at least
    one of settings, model, data, loss), a figure for every case beyond the log."""
    assert len(BY_NAME) == len(cases.CASES) == 9
    claims = [case.claim for case in cases.CASES]
    assert len(set(claims)) == len(claims) and len({c.role for c in cases.CASES}) == len(cases.CASES)
    assert cases.LOG_CASES == ("lr10", "relu_last")
    # What is broken is declared once, in the library, where the lab page takes it too.
    assert tuple(case.breakage for case in cases.CASES) == user.BREAKAGES
    for case in cases.CASES:
        b = case.breakage
        assert b.settings or b.model or b.data or b.loss, case.name
        assert case.plot is not None, case.name  # the log's two drawn like the others
        assert case.says.startswith("(predicted)") is not case.in_log, case.name


def test_a_case_that_names_no_cause_of_the_doctor_is_refused_when_declared():
    """A misspelt cause would score 0 of n in the doctor's benchmark without a word."""
    from dataclasses import replace

    from tinynet.doctor import CAUSES

    assert all(case.doctor in CAUSES for case in cases.CASES)
    with pytest.raises(ValueError, match=r"doctor='lr_to_high' is not one of tinynet.doctor.CAUSES \(wrong_gradient, "):
        replace(cases.LR10, breakage=replace(user.LR10, doctor="lr_to_high"))
    with pytest.raises(TypeError):  # by keyword only: eight bare strings in a row are easy to swap
        type(cases.LR10)(user.LR10, "lr 10", "x", "y", cases.LR10.observe, cases.LR10.cause)


@pytest.mark.parametrize("script", ["part3_break.py", "run_all.py"])
def test_the_scripts_name_no_case(script):
    """Every case is planned, trained, printed, drawn and written up alike: what one case alone
    needs is on its declaration, so the scripts never name a case (their docstrings aside)."""
    import ast
    import pathlib

    tree = ast.parse((pathlib.Path(part3_break.__file__).parent / script).read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body
                  and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    words = [w for case in cases.CASES for w in (case.name, case.role, case.name.upper(), case.claim)]
    said = []  # every name, attribute and string of the code
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            said.append(node.value)
        elif isinstance(node, (ast.Name, ast.Attribute)):
            said.append(node.id if isinstance(node, ast.Name) else node.attr)
    assert not [(w, text) for text in said for w in words if w in text]


def test_a_case_is_applied_as_a_user_would():
    """The runner applies the case a Run carries (runner.broken): the user's model, loss, data
    transform and measure hook; what the case leaves alone stays as the runner built it."""
    from tinynet.data import make_dataset

    data = make_dataset("xor", 20, seed=0)
    model = tn.create_model([2, 4, 2], seed=0)
    options: dict = {}
    broken_model, same = broken(cases.RELU_LAST, model, data, 0, options)
    assert isinstance(broken_model.layers[-1], tn.ReLU) and broken_model.layers[:-1] == model.layers
    assert same is data and options == {"measure": measures.measure_clipping}  # its own numbers, its run alone
    options = {}
    broken(cases.SOFTMAX_TWICE, model, data, 0, options)
    assert isinstance(options.pop("loss_fn"), user.SoftmaxTwiceCrossEntropy) and options == {}
    broken(cases.CONSTANT_INIT, tn.create_model([2, 4, 2], seed=0), data, 0, options)
    assert options == {"measure": measures.measure_symmetry}
    _, shuffled = broken(cases.LABELS_SHUFFLED, model, data, 3, {})
    np.testing.assert_array_equal(shuffled.y_train, user.shuffled_labels(data, 3).y_train)
    _, scaled = broken(cases.UNNORMALISED_INPUTS, model, data, 3, {})
    np.testing.assert_array_equal(scaled.x_train, data.x_train * user.INPUT_SCALE)


def test_every_case_travels_whole_to_a_worker():
    """A Run carries its case into a spawned worker by pickling: every part of every case must
    be a module-level function or class (a lambda cannot be sent), and it arrives the same."""
    import pickle

    for case in cases.CASES:
        arrived = pickle.loads(pickle.dumps(case))
        assert arrived.name == case.name and arrived.observe is case.observe and arrived.plot is case.plot, case.name


def test_a_case_not_asked_for_has_no_run_and_its_claim_is_not_judged():
    """Part 3 declares every case's claim; --cases plans the runs, and only the claims of the
    cases planned are judged."""
    from experiments.harness import study

    part3 = part3_break.PART3
    args = type("Args", (), {"cases": ("softmax_twice",), "lr": 0.01, "dataset": "xor", "steps": 300,
                             "seeds": [Seed(0, 0, 0)]})()
    plans = part3_break.plan(args)
    (plan,) = plans.values()
    assert list(plan.cases) == ["softmax_twice"] and plan.cases["softmax_twice"].case is cases.SOFTMAX_TWICE
    hist = {plan.healthy: HEALTHY, plan.cases["softmax_twice"]: BOTH_WAYS["softmax_twice"][0]}
    verdicts, claims = study.judge(part3.claims, args, plans, hist, {}, full_steps=300)
    assert [c["id"] for c in claims] == [cases.SOFTMAX_TWICE.claim] and list(verdicts) == [cases.SOFTMAX_TWICE.claim]


# --- the user-written pieces: their backward is right; using them is what breaks training -------
def test_the_sigmoid_layer_passes_the_checker(be):
    x = np.random.default_rng(0).normal(size=(5, 4))
    assert_backward_correct(user.Sigmoid(), be.asarray(x))


@pytest.mark.parametrize("loss", [user.SoftmaxTwiceCrossEntropy, user.SumCrossEntropy])
def test_the_user_losses_pass_the_checker(loss, be):
    rng = np.random.default_rng(1)
    logits, labels = be.asarray(rng.normal(size=(6, 3))), be.asarray(np.array([0, 2, 1, 1, 0, 2]))
    results = gradcheck.check_loss(loss(), logits, labels)
    assert all(r.passed for r in results), [r.report() for r in results]


def test_softmax_twice_cannot_go_below_its_floor():
    """Even with logits that make the model sure and right, the loss stays at ln(1 + (C - 1)/e):
    ln(1 + 1/e) for two classes, ln(1 + 9/e) for ten."""
    be = tn.get_backend("numpy")
    for classes in (2, 10):
        sure = np.full((1, classes), -50.0)
        sure[0, 0] = 50.0
        loss = user.SoftmaxTwiceCrossEntropy().forward(be.asarray(sure), be.asarray([0]))
        assert float(loss) == pytest.approx(cases.softmax_twice_floor(classes), rel=1e-9)
    assert cases.softmax_twice_floor(2) == pytest.approx(np.log(1 + 1 / np.e))


def test_sum_not_mean_is_the_mean_times_n():
    be = tn.get_backend("numpy")
    logits, labels = be.asarray(np.random.default_rng(2).normal(size=(7, 2))), be.asarray([0, 1, 1, 0, 1, 0, 0])
    mean, total = tn.SoftmaxCrossEntropy(), user.SumCrossEntropy()
    assert float(total.forward(logits, labels)) == pytest.approx(7 * float(mean.forward(logits, labels)))
    np.testing.assert_allclose(total.backward(), 7 * mean.backward())


def test_constant_init_makes_every_hidden_unit_the_same_and_the_hook_sees_it():
    model = tn.create_model([2, 8, 8, 2], seed=0)
    user.constant_init(model)
    x = np.random.default_rng(0).uniform(-1, 1, size=(10, 2)).astype("float32")
    m = measures.measure_symmetry(model, x, np.zeros(10, dtype=int))
    assert m == {"unit_spread": 0.0}  # its own number alone: no other case's
    healthy = measures.measure_symmetry(tn.create_model([2, 8, 8, 2], seed=0), x, np.zeros(10, dtype=int))
    assert healthy["unit_spread"] > 0.01


def test_data_breakages_change_only_what_they_say():
    from tinynet.data import make_dataset

    data = make_dataset("xor", 40, seed=0, val_fraction=0.5)
    scaled = user.scaled_inputs(data)
    np.testing.assert_array_equal(scaled.x_train, data.x_train * 1000)
    np.testing.assert_array_equal(scaled.y_train, data.y_train)
    shuffled = user.shuffled_labels(data, seed=0)
    np.testing.assert_array_equal(shuffled.x_train, data.x_train)
    np.testing.assert_array_equal(shuffled.y_val, data.y_val)  # fresh examples keep their true labels
    assert sorted(shuffled.y_train) == sorted(data.y_train) and not np.array_equal(shuffled.y_train, data.y_train)


# --- the ReLU-last case's story, seed by seed and across seeds -------------------------------------
def relu_verdict(h, healthy, seed):
    return cases.RELU_LAST.verdict(Trial(h, healthy, 0.01, 0.01), seed)


class FakeHistory:
    """The fields Part 3's ReLU-last claim reads, for a run measured at steps 0, 100, 200, 300."""

    def __init__(self, final_loss, dead_units, stranded):
        self.loss = [0.70, 0.60, 0.50, final_loss]
        self.eval_steps = [0, 100, 200, 300]
        self.measured = {"dead_units": dead_units, "stranded": stranded, "logits_clipped": [0.3] * 4}


def test_relu_last_explanation_with_a_dead_output_unit():
    h = FakeHistory(0.53, dead_units=[[], [0], [0], [0]], stranded=[0.70, 0.74, 0.76, 0.76])
    c = relu_verdict(h, FakeHistory(0.03, [[]] * 4, [0.0] * 4), 3)
    m, text = c.measured, c.explanation
    assert c.reproduced is True and m["dead_output_units_at_end"] == [0] and m["revived_output_units"] == {}
    assert m["loss_floor_at_end"] == pytest.approx(0.76 * math.log(2))
    assert text.startswith("Seed 3 stalled: the loss ended at 0.53, above 0.1")
    assert "76% of the examples" in text and f"floor of {0.76 * math.log(2):.3g}" in text
    assert "Output unit 0 ended dead" in text and "learning went on" not in text
    assert "started with 70% of the examples stranded and no output unit dead" in text


def test_relu_last_explanation_without_dead_units_and_with_a_revival():
    h = FakeHistory(0.04, dead_units=[[1], [1], [], []], stranded=[0.6, 0.3, 0.0, 0.0])
    c = relu_verdict(h, FakeHistory(0.03, [[]] * 4, [0.0] * 4), 1)
    text = c.explanation
    assert c.reproduced is False and c.measured["revived_output_units"] == {"1": [200]}
    assert text.startswith("Seed 1 learned: the loss fell to 0.04")
    assert "no example had its own class's logit clipped" in text and "No output unit was dead at the end" in text
    assert "started with 60% of the examples stranded and output unit 1 dead" in text
    assert "Output unit 1 came back from dead at step 200" in text


def test_relu_last_explanation_when_stalled_without_a_dead_unit():
    """Seed 1 of the default data: stranded examples hold the loss up with no unit dead."""
    h = FakeHistory(0.36, dead_units=[[1], [1], [], []], stranded=[0.68, 0.70, 0.46, 0.46])
    text = relu_verdict(h, FakeHistory(0.04, [[]] * 4, [0.0] * 4), 1).explanation
    assert "stalled" in text and "No output unit was dead at the end" in text
    assert f"floor of {0.46 * math.log(2):.3g} under the mean loss that holds it up" in text



def test_the_sentence_across_seeds_says_held_up_only_when_every_floor_does():
    def seed_claim(seed, final, floor):
        h = FakeHistory(final, dead_units=[[]] * 4, stranded=[0.5, 0.5, 0.5, floor / math.log(2)])
        return relu_verdict(h, FakeHistory(0.03, [[]] * 4, [0.0] * 4), seed)

    study = {"inits": 10, "with_dead_unit": 0.3, "stranded_median": 0.5}
    high = {Seed(1, 1, 1): seed_claim(1, 0.36, 0.32), Seed(2, 2, 2): seed_claim(2, 0.50, 0.45)}
    assert "held up by the examples" in log_cases.why_relu_last(high, [], {"init_study": study})
    mixed = {Seed(1, 1, 1): seed_claim(1, 0.36, 0.32), Seed(2, 2, 2): seed_claim(2, 0.30, 0.02)}
    text = log_cases.why_relu_last(mixed, [], {"init_study": study})
    assert "held up" not in text and "with these shares of examples" in text



def test_relu_last_explanation_of_a_flat_or_rising_loss():
    flat = FakeHistory(0.69, dead_units=[[0, 1]] * 4, stranded=[1.0] * 4)
    flat.loss = [0.70, 0.70, 0.69, 0.69]
    text = relu_verdict(flat, FakeHistory(0.03, [[]] * 4, [0.0] * 4), 5).explanation
    assert text.startswith("Seed 5 stalled: the loss fell by only 1%, to 0.69")
    rising = FakeHistory(0.75, dead_units=[[0, 1]] * 4, stranded=[1.0] * 4)
    rising.loss = [0.70, 0.72, 0.74, 0.75]
    text = relu_verdict(rising, FakeHistory(0.03, [[]] * 4, [0.0] * 4), 5).explanation
    assert "the loss rose by 7%, to 0.75" in text and "-" not in text.split(",")[0]


# --- --cases --------------------------------------------------------------------
@pytest.mark.parametrize("text, names", [("log", ("lr10", "relu_last")), ("all", part3_break.ALL_CASES),
                                         ("softmax_twice, lr10", ("softmax_twice", "lr10"))])
def test_the_cases_flag(text, names):
    assert part3_break.flags.read(part3_break.PART3, ["--cases", text, "--out", "runs/flag-test"]).cases == names


def test_an_unknown_case_is_one_line_naming_the_choices(capsys):
    with pytest.raises(SystemExit) as info:
        part3_break.main(["--cases", "softmax_thrice", "--out", "runs/flag-test"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and len(err.strip().splitlines()) == 1
    assert "unknown case 'softmax_thrice'" in err and "constant_init" in err


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


def test_a_run_keeps_its_colour_in_both_panels_of_a_case_figure():
    from experiments.part3.figures import colours

    assert colours(["healthy", "sum not mean"]) == ["C0", "C1"]
    assert colours(["summed loss", "healthy"]) == ["C1", "C0"]  # the right panel's order does not matter
    assert colours(["train", "validation"]) == ["C1", "C2"]


def test_the_number_quoted_across_seeds_is_the_one_judged():
    """A flat loss is judged on the share of the loss lost; a divergence on its step."""
    assert cases.SIGMOID_DEEP.key == "fraction_of_loss_lost" and cases.LR_TOO_SMALL.key == "fraction_of_loss_lost"
    assert cases.SUM_NOT_MEAN.key == "diverged_at_step" and cases.LR10.key == "diverged_at_step"


def test_a_quick_run_has_a_folder_of_its_own():
    from experiments.harness import flags

    parser = flags.parser("", default_steps=5)
    assert flags.parse(parser, ["--quick"], "part3_break").out.name == "part3_break-quick"
    assert flags.parse(parser, [], "part3_break").out.name == "part3_break"
