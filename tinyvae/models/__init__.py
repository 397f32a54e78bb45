"""The model family the lecture contrasts, built from the engine: the protocol every model follows
(``base.py``), the VAE, the plain autoencoder, the conditional VAE, the convolutional VAE, and building a
model back from its saved configuration (``registry.py``)."""
