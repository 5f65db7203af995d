"""scikit-learn's data-free common checks on the feature-extraction transformers.

The transformers take strings, waveforms or tables, not 2-D arrays, so the
data-driven checks do not apply (their substance is tested by hand in the
other ``test_feature_extraction_*`` files: clone, pickle, fit/transform,
errors). These are the checks that need no data, or that fail before touching
it (``NotFittedError`` first).
"""

import warnings

import pytest
from sklearn.base import clone
from sklearn.utils import estimator_checks

from skmemo.feature_extraction import (
    AudioFeaturizer,
    FaceFeatureReader,
    MultimodalColumns,
    TextEncoder,
    WordVectorizer,
)

from .conftest import DICT_INPUT_CHECKS

ESTIMATORS = {
    "word_vectorizer": WordVectorizer(),
    "audio_featurizer": AudioFeaturizer(),
    "face_reader": FaceFeatureReader(),
    "columns": MultimodalColumns(text=WordVectorizer()),
    "text_encoder": TextEncoder(),  # data-free checks: no model is loaded
}
# transformers: the classifier-only check is not theirs
CHECKS = [c for c in DICT_INPUT_CHECKS if c != "check_estimators_unfitted"]


@pytest.mark.parametrize("name", CHECKS)
@pytest.mark.parametrize("est_id", list(ESTIMATORS))
def test_individual_sklearn_checks(name, est_id):
    estimator = ESTIMATORS[est_id]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        getattr(estimator_checks, name)(type(estimator).__name__, clone(estimator))
