import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone

import skmemo
from skmemo.baselines import (
    EarlyFusionLSTM,
    EarlyFusionLSTMClassifier,
    LateFusionLSTM,
    LateFusionLSTMClassifier,
)
from skmemo.exceptions import NotFittedError
from skmemo.metrics import weighted_accuracy_score

from .conftest import EMOTIONS, small_clf, with_absent

DIMS = {"text": 3, "audio": 2, "visual": 4}


def _module(cls, **kw):
    torch.manual_seed(0)
    return cls(DIMS, 5, **kw).eval()


def _inputs(T=(4, 3, 2), B=2):
    g = torch.Generator().manual_seed(1)
    return {m: torch.randn(B, t, d, generator=g) for (m, d), t in zip(DIMS.items(), T)}


@pytest.mark.parametrize("cls, kw", [(EarlyFusionLSTM, {"hidden_size": 6}),
                                     (LateFusionLSTM, {"hidden_sizes": {"text": 6}})])
def test_module_shapes_and_padding_invariance(cls, kw):
    model = _module(cls, **kw)
    x = _inputs()
    pre = {m: torch.cat([torch.zeros(2, 3, v.shape[2]), v], 1) for m, v in x.items()}
    with torch.no_grad():
        out = model(**x)
        padded = model(**pre)
        explicit = model(**pre, text_lengths=torch.tensor([4, 4]),
                         audio_lengths=torch.tensor([3, 3]),
                         visual_lengths=torch.tensor([2, 2]))
    assert out.shape == (2, 5)
    np.testing.assert_allclose(out, padded, atol=1e-5)
    np.testing.assert_allclose(out, explicit, atol=1e-5)
    post = _module(cls, padding="post", **kw)
    back = {m: torch.cat([v, torch.zeros(2, 2, v.shape[2])], 1) for m, v in x.items()}
    with torch.no_grad():
        np.testing.assert_allclose(post(**x), post(**back), atol=1e-5)


def test_early_fusion_pads_shorter_modalities_and_zero_fills_missing_ones():
    model = _module(EarlyFusionLSTM, hidden_size=6)
    x = _inputs(T=(4, 4, 4))
    with torch.no_grad():
        # unequal lengths: the shorter sequence is aligned with the end (pre)
        short = dict(x, visual=x["visual"][:, 2:])
        manual = dict(x, visual=torch.cat([torch.zeros(2, 2, 4), x["visual"][:, 2:]], 1))
        np.testing.assert_allclose(model(**short), model(**manual), atol=1e-6)
        # a missing modality reads as zeros
        no_audio = {"text": x["text"], "visual": x["visual"]}
        zeros = dict(no_audio, audio=torch.zeros(2, 4, 2))
        np.testing.assert_allclose(model(**no_audio), model(**zeros), atol=1e-6)
    assert model.encoders["fused"].rnn.input_size == sum(DIMS.values())


def test_late_fusion_averages_the_given_heads():
    model = _module(LateFusionLSTM)
    x = _inputs()
    with torch.no_grad():
        each = [model(**{m: x[m]}) for m in DIMS]
        np.testing.assert_allclose(model(**x), torch.stack(each).mean(0), atol=1e-6)
        np.testing.assert_allclose(model(text=x["text"], audio=x["audio"]),
                                   (each[0] + each[1]) / 2, atol=1e-6)


@pytest.mark.parametrize("cls", [EarlyFusionLSTM, LateFusionLSTM])
def test_module_add_emotions_appends_fresh_rows(cls):
    model = _module(cls)
    x = _inputs()
    with torch.no_grad():
        before = model(**x)
        model.add_emotions(np.zeros((2, 50)))  # the vectors are ignored
        after = model(**x)
    assert model.n_emotions == 7 and after.shape == (2, 7)
    np.testing.assert_allclose(after[:, :5], before, atol=1e-6)
    assert not torch.allclose(after[:, 5], after[:, 6])  # random, not copies


def test_module_errors():
    with pytest.raises(ValueError, match="input_dims"):
        EarlyFusionLSTM({"smell": 3}, 2)
    with pytest.raises(ValueError, match="padding"):
        LateFusionLSTM(DIMS, 2, padding="middle")
    with pytest.raises(ValueError, match="n_emotions"):
        LateFusionLSTM(DIMS, 0)
    model = _module(LateFusionLSTM)
    with pytest.raises(ValueError, match="no modality"):
        model()
    only_text = LateFusionLSTM({"text": 3}, 2)
    with pytest.raises(ValueError, match="not built for"):
        only_text(audio=torch.zeros(1, 2, 2))


ESTIMATORS = [
    (EarlyFusionLSTMClassifier, {"hidden_size": 8}),
    (LateFusionLSTMClassifier, {"hidden_sizes": {"text": 8, "audio": 8, "visual": 8}}),
]


@pytest.fixture(scope="module", params=ESTIMATORS, ids=["early", "late"])
def fitted_baseline(request, small_data):
    cls, kw = request.param
    X, Y = small_data
    return small_clf(EMOTIONS[:5], cls=cls, max_epochs=2, num_layers=1, **kw).fit(X, Y[:, :5])


def test_estimator_surface(fitted_baseline, small_data):
    X, Y = small_data
    proba = fitted_baseline.predict_proba(X)
    assert proba.shape == (len(X), 5)
    np.testing.assert_allclose(1 / (1 + np.exp(-fitted_baseline.decision_function(X))),
                               proba, rtol=1e-5)  # the sigmoid of the logits, hence in (0, 1)
    assert fitted_baseline.predict(X).shape == (len(X), 5)
    assert fitted_baseline.score(X, Y[:, :5]) == weighted_accuracy_score(
        Y[:, :5], fitted_baseline.predict(X))
    np.testing.assert_allclose(fitted_baseline.pos_weight_,
                               (len(Y) - Y[:, :5].sum(0)) / Y[:, :5].sum(0), rtol=1e-5)
    # modality subsets at inference
    assert fitted_baseline.predict_proba({"audio": X["audio"]}).shape == (len(X), 5)


def test_padding_invariance_of_estimator(fitted_baseline, small_data):
    X, _ = small_data
    X = X[:20]
    extra = {m: np.concatenate([np.zeros((20, 3, X[m].shape[2]), np.float32), X[m]], axis=1)
             for m in X.modalities}
    np.testing.assert_allclose(fitted_baseline.predict_proba(X),
                               fitted_baseline.predict_proba(extra), atol=1e-5)


def test_add_emotions_grows_reproducibly_and_pickles(fitted_baseline, small_data):
    X, _ = small_data
    before = fitted_baseline.predict_proba(X)
    a = pickle.loads(pickle.dumps(fitted_baseline)).add_emotions(["surprise"])
    b = pickle.loads(pickle.dumps(fitted_baseline)).add_emotions(["surprise"])
    pa = a.predict_proba(X)
    assert pa.shape == (len(X), 6) and a.emotions_ == EMOTIONS
    np.testing.assert_allclose(pa[:, :5], before, atol=1e-6)
    np.testing.assert_array_equal(pa, b.predict_proba(X))  # seeded by random_state
    assert len(a.classes_) == 6 and a.pos_weight_.shape == (6,)
    again = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(again.predict_proba(X), pa)
    # clone: unfitted, user's parameters
    c = clone(a)
    assert c.emotions == EMOTIONS[:5] and not hasattr(c, "emotions_")
    assert c.get_params()["module"] is type(a.module_)


def test_partial_fit_after_add_emotions_trains_the_new_rows(fitted_baseline, small_data):
    X, Y = small_data
    clf = pickle.loads(pickle.dumps(fitted_baseline)).add_emotions(["surprise"])
    heads = clf.module_.heads if hasattr(clf.module_, "heads") else {"h": clf.module_.head}
    before = {k: h.weight[5].detach().clone() for k, h in heads.items()}
    clf.set_params(max_epochs=1).partial_fit(X, Y)
    heads = clf.module_.heads if hasattr(clf.module_, "heads") else {"h": clf.module_.head}
    assert all(not torch.equal(h.weight[5], before[k]) for k, h in heads.items())
    with pytest.raises(ValueError, match="6 emotions"):
        clf.partial_fit(X, Y[:, :5])


@pytest.mark.parametrize("cls, kw", ESTIMATORS, ids=["early", "late"])
def test_errors(cls, kw, small_data):
    X, Y = small_data
    clf = small_clf(EMOTIONS[:5], cls=cls, **kw)
    with pytest.raises(NotFittedError, match=f"This {cls.__name__} is not fitted"):
        clf.predict(X)
    with pytest.raises(NotFittedError, match=cls.__name__):
        clf.add_emotions(["surprise"])
    if cls is EarlyFusionLSTMClassifier:
        with pytest.raises(ValueError, match="hidden_size must be a positive integer"):
            small_clf(EMOTIONS[:5], cls=cls, hidden_size=0, max_epochs=1).fit(X, Y[:, :5])


# ----------------------------------------------------------------------
# skorch and scikit-learn features used the way those libraries teach.
# ----------------------------------------------------------------------
# 12. baselines declare only what they honour
# ----------------------------------------------------------------------
@pytest.mark.parametrize("cls", [EarlyFusionLSTMClassifier, LateFusionLSTMClassifier])
def test_baselines_parameters(cls, data, tmp_path):
    X, Y = data
    params = cls(EMOTIONS).get_params()
    for name in ("pretrain_epochs", "fusion", "swfc_weight", "freeze_encoders",
                 "pretrain_X", "memory_size"):
        assert name not in params
    assert ("hidden_size" in params) != ("hidden_sizes" in params)
    with pytest.raises(TypeError, match=r"unexpected argument\(s\) \['pretrain_epochs'\]"):
        cls(EMOTIONS, pretrain_epochs=1)
    sizes = {k: params[k] for k in ("hidden_size", "hidden_sizes") if k in params}  # defaults
    clf = small_clf(EMOTIONS, cls=cls, max_epochs=1, batch_size=64, **sizes).fit(X, Y)
    clf.save(tmp_path / "b")
    np.testing.assert_array_equal(skmemo.load(tmp_path / "b").predict_proba(X),
                                  clf.predict_proba(X))


# ----------------------------------------------------------------------
# Modalities absent for some samples: length 0 in ``<modality>_lengths``.
# ----------------------------------------------------------------------


def test_baselines_refuse_absent_modalities(data):
    X, Y = data
    R = with_absent(X, "audio", np.arange(len(X)) % 5 == 0)
    clf = LateFusionLSTMClassifier(EMOTIONS, max_epochs=1, random_state=0)
    with pytest.raises(ValueError, match="length of 0"):
        clf.fit(R, Y)
