# %% [markdown]
# # Backpropagation with tinynet: a runnable tutorial
#
# Open it as a notebook (`docs/tutorial.ipynb`, generated from `docs/tutorial.py` with
# jupytext: the same cells) or run it as a script: `python docs/tutorial.py`. It walks from
# two examples done by hand to training the log's model and breaking it on purpose.
# Everything printed is computed as you run it, figures show in place, and three cells
# marked **Your turn** are yours to write: each is checked by one call that says passed,
# what is wrong, or that it is not written yet. The whole notebook runs in under half a
# minute on 2 cores (measured: 18 s as a notebook, 12 s as a script).
#
# 1. A forward and backward pass by hand, on two examples.
# 2. One finite difference by hand: the check behind every gradient in tinynet.
# 3. The gradient checker on every layer.
# 4. Training the log's model `[2, 500, 500, 2]`.
# 5. Breaking it: learning rate 10, and a ReLU after the last layer.
# 6. When your network does not train: asking the doctor.
# 7. Real data: your own network on handwritten digits, and what its first layer learned.

# %%
# Where tinynet is not installed yet (a hosted notebook service), this cell installs it: from
# TINYNET_SOURCE if set (the repository's git URL, git+https://..., or a folder), else from
# the clone this notebook sits in (docs/ of the repository).
import importlib.util
import os
import pathlib
import subprocess
import sys

if importlib.util.find_spec("tinynet") is None:
    clone = pathlib.Path.cwd().resolve().parent
    source = os.environ.get("TINYNET_SOURCE") or (str(clone) if (clone / "tinynet").is_dir() else None)
    if source is None:
        raise RuntimeError("tinynet is not installed here: set TINYNET_SOURCE to the repository's git URL "
                           "(os.environ['TINYNET_SOURCE'] = 'git+https://...'), then run this cell again")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", source], check=True)

# %%
import math

import numpy as np

import tinynet as tn
from tinynet import gradcheck, plots
from tinynet.data import make_dataset
from tinynet.testing import assert_backward_correct, assert_loss_correct

STEPS = int(os.environ.get("TUTORIAL_STEPS", "3000"))  # training steps in parts 4 and 5
OUT = pathlib.Path(os.environ.get("TUTORIAL_OUT", "runs/tutorial"))  # where the figures go
OUT.mkdir(parents=True, exist_ok=True)
np.set_printoptions(precision=6, suppress=True)


def shown(a):
    """a as printed: rounded to the 6 decimals shown (a rounding error of 1e-18 is 0 here, not
    -0.), and + 0.0 turns a negative zero into 0."""
    return np.round(a, 6) + 0.0


def show(path):
    """A figure written by tinynet.plots: shown in place in a notebook, named when run as a script."""
    if "ipykernel" in sys.modules:
        from IPython.display import Image, display

        display(Image(filename=str(path)))
    else:
        print(f"figure: {path}")


def check(what, call):
    """A Your-turn cell's check: runs ``call`` and says passed, what is wrong, or not written yet."""
    try:
        call()
    except NotImplementedError:
        print(f"{what}: not written yet")
    except AssertionError as e:
        print(f"{what}: not yet right\n{e}")
    else:
        print(f"{what}: passed")

# %% [markdown]
# ## 1. Forward and backward by hand
#
# The model `Linear -> ReLU -> Linear` with 2 inputs, 2 hidden units and 2 classes, on
# N = 2 examples. These are the numbers of section 5 of `docs/backprop.md`: every line
# below is one line of the derivation there. Batches are rows: `x` is (N, 2).

# %%
x = np.array([[1.0, 2.0], [3.0, -1.0]])  # (N, 2): two examples
y = np.array([1, 0])  # (N,): their labels
W1, b1 = np.array([[1.0, -1.0], [0.0, 1.0]]), np.array([0.0, 1.0])
W2, b2 = np.array([[1.0, 0.0], [-1.0, 1.0]]), np.array([0.0, 0.0])

z1 = x @ W1 + b1  # (N, 2): first layer
mask = z1 > 0  # (N, 2): which hidden units are on
h = np.maximum(z1, 0)  # (N, 2): ReLU
z2 = h @ W2 + b2  # (N, 2): logits
p = np.exp(z2) / np.exp(z2).sum(axis=1, keepdims=True)  # (N, 2): softmax, row by row
N = len(x)
L = -np.log(p[np.arange(N), y]).mean()  # the mean cross-entropy
print("z1 =\n", shown(z1), "\nh =\n", shown(h), "\nz2 =\n", shown(z2), "\np =\n", shown(p), "\nL =", round(L, 6))

# %% [markdown]
# Backward: start from the loss and apply the chain rule layer by layer, in reverse. Each
# gradient has the shape of what it is the gradient of.

# %%
onehot = np.eye(2)[y]  # (N, 2): 1 at each row's label
dz2 = (p - onehot) / N  # (N, 2): softmax and cross-entropy together
dW2 = h.T @ dz2  # (2, 2): every example contributes
db2 = dz2.sum(axis=0)  # (2,): b2 feeds every row, so its gradient sums over them
dh = dz2 @ W2.T  # (N, 2)
dz1 = dh * mask  # (N, 2): no gradient through a unit that was off
dW1 = x.T @ dz1  # (2, 2)
db1 = dz1.sum(axis=0)  # (2,)
dx = dz1 @ W1.T  # (N, 2)
print("dz2 =\n", shown(dz2), "\ndW2 =\n", shown(dW2), "\ndb2 =", shown(db2), "\ndW1 =\n", shown(dW1),
      "\ndb1 =", shown(db1), "\ndx =\n", shown(dx))

# %% [markdown]
# tinynet does exactly this. Build the same model, put the same numbers in, and compare.

# %%
be = tn.get_backend("numpy")
model = tn.create_model([2, 2, 2], dtype="float64", backend=be)
first, relu, second = model.layers
first.W, first.b, second.W, second.b = W1, b1, W2, b2
loss_fn = tn.SoftmaxCrossEntropy()
loss = loss_fn.forward(model.forward(x), y)
model.backward(loss_fn.backward())
for name, mine, theirs in [("L", L, float(loss)), ("dW1", dW1, first.dW), ("db1", db1, first.db),
                           ("dW2", dW2, second.dW), ("db2", db2, second.db)]:
    print(f"{name}: by hand and tinynet agree: {np.allclose(mine, theirs)}")

# %% [markdown]
# ## 2. One finite difference by hand
#
# How do we know a gradient is right? Nudge one weight up and down by a small `h`, and see
# how the loss moves: `(L(w + h) - L(w - h)) / 2h` approximates `dL/dw` with an error of
# order `h^2`. Do it for `W1[1, 0]`, whose gradient backprop says is `dW1[1, 0]`.

# %%
def loss_with(W1_changed):
    z1 = x @ W1_changed + b1
    z2 = np.maximum(z1, 0) @ W2 + b2
    p = np.exp(z2) / np.exp(z2).sum(axis=1, keepdims=True)
    return -np.log(p[np.arange(N), y]).mean()


step = 1e-5
up, down = W1.copy(), W1.copy()
up[1, 0] += step
down[1, 0] -= step
numeric = (loss_with(up) - loss_with(down)) / (2 * step)
print(f"backprop {dW1[1, 0]:.10f}   finite difference {numeric:.10f}   "
      f"relative error {abs(dW1[1, 0] - numeric) / (abs(dW1[1, 0]) + abs(numeric)):.1e}")

# %% [markdown]
# **Your turn (1).** The same for a weight of the last layer: the finite difference of `L`
# with respect to `W2[0, 1]`, which backprop says is `dW2[0, 1]`. Write the loss as a
# function of `W2` (as `loss_with` is of `W1`), then nudge `W2[0, 1]` by `step` both ways.


# %%
def my_finite_difference_dW2_01():
    """Returns (L(W2[0, 1] + step) - L(W2[0, 1] - step)) / (2 step)."""
    raise NotImplementedError  # your code here


check("dL/dW2[0, 1] by a finite difference",
      lambda: np.testing.assert_allclose(my_finite_difference_dW2_01(), dW2[0, 1], rtol=1e-6))

# %% [markdown]
# ## 3. The gradient checker, on every layer
#
# `tinynet.gradcheck` does this for every entry of every parameter and of the input, in
# float64, with a random upstream gradient (so that a transposed result cannot hide), and
# skips the entries where a step of `h` would cross a ReLU's kink at 0.

# %%
rng = np.random.default_rng(0)
inputs = rng.normal(size=(5, 3))  # (N, D) = (5, 3)
print(gradcheck.format_table(gradcheck.check_layer(tn.Linear(3, 4, seed=0, dtype="float64"), inputs),
                             title="Linear(3->4): dW, db and dL/dx"))
print(gradcheck.format_table(gradcheck.check_layer(tn.ReLU(), inputs), title="ReLU(): dL/dx"))
print(gradcheck.format_table(gradcheck.check_loss(tn.SoftmaxCrossEntropy(), inputs, np.array([0, 2, 1, 0, 2])),
                             title="SoftmaxCrossEntropy(): dL/dlogits"))

# %% [markdown]
# **Your turn (2).** Softplus, `out = log(1 + exp(x))`, a smooth ReLU. Its forward is
# written; write its backward (`d out / dx` is the sigmoid of `x`, and the chain rule
# multiplies by `dout`). `assert_backward_correct` checks it against finite differences.


# %%
class Softplus:
    """out = log(1 + exp(x)): (N, D) -> (N, D), elementwise. No parameters."""

    param_names = ()

    def forward(self, x):
        self.x = x  # (N, D), kept for backward
        return np.logaddexp(0.0, x)  # log(1 + exp(x)), without overflow

    def backward(self, dout):
        """dout = dL/dout: (N, D) -> dL/dx: (N, D)."""
        raise NotImplementedError  # your code here


check("Softplus.backward", lambda: assert_backward_correct(Softplus(), inputs))

# %% [markdown]
# **Your turn (3).** A loss of your own: the mean absolute error over the batch,
# `L = (1/N) sum_n sum_d |pred[n, d] - target[n, d]|`. Write its backward: `dL/dpred` has the
# shape of `pred`, each entry the sign of its error over N, times `dout`.


# %%
class MeanAbsoluteError:
    def forward(self, pred, target):
        """pred: (N, D), target: (N, D) -> L: a number."""
        self.diff = pred - target  # (N, D), kept for backward
        return np.abs(self.diff).sum() / len(pred)

    def backward(self, dout=1.0):
        """dout = dL_total/dL: a number -> dL/dpred: (N, D)."""
        raise NotImplementedError  # your code here


targets = rng.normal(size=(5, 3))  # (N, D): away from inputs, so no |error| sits at its kink 0
check("MeanAbsoluteError.backward", lambda: assert_loss_correct(MeanAbsoluteError(), inputs, targets))

# %% [markdown]
# ## 4. Training the log's model
#
# The log trained `[2, 500, 500, 2]` (Linear, ReLU, Linear, ReLU, Linear) with full-batch
# gradient descent at lr 0.01 on 100 examples. Here the data is `xor`: label 1 where
# `x1 * x2 > 0`, a pattern no straight line separates.

# %%
data = make_dataset("xor", 100, seed=3)
model = tn.create_model([2, 500, 500, 2], seed=3)
healthy = tn.train(model, data, lr=0.01, steps=STEPS, seed=3, progress=False)
print(f"healthy: loss {healthy.loss[0]:.4f} -> {healthy.loss[-1]:.4f}, train accuracy {healthy.train_acc[-1]:.0%}")

# %% [markdown]
# The run in one picture: the loss at every step, the accuracies, each layer's gradient norm
# and the decision boundary. In a notebook it shows below the cell. To watch a run live, and
# break it from a menu, run `python -m tinynet.lab` (docs/lab.md).

# %%
healthy.plot(model, data)

# %% [markdown]
# ## 5. Breaking it on purpose
#
# **Learning rate 10.** Each update is 1,000 times larger than at 0.01, along the same
# gradient: the first step overshoots, and the loss explodes. `train` stops a run whose
# loss is not finite or more than 10 times its start.

# %%
too_fast = tn.train(tn.create_model([2, 500, 500, 2], seed=3), data, lr=10.0, steps=STEPS, seed=3, progress=False)
print(f"lr 10: loss {too_fast.loss[0]:.4f} -> {too_fast.loss[-1]:.4g}, diverged at step {too_fast.diverged_at}")

# %% [markdown]
# **A ReLU after the last layer.** Now a logit can never be negative, and a logit clipped to
# 0 gets no gradient. An example whose *own* class's logit is clipped is stranded: no gradient
# of its own raises that logit again, and while it stays clipped its loss is ln 2 = 0.693 or
# more. With seed 3, most
# examples start out stranded, and the loss cannot fall below ln 2 times their share.
# (With other seeds, few start stranded and the model learns anyway:
# `python experiments/part3_break.py` measures how often, over several seeds.)
#
# `train` records the loss, the accuracies and the gradient norms by itself; a number of
# your own reaches the history through its `measure` hook, a function of the model and the
# training set called at every measurement. Here: the share of examples stranded.


# %%
def stranded(model, x, labels):
    """The share of examples whose own class's logit is <= 0: clipped to 0 by a last ReLU."""
    logits = model.forward(x)  # (N, C)
    own = logits[np.arange(len(labels)), labels]  # (N,): each example's own logit
    return {"stranded": float(np.mean(own <= 0))}


clipped = tn.Sequential(*tn.create_model([2, 500, 500, 2], seed=3).layers, tn.ReLU())  # one ReLU too many
relu_last = tn.train(clipped, data, lr=0.01, steps=STEPS, seed=3, progress=False, measure=stranded)
share = relu_last.measured["stranded"][-1]
loss_floor = math.log(2) * share
print(f"ReLU last: loss {relu_last.loss[0]:.4f} -> {relu_last.loss[-1]:.4f} (healthy: {healthy.loss[-1]:.4f}); "
      f"{share:.0%} of the examples stranded, a loss floor of {loss_floor:.3f} (ln 2 x {share:.0%})")

# %%
plots.loss_curves({"healthy, lr 0.01": healthy.loss, "lr 10": too_fast.loss, "ReLU last, lr 0.01": relu_last.loss},
                  "Training loss: healthy, lr 10, ReLU last (seed 3)", OUT / "losses.png",
                  marks={"lr 10": too_fast.diverged_at})
show(OUT / "losses.png")
plots.series({"ReLU last": (relu_last.eval_steps, relu_last.measured["stranded"])},
             "ReLU last: examples whose own logit is clipped to 0", "fraction of examples", OUT / "stranded.png",
             ylim=(-0.02, 1.02))
show(OUT / "stranded.png")

# %% [markdown]
# ## 6. When your network does not train
#
# Here the failures were ours, prepared. Yours will not come labelled. Say you write your own
# sigmoid, and slip: its derivative is `out * (1 - out)`, and you forget the `(1 - out)`. The
# network still trains, a little, and nothing tells you why it is poor. Ask the doctor:
# `tn.diagnose` takes exactly the arguments of `tn.train`, trains the same way, and says what
# it found, with this run's numbers and the fix.


# %%
class MySigmoid:
    """out = 1 / (1 + exp(-x)): (N, D) -> (N, D). A learner's, with a slip in backward."""

    param_names = ()

    def forward(self, x):
        self.out = 1 / (1 + np.exp(-x))
        return self.out

    def backward(self, dout):
        return dout * self.out  # the slip: dL/dx = dout * out * (1 - out)


def my_model(sigmoid):
    return tn.Sequential(tn.Linear(2, 64, seed=0), sigmoid, tn.Linear(64, 2, seed=1))


report = tn.diagnose(my_model(MySigmoid()), data, lr=0.5, steps=STEPS, seed=0, progress=False)
print(report)

# %% [markdown]
# The first finding names the layer, the tensor, and the worst entry, with backprop's value,
# the finite difference's and their ratio. Fix the backward, and ask again:


# %%
class FixedSigmoid(MySigmoid):
    def backward(self, dout):
        return dout * self.out * (1 - self.out)  # (N, D): the whole derivative


report = tn.diagnose(my_model(FixedSigmoid()), data, lr=0.5, steps=STEPS, seed=0, progress=False)
print(report.cause, "| loss", f"{report.history.loss[0]:.3f} -> {report.history.loss[-1]:.3f}")

# %% [markdown]
# `docs/doctor.md` lists every cause the doctor knows, how it measures each, and what you see
# when you have it. For a script of your own, `python -m tinynet.doctor my_script.py` runs it
# unchanged and diagnoses every `tn.train` call it makes.

# %% [markdown]
# ## 7. Real data: handwritten digits
#
# Everything so far was xor: two numbers in, two classes out. `make_dataset("digits", n)`
# gives real data, shipped with tinynet: 8x8 images of handwritten digits, each pixel a
# grey level in [0, 1], so 64 inputs and 10 classes. The network is yours, built from the
# same pieces; only its ends change: 64 in, 10 out. The loss starts near ln 10 = 2.303.

# %%
digits = make_dataset("digits", 1437, seed=0, val_fraction=0.25)  # 1,437 to train on, 359 held out
print(f"{digits.n_features} inputs, {digits.n_classes} classes, images of {digits.image_shape}")
net = tn.Sequential(tn.Linear(64, 128, seed=0), tn.ReLU(), tn.Linear(128, 10, seed=1))
read = tn.train(net, digits, lr=0.5, steps=1000, seed=0, progress=False)
print(f"digits: loss {read.loss[0]:.3f} (ln 10 = {math.log(10):.3f}) -> {read.loss[-1]:.4f}, "
      f"validation accuracy {read.val_acc[-1]:.1%} (always guessing the commonest digit: "
      f"{digits.majority_baseline:.1%})")

# %% [markdown]
# On images, the figure shows what a boundary cannot: each first-layer unit's 64 incoming
# weights drawn as an 8x8 image (blue: ink there pushes the unit up; red: down), the
# confusion matrix of the validation set, and the digits the network got wrong, with its
# guess and the truth.

# %%
read.plot(net, digits)

# %% [markdown]
# The same scripts that test the log's claims on xor take `--dataset digits`;
# `docs/digits.md` says, claim by claim, what held on real data and what did not.

# %% [markdown]
# Where next: `docs/own_layer.md` to write and check a layer of your own, and
# `python -m tinynet.exercises start my_backprop` to write tinynet's backward passes yourself.
