import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from skmemo import MultimodalData
from skmemo.data import mark_absent
from skmemo.datasets import make_emotion_dataset
from skmemo.exceptions import ModalityError
from skmemo.metrics import get_scorer
from skmemo.preprocessing import ModalityScaler, ModalityTransformer, real_steps

from .conftest import small_clf

EMOTIONS = ["happy", "sad"]


@pytest.fixture(scope="module")
def data():
    return make_emotion_dataset(60, emotions=EMOTIONS, seq_len=6, random_state=0)


def _pad(X, extra):
    """The same samples with ``extra`` more leading zero steps."""
    return MultimodalData(**{
        m: np.concatenate([np.zeros((len(X), extra, X[m].shape[2]), X[m].dtype), X[m]],
                          axis=1)
        for m in X.modalities
    })


def _real_rows(x):
    return x[real_steps(x)]


def test_real_steps_pre_post_and_lengths():
    x = np.array([[[0.], [1.], [0.], [2.], [0.]],
                  [[0.], [0.], [0.], [0.], [0.]]])
    np.testing.assert_array_equal(real_steps(x), [[0, 1, 1, 1, 1], [0, 0, 0, 0, 0]])
    np.testing.assert_array_equal(real_steps(x, padding="post"),
                                  [[1, 1, 1, 1, 0], [0, 0, 0, 0, 0]])
    np.testing.assert_array_equal(real_steps(x, [2, 5]), [[0, 0, 0, 1, 1], [1] * 5])
    np.testing.assert_array_equal(real_steps(x, [2, 1], padding="post"),
                                  [[1, 1, 0, 0, 0], [1, 0, 0, 0, 0]])
    nan = np.array([[[0.], [np.nan], [-np.inf]]])
    np.testing.assert_array_equal(real_steps(nan), [[0, 1, 1]])


def test_scaler_statistics_use_real_steps_only(data):
    X, _ = data
    scaler = ModalityScaler().fit(X)
    assert scaler.modalities_ == ("text", "audio", "visual")
    for m in X.modalities:
        rows = _real_rows(X[m])
        assert rows.shape[0] < X[m].shape[0] * X[m].shape[1]  # there is padding
        reference = StandardScaler().fit(rows)
        np.testing.assert_allclose(scaler.mean_[m], reference.mean_, rtol=1e-5)
        np.testing.assert_allclose(scaler.scale_[m], reference.scale_, rtol=1e-5)
        assert scaler.n_nonfinite_[m] == 0
    # more padding, same statistics
    padded = ModalityScaler().fit(_pad(X, 3))
    for m in X.modalities:
        np.testing.assert_allclose(padded.mean_[m], scaler.mean_[m], rtol=1e-6)


def test_scaler_output_padding_stays_zero(data):
    X, _ = data
    scaler = ModalityScaler().fit(X)
    Xt = scaler.transform(X)
    assert isinstance(Xt, MultimodalData)
    for m in X.modalities:
        mask = real_steps(X[m])
        assert Xt[m].shape == X[m].shape and Xt[m].dtype == np.float32
        assert np.all(Xt[m][~mask] == 0)
        expected = (X[m][mask] - scaler.mean_[m]) / scaler.scale_[m]
        np.testing.assert_allclose(Xt[m][mask], expected, rtol=1e-4, atol=1e-5)
        np.testing.assert_array_equal(real_steps(Xt[m]), mask)
    # transforming padded input gives the same real part and zero padding
    Xp = scaler.transform(_pad(X, 3))
    for m in X.modalities:
        assert np.all(Xp[m][:, :3] == 0)
        np.testing.assert_allclose(Xp[m][:, 3:], Xt[m], rtol=1e-6)


def test_padding_invariance_of_a_pipeline(data):
    X, Y = data
    pipe = make_pipeline(
        ModalityScaler(),
        small_clf(EMOTIONS, max_epochs=1, batch_size=64, hidden_sizes={"audio": 4, "visual": 4}),
    ).fit(X, Y)
    np.testing.assert_allclose(pipe.predict_proba(X), pipe.predict_proba(_pad(X, 4)),
                               atol=1e-5)


def test_explicit_lengths_are_honoured(data):
    X, _ = data
    audio = X["audio"][:10]
    lengths = np.full(10, 2)
    Xl = MultimodalData(audio=audio, audio_lengths=lengths)
    scaler = ModalityScaler().fit(Xl)
    np.testing.assert_allclose(scaler.mean_["audio"], audio[:, -2:].reshape(-1, 32).mean(0),
                               atol=1e-6)
    Xt = scaler.transform(Xl)
    assert np.all(Xt["audio"][:, :-2] == 0)  # outside the lengths: padding
    assert np.all(Xt["audio"][:, -2:] != 0)
    np.testing.assert_array_equal(Xt["audio_lengths"], lengths)
    post = ModalityScaler(padding="post").fit(Xl)
    np.testing.assert_allclose(post.mean_["audio"], audio[:, :2].reshape(-1, 32).mean(0),
                               atol=1e-6)


def test_post_padding():
    x = np.array([[[1.], [3.], [0.]], [[5.], [0.], [0.]]])
    Xt = ModalityScaler(padding="post").fit_transform(MultimodalData(audio=x))
    # real values 1, 3, 5: mean 3, std sqrt(8/3)
    s = np.sqrt(8 / 3)
    np.testing.assert_allclose(Xt["audio"][..., 0], [[-2 / s, 0, 0], [2 / s, 0, 0]])


def test_nonfinite_zero_policy():
    x = np.array([[[0., 0.], [2., -np.inf], [4., 3.]],
                  [[0., 0.], [np.nan, 5.], [np.inf, 7.]]], dtype=np.float32)
    scaler = ModalityScaler().fit(MultimodalData(audio=x))
    assert scaler.n_nonfinite_ == {"audio": 3}
    # finite real values only: feature 0 from 2, 4; feature 1 from 3, 5, 7
    np.testing.assert_allclose(scaler.mean_["audio"], [3.0, 5.0])
    np.testing.assert_allclose(scaler.scale_["audio"], [1.0, np.sqrt(8 / 3)])
    out = scaler.transform(MultimodalData(audio=x))["audio"]
    assert np.isfinite(out).all()
    assert out[0, 1, 1] == 0 and out[1, 1, 0] == 0 and out[1, 2, 0] == 0
    assert np.all(out[:, 0] == 0)  # padding
    np.testing.assert_allclose(out[0, 2], [1.0, -2 / np.sqrt(8 / 3)], rtol=1e-5)


def test_nonfinite_feature_without_finite_value_warns():
    x = np.array([[[1., -np.inf], [2., np.nan]], [[3., -np.inf], [4., -np.inf]]])
    with pytest.warns(UserWarning, match=r"features \[1\] of X\['audio'\]"):
        scaler = ModalityScaler().fit(MultimodalData(audio=x))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = scaler.transform(MultimodalData(audio=x))["audio"]
    assert np.all(out[..., 1] == 0) and np.isfinite(out).all()


def test_nonfinite_error_policy():
    clean = np.ones((2, 3, 2))
    dirty = clean.copy()
    dirty[0, 1, 1] = -np.inf
    with pytest.raises(ValueError, match="1 non-finite values"):
        ModalityScaler(nonfinite="error").fit(MultimodalData(audio=dirty))
    scaler = ModalityScaler(nonfinite="error").fit(MultimodalData(audio=clean))
    with pytest.raises(ValueError, match="non-finite"):
        scaler.transform(MultimodalData(audio=dirty))


def test_generic_transformer_may_change_dimensions(data):
    X, _ = data
    t = ModalityTransformer(PCA(3, random_state=0), modalities=["audio", "visual"])
    Xt = t.fit_transform(X)
    assert Xt["audio"].shape == (60, 6, 3) and Xt["visual"].shape == (60, 6, 3)
    assert t.output_dims_ == {"audio": 3, "visual": 3}
    assert Xt["text"] is X["text"]  # not selected: passed through
    assert not hasattr(t.transformer, "components_")  # cloned, not fitted in place
    mask = real_steps(X["audio"])
    np.testing.assert_allclose(Xt["audio"][mask],
                               t.transformers_["audio"].transform(X["audio"][mask]),
                               rtol=1e-5)
    assert np.all(Xt["audio"][~mask] == 0)


def test_inputs_are_not_modified_and_tensors_work(data):
    X, _ = data
    before = {m: X[m].copy() for m in X.modalities}
    t = ModalityTransformer(MinMaxScaler()).fit(X)
    t.transform(X)
    for m in X.modalities:
        np.testing.assert_array_equal(X[m], before[m])
    Xt = t.transform({m: torch.from_numpy(X[m]) for m in X.modalities})
    np.testing.assert_allclose(Xt["audio"], t.transform(X)["audio"])


def test_transform_errors(data):
    X, _ = data
    with pytest.raises(NotFittedError):
        ModalityScaler().transform(X)
    scaler = ModalityScaler().fit({"audio": X["audio"]})
    with pytest.raises(ModalityError, match=r"\['text'\] were not seen in fit"):
        scaler.transform({"audio": X["audio"], "text": X["text"]})
    with pytest.raises(ValueError, match="fitted with 32"):
        scaler.transform({"audio": X["audio"][..., :5]})
    # an explicit subset lets other modalities through
    only_audio = ModalityScaler(modalities=["audio"]).fit(X)
    assert only_audio.transform(X)["text"] is X["text"]
    # a missing fitted modality is fine (estimators predict from subsets)
    assert set(scaler.transform({"audio": X["audio"]})) == {"audio"}


@pytest.mark.parametrize("est, exc, match", [
    (ModalityTransformer(StandardScaler), TypeError, "instance"),
    (ModalityTransformer("scaler"), TypeError, "fit and transform"),
    (ModalityScaler(modalities="audio"), TypeError, r"\['audio'\]"),
    (ModalityScaler(modalities=["audio", "speech"]), ValueError, "distinct names"),
    (ModalityScaler(modalities=[]), ValueError, "distinct names"),
    (ModalityScaler(padding="middle"), ValueError, "padding"),
    (ModalityScaler(nonfinite="drop"), ValueError, "nonfinite"),
])
def test_parameter_errors(data, est, exc, match):
    X, _ = data
    with pytest.raises(exc, match=match):
        est.fit(X)
    assert not hasattr(est, "transformers_")


def test_fit_errors(data):
    X, _ = data
    with pytest.raises(ModalityError, match="not in X"):
        ModalityScaler(modalities=["visual"]).fit({"audio": X["audio"]})
    with pytest.raises(ValueError, match="no real time step"):
        ModalityScaler().fit({"audio": np.zeros((3, 4, 2))})
    with pytest.raises(TypeError, match="mapping"):
        ModalityScaler().fit(X["audio"])


def test_params_clone_and_set_output():
    scaler = ModalityScaler(modalities=["audio"], nonfinite="error")
    assert scaler.get_params() == {"modalities": ["audio"], "nonfinite": "error",
                                   "padding": "pre"}
    assert clone(scaler).get_params() == scaler.get_params()
    t = ModalityTransformer(StandardScaler(with_mean=False))
    assert t.get_params()["transformer__with_mean"] is False
    assert t.set_output(transform="default") is t
    with pytest.raises(ValueError, match="not supported"):
        make_pipeline(scaler, StandardScaler()).set_output(transform="pandas")


def test_scaler_in_grid_search_with_covarep_like_audio(data):
    X, Y = data
    audio = X["audio"].copy()
    audio[::7, -1, :3] = -np.inf  # COVAREP-style -inf in real steps
    Xd = MultimodalData(text=X["text"], audio=audio, visual=X["visual"])
    clf = small_clf(EMOTIONS, max_epochs=1, batch_size=64, validation_fraction=0,
                    hidden_sizes={"audio": 4, "visual": 4})
    with pytest.raises(ValueError, match="NaN or inf"):
        clone(clf).fit(Xd, Y)
    search = GridSearchCV(
        make_pipeline(ModalityScaler(), clf),
        {"modalityscaler__modalities": [None, ["audio"]],
         "multimodalemotionclassifier__lr": [1e-3, 1e-2]},
        cv=KFold(2), scoring={"wacc": get_scorer("weighted_accuracy"),
                              "auc": get_scorer("emotion_roc_auc")},
        refit="wacc", error_score="raise",
    ).fit(Xd, Y)
    assert np.isfinite(search.cv_results_["mean_test_auc"]).all()
    assert search.best_estimator_[0].n_nonfinite_["audio"] > 0
    assert search.predict(Xd).shape == Y.shape


# ----------------------------------------------------------------------
# Modalities absent for some samples: length 0 in ``<modality>_lengths``.
# ----------------------------------------------------------------------
def test_modality_scaler_ignores_absent_samples():
    rng = np.random.default_rng(0)
    audio = rng.normal(3, 2, size=(6, 4, 2))
    audio[[1, 4]] = 100.0  # absent samples hold junk
    X = MultimodalData(audio=audio, text=np.ones((6, 2, 3)),
                       audio_lengths=np.array([4, 0, 4, 4, 0, 4]))
    scaler = ModalityScaler().fit(X)
    present = audio[[0, 2, 3, 5]].reshape(-1, 2)
    np.testing.assert_allclose(scaler.mean_["audio"], present.mean(axis=0))
    out = scaler.transform(X)
    assert (out["audio"][[1, 4]] == 0).all()
    np.testing.assert_array_equal(out["audio_lengths"], X["audio_lengths"])
    nan_marked = mark_absent({"audio": np.where(audio == 100.0, np.nan, audio),
                              "text": np.ones((6, 2, 3))})
    np.testing.assert_allclose(ModalityScaler().fit(nan_marked).mean_["audio"],
                               scaler.mean_["audio"])
