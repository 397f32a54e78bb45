"""What a learner looks at: loss curves, reconstructions, samples, latent scatter, manifold, interpolation."""
