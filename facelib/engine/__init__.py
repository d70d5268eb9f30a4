"""The engine: training, its callbacks, evaluation and prediction."""
