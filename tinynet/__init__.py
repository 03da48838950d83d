"""tinynet: a small neural-network engine with every gradient written out by hand.

    import tinynet as tn
    from tinynet.data import make_dataset
    model = tn.create_model([2, 500, 500, 2], seed=0)
    loss_fn = tn.SoftmaxCrossEntropy()
    opt = tn.SGD(model, lr=0.01)
    history = tn.train(model, make_dataset("xor", 100), steps=1000, opt=opt)
"""
from . import gradcheck, testing
from .backend import Backend, BackendUnavailableError, get_backend
from .layers import Linear, ReLU
from .losses import SoftmaxCrossEntropy
from .model import Sequential, create_model, parameters
from .optim import SGD
from .training import History, train, train_step
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
    "testing",
    "train",
    "train_step",
]
