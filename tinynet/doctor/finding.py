"""What the doctor reports: its causes (a contract: code outside this repository uses these
ids), a finding, and the diagnosis of one run."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Most important first: a wrong gradient makes every other number suspect; then what is wrong
# in the program or the data whatever the run did; then what the run showed.
CAUSES = (
    "wrong_gradient",  # a layer's or the loss's backward disagrees with finite differences
    "softmax_twice",  # the model outputs probabilities, or the loss floors above 0: softmax applied twice
    "output_relu",  # a ReLU, or any clipping, after the last layer with weights: logits cannot go negative
    "loss_summed",  # the loss sums over the batch where the mean belongs
    "random_at_evaluation",  # a layer draws at random in eval mode, where tinynet measures
    "symmetric_init",  # units in a layer start identical and stay identical
    "unnormalised_inputs",  # input features far from unit scale
    "unlearnable_labels",  # the labels carry no signal the inputs can predict
    "lr_too_high",  # steps overshoot: the loss diverges or oscillates
    "weights_collapsed",  # the weights shrank toward 0 (weight decay too strong): no signal, no gradient
    "vanishing_gradients",  # the gradient shrinks layer by layer through saturating activations
    "dead_relus",  # most hidden ReLU units output 0 for every example
    "lr_too_low",  # steps too small for the weights: the loss barely moves
    "too_small",  # the model fits its training data far worse than the data allows: underfitting
    "no_steps",  # the run took no step (stopped before its first): nothing was measured, nothing can be said
    "healthy",  # the run was watched and nothing found
)


@dataclass(frozen=True)
class Finding:
    """One thing the doctor found, with this run's numbers and what to change."""

    id: str  # one of CAUSES
    evidence: str  # what was measured, in this run's numbers
    fix: str  # what to change, in the learner's terms

    def __post_init__(self) -> None:
        if self.id not in CAUSES or self.id == "healthy":
            raise ValueError(f"Finding: unknown cause {self.id!r}; one of {', '.join(CAUSES[:-1])}")


@dataclass
class Diagnosis:
    """The doctor's report on one run: every finding, most important first, and the run's History."""

    findings: list[Finding]
    history: Any  # tinynet.training.History
    checked: list[str] = field(default_factory=list)  # what was looked at, for the report
    interrupted: bool = False

    @property
    def cause(self) -> str:
        """The first finding's id; "healthy" only when nothing was found."""
        return self.findings[0].id if self.findings else "healthy"

    def __str__(self) -> str:
        h = self.history
        run = f"{h.steps_taken} steps" + (f", loss {h.loss[0]:.4g} -> {h.loss[-1]:.4g}" if h.loss else "")
        cut = " [INTERRUPTED: the diagnosis so far]" if self.interrupted else ""
        if not self.findings:
            lines = [f"tinynet doctor: healthy ({run}){cut}: nothing found."]
        else:
            more = f", {len(self.findings)} findings" if len(self.findings) > 1 else ""
            lines = [f"tinynet doctor: {self.cause} ({run}{more}){cut}"]
            for i, f in enumerate(self.findings, 1):
                lines += [f"{i}. {f.id}: {f.evidence}", f"   fix: {f.fix}"]
        if self.checked:
            lines.append("checked: " + "; ".join(self.checked) + ".")
        return "\n".join(lines)

    def __repr__(self) -> str:
        ids = ", ".join(f.id for f in self.findings) or "healthy"
        return f"<Diagnosis {self.cause}: {ids}; {self.history.steps_taken} steps>"

    def _repr_markdown_(self) -> str:  # a notebook shows the report, not the repr
        return "```text\n" + str(self) + "\n```"

    def as_dict(self) -> dict[str, Any]:
        return {"cause": self.cause, "interrupted": self.interrupted,
                "findings": [{"id": f.id, "evidence": f.evidence, "fix": f.fix} for f in self.findings]}
