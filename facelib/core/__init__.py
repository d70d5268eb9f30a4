"""Core: errors, atomic file writing, params and the class scheme (no TensorFlow)."""
