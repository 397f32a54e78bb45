"""tinyvae: a variational autoencoder in NumPy, every gradient written by hand.

The package, one folder per layer of the architecture, each importing only from the folders above it in
this list (docs/library.md has every file; tests/test_layering.py holds the order):

- ``engine/``     what a learner reads beside the math: layers, convolutions, the reparameterization node,
                  losses, optimizers, gradcheck, and the array namespace taken from the inputs
- ``models/``     the model protocol (``base.py``), VAE, AE, CVAE, ConvVAE, one description per architecture
                  (``spec.py``), the range of every architecture value (``ranges.py``), building one from its config
- ``figures/``    drawing: the plots a run writes, the comparisons' figures (from numbers computed elsewhere)
- ``lecture/``    the lecture's worked example and its errata
- ``exercises/``  the learner's exercises, graded against the library and finite differences
- ``training/``   data, fit and its loop, checkpoints, resuming, evaluation, the lecture's comparisons
- ``explore/``    the page of ``tinyvae explore``: the encoder and decoder in JavaScript, to move through z
- ``cli/``        ``tinyvae train``, ``evaluate``, ``sample``, ``example``, ``compare``, ``explore``, ``data``
"""


from .engine.conv import Conv2d, ConvTranspose2d, Flatten, Reshape
from .engine.gradcheck import gradcheck
from .engine.layers import Identity, Layer, LeakyReLU, Linear, ReLU, Sequential, Sigmoid, Tanh
from .engine.losses import bce, bce_with_logits, kl_divergence, mse
from .engine.optim import SGD, Adam
from .engine.reparam import Reparameterize
from .lecture import worked_example
from .models.ae import AE
from .models.base import Loss, Model
from .models.conv_vae import ConvVAE
from .models.cvae import CVAE
from .models.vae import VAE
from .training.loop import TrainingDiverged
from .training.runs import load
from .training.train import TrainConfig, fit

__version__ = "0.1.0"

__all__ = [
    "AE", "CVAE",
    "Conv2d", "ConvTranspose2d", "ConvVAE", "Flatten", "Reshape",
    "Adam", "Identity", "Layer", "LeakyReLU", "Linear", "Loss", "Model", "ReLU", "Reparameterize",
    "SGD", "Sequential", "Sigmoid", "Tanh", "VAE", "bce", "bce_with_logits", "gradcheck",
    "kl_divergence", "mse",
    "worked_example", "fit", "TrainConfig", "TrainingDiverged", "load",
]
