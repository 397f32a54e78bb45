"""The model family the lecture contrasts, built from the engine: the protocol every model follows
(``base.py``), one description per architecture, from which each model is built, its parameters counted
and its memory estimated (``spec.py``), the VAE, the plain autoencoder, the conditional VAE, the
convolutional VAE, building a model back from its saved configuration (``registry.py``), and what one
image costs in memory on its way through a model, so that work on many images goes in chunks that fit
(``memory.py``)."""
