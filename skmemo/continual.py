"""Continual learning (placeholder until GEM lands)."""


class ContinualMixin:
    """Adds continual-learning methods to the estimator."""

    def _after_fit(self, X, y):
        """Hook run at the end of ``fit`` with the validated training data."""
