"""tinyvae: a variational autoencoder in NumPy, every gradient written by hand.

The library, one idea per file (README.md has the full list):

- ``layers.py``      Linear, ReLU, Sigmoid, Tanh, LeakyReLU, Sequential: forward and backward side by side
- ``conv.py``        Conv2d, ConvTranspose2d, Flatten, Reshape
- ``reparam.py``     the reparameterization node z = mu + exp(0.5 logvar) * eps
- ``losses.py``      MSE, BCE and the closed-form KL, each returning its value and gradients
- ``optim.py``       SGD and Adam
- ``vae.py``         the VAE, its backward the chain rule written out; ``ae.py``, ``cvae.py``, ``conv_vae.py``
- ``gradcheck.py``   finite differences for any layer, loss or model
- ``worked_example.py``  the lecture's example: forward, backward, an Adam step, errata
- ``data.py``, ``train.py``, ``checkpoint.py``, ``evaluate.py``, ``plots.py``, ``compare.py``, ``cli/``
- ``backend.py``     the array namespace (NumPy, CuPy, ...) taken from the inputs
"""

from .ae import AE
from .conv import Conv2d, ConvTranspose2d, Flatten, Reshape
from .conv_vae import ConvVAE
from .cvae import CVAE
from .gradcheck import gradcheck
from .layers import Identity, Layer, LeakyReLU, Linear, ReLU, Sequential, Sigmoid, Tanh
from .losses import bce, bce_with_logits, kl_divergence, mse
from .model import Loss, Model
from .optim import SGD, Adam
from .reparam import Reparameterize
from .train import TrainingDiverged, fit
from .vae import VAE
from . import worked_example

__version__ = "0.1.0"

__all__ = [
    "AE", "CVAE",
    "Conv2d", "ConvTranspose2d", "ConvVAE", "Flatten", "Reshape",
    "Adam", "Identity", "Layer", "LeakyReLU", "Linear", "Loss", "Model", "ReLU", "Reparameterize",
    "SGD", "Sequential", "Sigmoid", "Tanh", "VAE", "bce", "bce_with_logits", "gradcheck",
    "kl_divergence", "mse",
    "worked_example", "fit", "TrainingDiverged",
]
