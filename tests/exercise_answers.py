"""The answers to the exercises beyond the engine: kept here, in the tests, not in the package.
(The engine's own layers and loss are the answers to theirs.)

ANSWERS maps each exercise file to the body of its method, as a learner would write it.
"""
from __future__ import annotations

import re

ANSWERS = {
    "sigmoid.py": """\
        out = self.cache
        return dout * out * (1.0 - out)  # (N, D)
""",
    "leaky_relu.py": """\
        from tinynet.backend import backend_of

        return backend_of(dout).xp.where(self.mask, dout, self.slope * dout)  # (N, D)
""",
    "softmax.py": """\
        from tinynet.backend import backend_of

        p = self.cache
        return p * (dout - backend_of(p).xp.sum(dout * p, axis=1, keepdims=True))  # (N, C)
""",
    "mse.py": """\
        diff = self.cache
        return dout * 2.0 * diff / diff.shape[0]  # (N, D)
""",
    "layer_norm.py": """\
        from tinynet.backend import backend_of

        xp = backend_of(dout).xp
        xhat, inv = self.cache
        self.dbeta = xp.sum(dout, axis=0)  # (D,)
        self.dgamma = xp.sum(dout * xhat, axis=0)  # (D,)
        g = dout * self.gamma  # (N, D): dL/dxhat
        return inv * (g - xp.mean(g, axis=1, keepdims=True) - xhat * xp.mean(g * xhat, axis=1, keepdims=True))
""",
    "dropout.py": """\
        return dout * self.cache  # (N, D)
""",
    "residual.py": """\
        x = self.cache
        self.dW = x.T @ dout  # (D, D)
        self.db = dout.sum(axis=0)  # (D,)
        return dout + dout @ self.W.T  # (N, D): around the block, plus through it
""",
    "weight_decay.py": """\
        return dout * self.lam * self.cache  # (n_in, n_out)
""",
    "two_layer.py": """\
        from tinynet.backend import backend_of

        x, h = self.cache
        self.dW2 = h.T @ dout  # (H, C)
        self.db2 = dout.sum(axis=0)  # (C,)
        dz = backend_of(dout).xp.where(self.mask, dout @ self.W2.T, 0.0)  # (N, H)
        self.dW1 = x.T @ dz  # (D, H)
        self.db1 = dz.sum(axis=0)  # (H,)
        return dz @ self.W1.T  # (N, D)
""",
    "momentum.py": """\
        for _, layer, name in parameters(self.model):
            key = (id(layer), name)
            g = getattr(layer, "d" + name)
            v = g if key not in self.velocity else self.momentum * self.velocity[key] + g
            self.velocity[key] = v
            setattr(layer, name, getattr(layer, name) - self.lr * v)
""",
    "adam.py": """\
        import numpy as np

        self.t += 1
        for _, layer, name in parameters(self.model):
            key = (id(layer), name)
            g = getattr(layer, "d" + name)
            m = self.beta1 * self.m.get(key, 0.0) + (1 - self.beta1) * g
            v = self.beta2 * self.v.get(key, 0.0) + (1 - self.beta2) * g * g
            self.m[key], self.v[key] = m, v
            m_hat = m / (1 - self.beta1 ** self.t)
            v_hat = v / (1 - self.beta2 ** self.t)
            setattr(layer, name, getattr(layer, name) - self.lr * m_hat / (np.sqrt(v_hat) + self.eps))
""",
}

BLANKED = re.compile(r'( {8}""".*?""")\n {8}# Hint: [^\n]*\n {8}raise NotImplementedError\([^\n]*\)\n', re.S)


def answer(source: str, body: str) -> str:
    """A learner's blanked file with the method's body written: the docstring stays."""
    match = BLANKED.search(source)
    assert match, "the blanked method is not where the answer goes"
    return source[:match.start()] + match.group(1) + "\n" + body + source[match.end():]
