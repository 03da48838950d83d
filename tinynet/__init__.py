"""tinynet: a small neural-network engine with every gradient written out by hand.

    import tinynet as tn
    from tinynet.data import make_dataset
    model = tn.create_model([2, 500, 500, 2], seed=0)
    loss_fn = tn.SoftmaxCrossEntropy()
    opt = tn.SGD(model, lr=0.01)
    history = tn.train(model, make_dataset("xor", 100), steps=1000, opt=opt)
"""
from .cli import guard_the_import

guard_the_import()  # first: python -m tinynet.gradcheck (and the others) heard Ctrl-C from the start

from . import gradcheck, testing  # noqa: E402
from .backend import Backend, BackendUnavailableError, get_backend  # noqa: E402
from .layers import Linear, ReLU  # noqa: E402
from .losses import SoftmaxCrossEntropy  # noqa: E402
from .model import Sequential, create_model, parameters  # noqa: E402
from .optim import SGD  # noqa: E402
from .plot import plot  # noqa: E402
from .training import History, train, train_step  # noqa: E402
from . import doctor  # noqa: E402 (after training: the doctor trains through it)
from .doctor import diagnose  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "Backend",
    "BackendUnavailableError",
    "History",
    "Linear",
    "ReLU",
    "SGD",
    "Sequential",
    "SoftmaxCrossEntropy",
    "create_model",
    "diagnose",
    "doctor",
    "get_backend",
    "gradcheck",
    "parameters",
    "plot",
    "testing",
    "train",
    "train_step",
]
