"""experiments/harness/verdicts.py: the one rule across seeds, the 95% intervals, and the
predicates that turn the log's words into numbers, each on synthetic numbers both ways."""
from __future__ import annotations

import math

import pytest

from experiments.harness import verdicts
from experiments.harness.seeds import Seed
from experiments.harness.verdicts import Judged, Verdict


def test_the_verdict_rule():
    assert verdicts.overall_verdict(5, 5) == "reproduced"
    assert verdicts.overall_verdict(0, 5) == "not reproduced"
    assert verdicts.overall_verdict(2, 5) == "reproduced in 2 of 5 seeds"
    assert verdicts.overall_verdict(0, 0) == "not judged"


def fake_verdict(reproduced: bool, loss: float) -> Verdict:
    return Verdict({"final_loss": loss, "threshold": 0.1}, reproduced, f"one seed's story, loss {loss}")


@pytest.mark.parametrize("outcomes, k, verdict, says", [
    ([True, True, True], 3, "reproduced", "Reproduced on every seed: seeds 0, 1, 2 (final_loss 0.5, 0.6, 0.7)"),
    ([False, False, False], 0, "not reproduced", "Reproduced on no seed: seeds 0, 1, 2"),
    ([True, False, True], 2, "reproduced in 2 of 3 seeds", "Reproduced on seeds 0, 2 (final_loss 0.5, 0.7); "
                                                           "not on seed 1 (final_loss 0.6)"),
])
def test_claims_across_seeds_all_none_some(outcomes, k, verdict, says):
    per_seed = {Seed(i, i, i): fake_verdict(r, 0.5 + i / 10) for i, r in enumerate(outcomes)}
    c = verdicts.across_seeds("some_claim", "the log's words", per_seed, key="final_loss")
    assert (c["id"], c["log_says"]) == ("some_claim", "the log's words")
    assert (c["reproduced_in"], c["seeds"], c["verdict"]) == (k, 3, verdict)
    assert c["reproduced"] is (k == 3)
    assert says in c["explanation"]
    assert c["measured"] == {"final_loss": [0.5, 0.6, 0.7], "threshold": 0.1}  # per seed; the same once
    assert [e["explanation"] for e in c["per_seed"]] == [f"one seed's story, loss {0.5 + i / 10}" for i in range(3)]


def test_a_claim_judged_on_no_seed_says_neither_reproduced_nor_refuted():
    """Every seed cut short, or a run shorter than the claim's thresholds were set for: the claim
    records no verdict (reproduced null), never a false that reads as refuted."""
    per_seed = {Seed(0, 0, 0): fake_verdict(True, 0.5)}
    every_seed_cut = verdicts.across_seeds("some_claim", "the log's words", per_seed, cut_short=[Seed(0, 0, 0)])
    assert (every_seed_cut["seeds"], every_seed_cut["verdict"], every_seed_cut["reproduced"]) == (0, "not judged", None)
    short = verdicts.not_judged_at_length("some_claim", "the log's words", per_seed, steps=300, full_steps=5000)
    assert short["reproduced"] is None and short["per_seed"][0]["reproduced"] is None


def test_interrupted_seeds_are_kept_but_not_counted_and_said_so():
    per_seed = {Seed(i, i, i): fake_verdict(r, 0.5) for i, r in enumerate([True, False, True])}
    c = verdicts.across_seeds("some_claim", "the log's words", per_seed, cut_short=[Seed(2, 2, 2)], key="final_loss")
    assert (c["reproduced_in"], c["seeds"], c["verdict"]) == (1, 2, "reproduced in 1 of 2 seeds")
    assert "Not judged: seed 2 (interrupted)" in c["explanation"]
    assert [e["interrupted"] for e in c["per_seed"]] == [False, False, True]


# --- verdict logic on synthetic histories, both outcomes ---------------------------------------
def test_verdicts_on_synthetic_numbers():
    assert verdicts.loss_close_to_ln_c(math.log(2) + 0.01, 2) and not verdicts.loss_close_to_ln_c(1.0, 2)
    assert verdicts.loss_close_to_ln_c(math.log(10) - 0.01, 10) and not verdicts.loss_close_to_ln_c(math.log(2), 10)
    assert verdicts.near_zero(0.01) and not verdicts.near_zero(0.2) and not verdicts.near_zero(float("nan"))
    assert verdicts.diverged_immediately(3) and not verdicts.diverged_immediately(5000)
    assert not verdicts.diverged_immediately(None)
    assert verdicts.stable(None, [0.7, 0.5, 0.1]) and not verdicts.stable(12, [0.7, 50.0])
    assert not verdicts.stable(None, [0.7, 0.8])
    assert verdicts.wider_is_faster({25: 9000, 100: 4000, 500: 800})
    assert not verdicts.wider_is_faster({25: 900, 100: 4000, 500: 800})
    assert not verdicts.wider_is_faster({25: None, 100: None, 500: None})
    assert verdicts.wider_is_faster({25: None, 500: 800})
    assert verdicts.converged(0.05) and not verdicts.converged(0.3)
    assert verdicts.near_baseline(0.62, 0.60) and not verdicts.near_baseline(0.95, 0.60)
    assert verdicts.time_grows(2.0, 15.0) and not verdicts.time_grows(2.0, 3.0)


@pytest.mark.parametrize("losses, healthy, stopped", [
    ([0.70, 0.69, 0.68], 0.03, True),  # flat
    ([0.70, 0.50, 0.36], 0.04, True),  # high: stuck far above a healthy model that converged
    ([0.70, 0.30, 0.04], 0.03, False),  # learned like the healthy model
    ([0.70, 0.50, 0.36], 0.30, False),  # not high: the healthy model did not converge either
])
def test_stopped_learning_reads_high_or_flat(losses, healthy, stopped):
    assert verdicts.stopped_learning(losses, healthy) is stopped


@pytest.mark.parametrize("k, n, low, high", [(0, 5, 0.0, 0.4345), (2, 5, 0.1176, 0.7693), (5, 5, 0.5655, 1.0),
                                             (12, 20, 0.3866, 0.7812)])
def test_the_wilson_interval_against_known_values(k, n, low, high):
    got = verdicts.wilson_interval(k, n)
    assert got == pytest.approx((low, high), abs=5e-5)


def test_k_of_n_is_printed_with_its_interval():
    assert verdicts.k_of_n(2, 5) == "2/5 (95% CI 12-77%)"
    assert verdicts.k_of_n(12, 20) == "12/20 (95% CI 39-78%)"
    assert verdicts.wilson_interval(0, 0) == (0.0, 1.0)


def test_a_claim_carries_its_interval():
    per_seed = {Seed(i, i, i): Verdict({"x": 1.0}, i < 2, "story") for i in range(5)}
    claim = verdicts.across_seeds("c", "words", per_seed)
    assert (claim["reproduced_in"], claim["seeds"]) == (2, 5)
    assert claim["interval"] == pytest.approx([0.1176, 0.7693], abs=5e-5)


def test_judged_counts_the_seeds_not_cut_short_and_shows_the_first_where_it_happened():
    per_seed = {Seed(i, i, i): Verdict({}, r, "") for i, r in enumerate([False, True, True])}
    j = Judged(per_seed, (Seed(1, 1, 1),))
    assert (j.k, j.n) == (1, 2) and j.shown() == Seed(2, 2, 2)
    assert Judged({Seed(4, 4, 4): Verdict({}, False, "")}).shown() == Seed(4, 4, 4)
