"""Image completion: classical baselines and the GAN generator (filled in by a later issue)."""
