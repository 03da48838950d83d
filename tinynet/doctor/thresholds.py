"""Every threshold the doctor decides by, each with where it comes from.

None is fitted to a data set: each is a property of the arithmetic (a float32 rounding, a
factor that a correct loss cannot show), a rule of thumb from the literature, or a plain
reading of the cause's words ("most", "orders of magnitude"). docs/doctor.md quotes them.

With C classes (digits: 10), each was read again for what depends on C. The numbers a loss
reaches are computed from C where they are used, never fixed for 2: the loss at
initialisation against ln C, softmax-twice's floor ln(1 + (C - 1)/e). The thresholds below
are shares of those (LOSS_FLOOR), ratios of one run's own numbers (SUMMED_RATIO, FLAT,
RISING_STEPS, VANISHING_RATIO), sizes of the arithmetic (IDENTICAL_UNITS, UPDATE_TOO_SMALL,
FAR_FROM_UNIT: per input feature, whatever C is), or accuracy gaps judged against the
majority class and the sampling noise of an accuracy (NEAR_BASELINE, MEMORISED, GAP_ERRORS),
which C changes only through the baseline each is measured from.
"""
from __future__ import annotations

# --- checks before the first step -------------------------------------------------------------------
# A hidden layer whose units differ by less than this, relative to its largest weight, has
# identical units: float32 keeps about 7 digits, so units that started equal and took equal
# steps differ by rounding alone, a few parts in 10^8.
IDENTICAL_UNITS = 1e-6

# Inputs more than 10 times from 1 are "far from unit scale": the default initialisation
# (W ~ U(-1/sqrt(n_in), 1/sqrt(n_in))) assumes inputs of about unit size, and the first
# layer's weight gradient, x.T @ dout, scales with x, so its steps are 10 times (and its
# curvature 100 times) what the learning rate was chosen for. Read two ways, by what each does:
# one feature 10 times too large sets the curvature the learning rate must fit, for the whole
# layer, so the largest feature's root-mean-square is read; a feature too small only slows its
# own weights, and in images most such features are pixels blank in nearly every example (a
# digit's corners), which carry almost nothing to learn, so on the small side only the inputs
# as a whole are read (the root-mean-square over every feature).
FAR_FROM_UNIT = 10.0

# A loss whose value at certain, correct logits stays above this share of ln C has a floor:
# a correct cross-entropy there is below 1e-8 (its floor is 0). Softmax applied to
# probabilities cannot go below ln(1 + (C - 1)/e): 45% of ln 2 for 2 classes, 63% of ln 10 for 10.
LOSS_FLOOR = 0.10
CERTAIN_MARGIN = 30.0  # the probe's logits: the label's logit 30 above every other one (p > 1 - 1e-13)

# The same batch written twice: a mean over the batch gives the same loss, a sum twice the
# loss. Halfway between the two, so that rounding cannot tip it.
SUMMED_RATIO = 1.5

# Labels the inputs cannot predict: leave-one-out k-nearest-neighbour accuracy on the training
# set within this many points of always answering the majority class (the same reading of
# "close to the baseline" as the experiments use: 5 points). k = 5, a common default. With C
# classes both sit near 1/C when nothing predicts the labels; the 5 points stay above an
# accuracy's sampling noise on a few hundred examples (sqrt(p(1-p)/n): 1.7 points at p = 0.1,
# n = 300), and learnable labels are tens of points above (digits: 98% against 10%).
NEAR_BASELINE = 0.05
NEIGHBOURS = 5
# With a validation set: training accuracy this far above validation accuracy is memorising
# (10 points: more than the sampling noise of a few dozen validation examples, about 7).
MEMORISED = 0.10
# ... and only on this many validation examples or more: an accuracy measured on n examples
# has a sampling error of sqrt(p(1-p)/n), a 95% interval of about +-14 points at n = 50 and
# +-22 at n = 20, as wide as the whole gap between a model that learned and the majority
# class; below 50 the sign cannot be told from noise, and the doctor does not read it.
VALIDATION_EXAMPLES = 50
# ... and only where the gap stands out of the two accuracies' sampling noise by this many
# standard errors, sqrt(v(1-v)/n_val + t(1-t)/n_train): by chance alone a gap that large comes
# once in about a thousand runs (one-sided normal tail at 3), so a healthy run that happens to
# generalise a little worse than it fits is not called unlearnable.
GAP_ERRORS = 3.0
NEIGHBOUR_SAMPLE = 2000  # at most this many training examples (pairwise distances: N^2 numbers)

# The finite-difference check of a learner's layer or loss: on this many rows, in float64.
CHECK_ROWS = 8

# --- during the run ------------------------------------------------------------------------------------
# The loss "barely moves", is flat: it fell by less than a tenth of where it started
# (tinynet.metrics.fell). A loss that falls at all steadily loses far more than that over a
# run. (Code that judges "the loss remained flat" may read this same number.)
FLAT = 0.10

# A step too small for the weights: the largest layer's update, lr * |dW| / |W|, below 1e-5
# (DeepDiagnosis's lower bound for a learning rate); a healthy update is about 1e-3.
UPDATE_TOO_SMALL = 1e-5

# Oscillation, for full-batch runs only (a mini-batch loss jumps by sampling alone): the loss
# rose at more than a fifth of the steps and ended above twice its lowest value.
RISING_STEPS = 0.20
ABOVE_LOWEST = 2.0

# Vanishing gradients: the first layer's gradient norm 1,000 times below the last layer's
# (AutoTrainer's 1e-3, without its second condition |g_first| < 1e-4, which depends on the
# data's scale). Then, when the last layer's update is a healthy 1e-3 of its weights, the
# first layer's is 1e-6: below UPDATE_TOO_SMALL, learning nothing.
VANISHING_RATIO = 1e-3

# Dead ReLUs: "most" units of a hidden layer output 0 for every training example.
MOSTLY_DEAD = 0.50

# Collapsed weights: a layer's weights (all its parameters, as one vector) ended below this
# share of their size at the start. Every activation scales with the weights before it, and
# every gradient with the weights after it: at 1/1000 of their start, in a net of two or more
# layers, the signal and the gradient are a million times smaller, and the updates with them.
# The same reading of "orders of magnitude" as VANISHING_RATIO.
COLLAPSED = 1e-3

# Underfitting: what the data allows is read from the training set itself, as the share of
# examples whose 5 nearest neighbours predict their label (leave-one-out, exam.py): a model
# flexible enough to fit its data does at least that well on it (a lookup of neighbours is a
# model too). The run fit its training data far worse when its training accuracy ended more
# than 10 points below it (the NEAR_BASELINE reading of "close", doubled: a gap no one calls
# close), and the gap stands out of the two accuracies' sampling noise by GAP_ERRORS.
UNDERFIT = 0.10
