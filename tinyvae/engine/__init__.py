"""The engine a learner reads beside the math: layers and convolutions with forward and backward side by
side, the reparameterization node, the losses with their gradients, the optimizers, finite-difference
gradient checks, and the array namespace (NumPy, CuPy, ...) that every computation takes from its inputs."""
