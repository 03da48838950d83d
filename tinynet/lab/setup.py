"""A lab run's set-up: every field the page offers, checked, and its two round trips: to the
page's address (``query`` / ``from_query``, so that a link opens the same run) and to a
Python script using tinynet's public API (``as_python``: the same run, the same losses).

Every field is checked here, on the server, whatever the browser sent: a bad value raises
``FieldError``, which names the field and what it accepts, in one sentence for the page.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping

from ..breakages import BY_NAME
from ..data import DATASETS, DIGITS_EXAMPLES, most_examples, shape_of, with_ends
from ..layers import INIT_SCHEMES

ACTIVATIONS = ("relu", "sigmoid")  # sigmoid: tinynet.breakages.Sigmoid, a layer as a learner writes it
OPTIMIZERS = ("sgd", "momentum")  # momentum: SGD with momentum 0.9
MOMENTUM = 0.9
CASES = ("healthy", *BY_NAME)  # the break-it menu: healthy, or a way to break training by its name
MAX_EXAMPLES = 10_000
MAX_STEPS = 1_000_000
MAX_WIDTH = 4096
# A model the page will build: its weights, its gradients and the optimizer's velocity, and one
# full-batch forward pass, have to fit a laptop with room to spare; 20 M parameters is 80 MB of
# float32 weights, and a step of such a model is already seconds on a CPU.
MAX_PARAMETERS = 20_000_000
SHAPES = {name: shape_of(name) for name in DATASETS}  # (inputs, classes): (2, 2), digits (64, 10)


class FieldError(ValueError):
    """A field's value that the lab does not accept: ``field`` names it, the message says what it accepts."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Setup:
    """One run, as the page's fields set it. The defaults are the page's first run."""

    dataset: str = "xor"
    examples: int = 100  # training examples; a fifth as many more for validation
    layers: tuple[int, ...] = (2, 16, 16, 2)
    activation: str = "relu"
    init: str = "torch"
    lr: float = 0.1
    batch: int | None = None  # None: the whole training set each step
    optimizer: str = "sgd"
    steps: int = 2000
    seed: int = 0  # of the data, the initial weights and the mini-batch order
    case: str = "healthy"

    # --- What the run uses, after its case's settings --------------------------------------------
    @property
    def breakage(self) -> Any:
        return None if self.case == "healthy" else BY_NAME[self.case]

    @property
    def overrides(self) -> dict[str, Any]:
        """The settings the case sets in place of the fields' (lr, sizes, val_fraction)."""
        return {} if self.breakage is None else dict(self.breakage.settings)

    @property
    def run_lr(self) -> float:
        return self.overrides.get("lr", self.lr)

    @property
    def run_layers(self) -> tuple[int, ...]:
        """The fields' layers, or the case's (a deeper net), given the data's inputs and classes."""
        if "sizes" in self.overrides:
            return with_ends(self.overrides["sizes"], self.dataset)
        return self.layers

    @property
    def val_fraction(self) -> float:
        return self.overrides.get("val_fraction", 0.2)

    @property
    def momentum(self) -> float:
        return MOMENTUM if self.optimizer == "momentum" else 0.0

    # --- The address ---------------------------------------------------------------------------
    def query(self) -> dict[str, str]:
        """The fields as the page's address holds them, every one as text."""
        return {"dataset": self.dataset, "examples": str(self.examples), "layers": ",".join(map(str, self.layers)),
                "activation": self.activation, "init": self.init, "lr": repr(self.lr),
                "batch": "full" if self.batch is None else str(self.batch), "optimizer": self.optimizer,
                "steps": str(self.steps), "seed": str(self.seed), "case": self.case}

    @classmethod
    def from_query(cls, fields: Mapping[str, Any]) -> Setup:
        """A Setup from text fields (an address's query, a form); a field left out keeps its
        default. Raises FieldError for the first field that is wrong, or unknown."""
        unknown = sorted(set(fields) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise FieldError(unknown[0], f"{unknown[0]}: not a field of the lab; the fields are "
                                         f"{', '.join(f.name for f in dataclasses.fields(cls))}")
        values: dict[str, Any] = {}
        for name, text in fields.items():
            if not isinstance(text, str):
                raise FieldError(name, f"{name}: expected text, got {type(text).__name__}")
            values[name] = PARSERS[name](text.strip())
        setup = cls(**values)
        setup.check()
        return setup

    def check(self) -> None:
        """What depends on more than one field: the layer sizes against the data, the batch
        against the examples, the model's size."""
        layers = self.run_layers
        inputs, classes = SHAPES[self.dataset]
        if layers[0] != inputs or layers[-1] != classes:
            raise FieldError("layers", f"layers: the first size is the inputs ({inputs} for {self.dataset}) and the "
                                       f"last the classes ({classes}), e.g. {inputs},16,16,{classes}; got "
                                       f"{','.join(map(str, layers))}")
        if self.dataset == "digits" and self.examples > most_examples(DIGITS_EXAMPLES, self.val_fraction):
            most = most_examples(DIGITS_EXAMPLES, self.val_fraction)
            raise FieldError("examples", f"examples: digits has {DIGITS_EXAMPLES:,} images, so at most {most:,} "
                                         f"training examples (with {self.val_fraction:.0%} as many more held out "
                                         f"for validation); got {self.examples:,}")
        if self.batch is not None and self.batch > self.examples:
            raise FieldError("batch", f"batch: at most the {self.examples} training examples, or full; "
                                      f"got {self.batch}")
        params = sum(a * b + b for a, b in zip(layers, layers[1:]))
        if params > MAX_PARAMETERS:
            raise FieldError("layers", f"layers: this model has {params:,} parameters, more than the lab builds "
                                       f"({MAX_PARAMETERS:,}: a step would take seconds); use narrower layers")


# --- Each field from its text --------------------------------------------------------------------
def choice(name: str, options: tuple[str, ...]) -> Any:
    def parse(text: str) -> str:
        if text not in options:
            raise FieldError(name, f"{name}: one of {', '.join(options)}; got {text!r}")
        return text
    return parse


def whole(name: str, lo: int, hi: int, example: str) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise FieldError(name, f"{name}: a whole number from {lo:,} to {hi:,}, e.g. {example}; "
                                   f"got {text!r}") from None
        if not lo <= value <= hi:
            raise FieldError(name, f"{name}: a whole number from {lo:,} to {hi:,}; got {value:,}")
        return value
    return parse


def parse_layers(text: str) -> tuple[int, ...]:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) < 2 or not all(p.isdigit() and 1 <= int(p) <= MAX_WIDTH for p in parts):
        raise FieldError("layers", f"layers: sizes from 1 to {MAX_WIDTH:,} separated by commas, inputs first and "
                                   f"classes last, e.g. 2,16,16,2; got {text!r}")
    return tuple(int(p) for p in parts)


def parse_lr(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= 1000):
        raise FieldError("lr", f"lr: a number above 0 and at most 1000, e.g. 0.1; got {text!r}")
    return value


def parse_batch(text: str) -> int | None:
    if text in ("full", ""):
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_EXAMPLES:
        raise FieldError("batch", f"batch: full (every example each step) or a whole number of examples from 1 to "
                                  f"{MAX_EXAMPLES:,}; got {text!r}")
    return value


PARSERS = {
    "dataset": choice("dataset", DATASETS),
    "examples": whole("examples", 2, MAX_EXAMPLES, "100"),
    "layers": parse_layers,
    "activation": choice("activation", ACTIVATIONS),
    "init": choice("init", INIT_SCHEMES),
    "lr": parse_lr,
    "batch": parse_batch,
    "optimizer": choice("optimizer", OPTIMIZERS),
    "steps": whole("steps", 1, MAX_STEPS, "2000"),
    "seed": whole("seed", 0, 2 ** 31 - 1, "0"),
    "case": choice("case", CASES),
}


def as_python(setup: Setup) -> str:
    """A script, on tinynet's public API alone, that trains the same run: its losses equal the
    page's, bit for bit (the tests run it in a child process and compare)."""
    s = setup
    lines = ['"""A run of the tinynet lab, as Python: python run.py"""',
             "import tinynet as tn"]
    if s.activation == "sigmoid" or s.breakage is not None:
        lines.append("from tinynet import breakages")
    lines += ["from tinynet.data import make_dataset", "",
              f"data = make_dataset({s.dataset!r}, {s.examples}, seed={s.seed}, val_fraction={s.val_fraction!r})",
              f"model = tn.create_model({list(s.run_layers)}, seed={s.seed}, init={s.init!r})"]
    options = ""
    if s.activation == "sigmoid":
        lines.append("model = breakages.with_sigmoids(model)  # a Sigmoid wherever create_model put a ReLU")
    if s.breakage is not None:
        lines += [f"# broken on purpose: {s.breakage.broken}",
                  f"model, data, options = breakages.BY_NAME[{s.case!r}].apply(model, data, data_seed={s.seed})"]
        options = ", **options"
    momentum = f", momentum={s.momentum!r}" if s.momentum else ""
    lines += [f"history = tn.train(model, data, steps={s.steps}, lr={s.run_lr!r}{momentum}, batch_size={s.batch!r}, "
              f"seed={s.seed}{options})",
              "print(history)", ""]
    return "\n".join(lines)
