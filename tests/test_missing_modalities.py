"""Modalities absent for some samples: length 0 in ``<modality>_lengths``."""

import pickle

import numpy as np
import pytest
import torch

from skmemo import MultimodalData
from skmemo.baselines import LateFusionLSTMClassifier
from skmemo.data import check_X, mark_absent
from skmemo.exceptions import ModalityError
from skmemo.fusion import CrossModalLayer
from skmemo.losses import pairwise_infonce_loss
from skmemo.modules import EmotionEmbeddingModel, check_modality_dropout, lengths_from_padding
from skmemo.preprocessing import ModalityScaler
from skmemo.pretraining import _ragged_infonce

from .conftest import EMOTIONS, small_clf


def _ragged(X, modality, absent):
    """``X`` with explicit lengths for ``modality``, 0 at the samples ``absent``."""
    lengths = lengths_from_padding(torch.as_tensor(X[modality])).numpy()
    lengths[absent] = 0
    return MultimodalData(**dict(X), **{f"{modality}_lengths": lengths})


def _without(X, modality):
    return MultimodalData(**{k: v for k, v in X.items() if not k.startswith(modality)})


# ----------------------------------------------------------------------
# input checks
# ----------------------------------------------------------------------
def test_length_zero_is_accepted():
    X = check_X({"text": np.ones((3, 4, 2)), "audio": np.ones((3, 5, 2)),
                 "audio_lengths": [5, 0, 2]})
    assert X["audio_lengths"].tolist() == [5, 0, 2]


@pytest.mark.parametrize("X, exc, match", [
    ({"text": np.ones((3, 4, 2)), "text_lengths": [4, 0, 1], "audio": np.ones((3, 5, 2)),
      "audio_lengths": [0, 0, 3]}, ValueError, r"no modality at all.*samples \[1\]"),
    ({"text": np.ones((2, 4, 2)), "visual_lengths": [1, 1]}, ModalityError,
     "'visual_lengths' but no 'visual'"),
    ({"text": np.ones((3, 4, 2)), "text_lengths": [4, -1, -2]}, ValueError,
     "must not be negative.*-1 at sample 1 and 1 more"),
    ({"text": np.ones((2, 4, 2)), "text_lengths": [4, 5]}, ValueError, r"\[0, 4\]"),
    ({"text": np.ones((2, 4, 2)), "text_lengths": [4, 1, 1]}, ValueError,
     "3 lengths but X.'text'. holds 2"),
])
def test_bad_lengths_give_clear_errors(X, exc, match):
    with pytest.raises(exc, match=match):
        check_X(X)


def test_predict_refuses_a_sample_without_modality(fitted, data):
    X, _ = data
    n = len(X)
    bad = MultimodalData(text=X["text"], text_lengths=np.r_[0, np.ones(n - 1, int)])
    with pytest.raises(ValueError, match="no modality at all"):
        fitted.predict(bad)


def test_mark_absent_nan_and_zero():
    text = np.ones((4, 3, 2))
    text[0, 0] = 0  # one padded step
    audio = np.ones((4, 5, 2))
    audio[1] = np.nan
    audio[2] = 0
    X = mark_absent({"text": text, "audio": audio})
    assert X["audio_lengths"].tolist() == [5, 0, 1, 5]  # all-zero: one zero step
    assert X["text_lengths"].tolist() == [2, 3, 3, 3]
    assert np.isfinite(X["audio"]).all() and len(check_X(X)) == 4
    Z = mark_absent({"text": text, "audio": np.nan_to_num(audio)}, marker="zero")
    assert Z["audio_lengths"].tolist() == [5, 0, 0, 5]
    given = mark_absent({"text": text, "text_lengths": [1, 1, 2, 3]})
    assert given["text_lengths"].tolist() == [1, 1, 2, 3]
    with pytest.raises(ValueError, match="marker must be"):
        mark_absent({"text": text}, marker="none")
    with pytest.raises(ValueError, match="no modality at all"):
        mark_absent({"text": np.full((2, 3, 2), np.nan)})


def test_modality_dropout_validation():
    assert check_modality_dropout(None) == {}
    assert check_modality_dropout(0.0) == {}
    assert check_modality_dropout({"text": 0.1}, ["audio"]) == {}
    for bad in (1.0, -0.1, "0.2", True, {"face": 0.1}, {"audio": 1}):
        with pytest.raises(ValueError, match="modality_dropout"):
            check_modality_dropout(bad)
    with pytest.raises(ValueError, match="modality_dropout"):
        small_clf(modality_dropout=1.5).fit(*_tiny())


def _tiny(n=48, seed=0):
    from skmemo.datasets import make_emotion_dataset

    return make_emotion_dataset(n, seq_len=6, random_state=seed)


# ----------------------------------------------------------------------
# prediction: an absent modality is the subset path, exactly
# ----------------------------------------------------------------------
@pytest.mark.parametrize("modality", ["audio", "text"])
def test_absent_equals_subset_exactly(fitted, data, modality):
    X, _ = data
    absent = np.arange(len(X)) % 3 == 0
    ragged = _ragged(X, modality, absent)
    proba = fitted.predict_proba(ragged)
    subset = fitted.predict_proba(_without(X, modality))
    complete = fitted.predict_proba(X)
    np.testing.assert_array_equal(proba[absent], subset[absent])
    np.testing.assert_array_equal(proba[~absent], complete[~absent])
    # also one sample at a time (batches of one)
    i = int(np.flatnonzero(absent)[1])
    one = fitted.predict_proba(ragged[i:i + 1])
    np.testing.assert_array_equal(one, fitted.predict_proba(_without(X, modality)[i:i + 1]))


def test_absent_equals_subset_with_cross_attention():
    X, Y = _tiny()
    clf = small_clf(fusion="cross_attention", max_epochs=1,
                    module__attention_dim=8, module__attention_layers=1,
                    module__attention_heads=2).fit(X, Y)
    absent = np.arange(len(X)) % 2 == 0
    proba = clf.predict_proba(_ragged(X, "visual", absent))
    assert np.isfinite(proba).all()
    np.testing.assert_array_equal(proba[absent],
                                  clf.predict_proba(_without(X, "visual"))[absent])
    # present rows attend to visual keys padded to the longest *present* visual
    # sequence instead of the longest of all: equal up to rounding
    np.testing.assert_allclose(proba[~absent], clf.predict_proba(X)[~absent], rtol=1e-5)


def test_absent_for_every_sample_equals_subset(fitted, data):
    X, _ = data
    ragged = _ragged(X, "visual", np.ones(len(X), bool))
    np.testing.assert_array_equal(fitted.decision_function(ragged),
                                  fitted.decision_function(_without(X, "visual")))


def test_fusion_renormalises_per_sample():
    torch.manual_seed(0)
    model = EmotionEmbeddingModel(torch.randn(3, 8), {"text": 5, "audio": 4}).eval()
    text, audio = torch.randn(4, 6, 5), torch.randn(4, 6, 4)
    full = torch.full((4,), 6)
    with torch.no_grad():
        out = model(text=text, audio=audio, text_lengths=full,
                    audio_lengths=torch.tensor([6, 0, 6, 0]))
        t_only = model(text=text, text_lengths=full)
        reps = model.encode({"text": text, "audio": audio}, {"text": full, "audio": full})
        s = model.scores(reps)
    w = model.fusion_weights.detach()
    torch.testing.assert_close(out[1], t_only[1], rtol=0, atol=0)
    torch.testing.assert_close(out[1], 2 * w[0] * s["text"][1])
    torch.testing.assert_close(out[0], w[0] * s["text"][0] + w[1] * s["audio"][0])


def test_cross_modal_layer_leaves_absent_rows_unchanged():
    torch.manual_seed(0)
    layer = CrossModalLayer(8, 1, heads=2, dropout=0.0).eval()
    q, src = torch.randn(3, 4, 8), torch.randn(3, 5, 8)
    mask = torch.tensor([[False] * 5, [True] * 5, [False, False, True, True, True]])
    here = torch.tensor([True, False, True])
    with torch.no_grad():
        out = layer(q, [src], [mask], present=[here])
        alone = layer(q[1:2], [], [])  # no source at all: only the feed-forward block
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[1:2], alone, rtol=0, atol=0)


# ----------------------------------------------------------------------
# training on ragged data
# ----------------------------------------------------------------------
def _ragged_everywhere(X, seed=0):
    """Each modality absent for about a third of the samples, never all three."""
    rng = np.random.default_rng(seed)
    n = len(X)
    keep = rng.random((n, 3)) > 0.35
    keep[~keep.any(axis=1), 0] = True
    out = dict(X)
    for j, m in enumerate(("text", "audio", "visual")):
        lengths = lengths_from_padding(torch.as_tensor(X[m])).numpy()
        out[f"{m}_lengths"] = np.where(keep[:, j], lengths, 0)
    return MultimodalData(**out)


@pytest.mark.parametrize("params", [
    {}, {"bucket_by_length": True, "modality_dropout": {"audio": 0.3}},
    {"fusion": "cross_attention", "module__attention_dim": 8, "module__attention_layers": 1,
     "module__attention_heads": 2},
])
def test_training_on_ragged_data_runs_and_pickles(params):
    X, Y = _tiny(64)
    R = _ragged_everywhere(X)
    clf = small_clf(max_epochs=2, **params).fit(R, Y)
    losses = clf.history_[:, "train_loss"]
    assert np.isfinite(losses).all()
    proba = clf.predict_proba(R)
    assert proba.shape == (64, len(EMOTIONS)) and np.isfinite(proba).all()
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict_proba(R), proba)


def test_set_params_modality_dropout_after_fit_reaches_module():
    X, Y = _tiny(64)
    clf = small_clf(max_epochs=1).fit(X, Y)
    assert clf.module_.modality_dropout == {}
    clf.set_params(modality_dropout={"audio": 0.5})
    clf.partial_fit(X, Y)
    assert clf.module_.modality_dropout == {"audio": 0.5}
    clf.set_params(modality_dropout=0.25)
    clf.partial_fit(X, Y)
    assert clf.module_.modality_dropout == dict.fromkeys(("text", "audio", "visual"), 0.25)
    n_epochs = len(clf.history_)
    clf.set_params(modality_dropout=1.5)
    with pytest.raises(ValueError, match="modality_dropout"):
        clf.partial_fit(X, Y)
    assert clf.module_.modality_dropout == dict.fromkeys(("text", "audio", "visual"), 0.25)
    assert len(clf.history_) == n_epochs
    clf.set_params(modality_dropout=None)
    clf.partial_fit(X, Y)
    assert clf.module_.modality_dropout == {}


def test_prediction_in_length_ordered_batches_with_absent_samples(fitted, data):
    """Several prediction batches (length-ordered) give each sample its own row."""
    X, _ = data
    R = _ragged_everywhere(X, seed=2)
    one_batch = fitted.predict_proba(R)
    clf = pickle.loads(pickle.dumps(fitted)).set_params(predict_batch_size=7)
    assert (np.asarray(R["audio_lengths"]) == 0).any()
    np.testing.assert_allclose(clf.predict_proba(R), one_batch, rtol=0, atol=1e-6)


def test_loss_sees_only_present_modalities():
    """A sample's absent features do not reach the gradient."""
    torch.manual_seed(0)
    model = EmotionEmbeddingModel(torch.randn(2, 6), {"text": 3, "audio": 4}).train()
    audio = torch.randn(4, 5, 4, requires_grad=True)
    out = model(text=torch.randn(4, 5, 3), audio=audio,
                audio_lengths=torch.tensor([5, 0, 3, 0]))
    out.sum().backward()
    assert audio.grad[[1, 3]].abs().sum() == 0
    assert audio.grad[0].abs().sum() > 0


def test_modality_dropout_training_only_and_never_all():
    torch.manual_seed(0)
    model = EmotionEmbeddingModel(torch.randn(2, 6), {"text": 3, "audio": 4, "visual": 2},
                                  modality_dropout={"text": 0.6, "audio": 0.6,
                                                    "visual": 0.6})
    n = 4000
    inputs = {"text": torch.ones(n, 2, 3), "audio": torch.ones(n, 2, 4),
              "visual": torch.ones(n, 2, 2)}
    given = {"visual": torch.where(torch.arange(n) % 2 == 0, 2, 0)}
    dropped = model.drop_modalities(inputs, given)
    kept = torch.stack([dropped[m] > 0 for m in ("text", "audio", "visual")], dim=1)
    assert kept.any(dim=1).all()  # never all modalities of a sample
    assert not kept[1::2, 2].any()  # absent stays absent
    share = 1 - kept[:, 0].float().mean().item()
    # text is dropped with 0.6, less the cases where it is the one kept back:
    # 3 present: 0.6 - 0.6**3 / 3; 2 present: 0.6 - 0.6**2 / 2
    expected = 0.5 * (0.6 - 0.6 ** 3 / 3) + 0.5 * (0.6 - 0.6 ** 2 / 2)
    assert abs(share - expected) < 0.03
    # eval mode: no dropout, so predictions are deterministic and complete
    model.eval()
    with torch.no_grad():
        a = model(**inputs)
        b = model(**inputs)
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_modality_dropout_off_by_default_changes_nothing(data):
    X, Y = data
    a = small_clf(max_epochs=1).fit(X[:96], Y[:96]).predict_proba(X[:32])
    b = small_clf(max_epochs=1, modality_dropout=None).fit(X[:96], Y[:96]).predict_proba(
        X[:32])
    c = small_clf(max_epochs=1, modality_dropout=0.5).fit(X[:96], Y[:96]).predict_proba(
        X[:32])
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


# ----------------------------------------------------------------------
# zero-shot, continual learning, pre-training, preprocessing, baselines
# ----------------------------------------------------------------------
def test_zero_shot_accepts_ragged_inputs(data):
    X, Y = data
    clf = small_clf(EMOTIONS[:5], max_epochs=1).fit(X, Y[:, :5])
    clf.add_emotions(["surprise"])
    absent = np.arange(len(X)) % 4 == 1
    proba = clf.predict_proba(_ragged(X, "audio", absent))
    assert proba.shape == (len(X), 6)
    np.testing.assert_array_equal(proba[absent],
                                  clf.predict_proba(_without(X, "audio"))[absent])


def test_partial_fit_gem_accepts_ragged_inputs(data):
    X, Y = data
    clf = small_clf(max_epochs=1, memory_size=32).fit(_ragged_everywhere(X[:120]), Y[:120])
    R = _ragged_everywhere(X[120:], seed=1)
    clf.partial_fit_gem(R, Y[120:], epochs=1, new_task=True)  # GEM protects task 0
    assert np.isfinite(clf.history_[-1, "train_loss"])
    assert clf.memory_.n_tasks == 2
    assert "audio_lengths" in clf.memory_.tasks[1]["X"]
    assert np.isfinite(clf.predict_proba(R)).all()


def test_pretraining_accepts_ragged_inputs():
    X, Y = _tiny(64)
    clf = small_clf(max_epochs=1, pretrain_epochs=2).fit(_ragged_everywhere(X), Y)
    assert len(clf.pretrain_history_) == 2
    assert np.isfinite(clf.pretrain_history_).all()


def test_ragged_infonce():
    torch.manual_seed(0)
    h = {"text": torch.randn(6, 4), "audio": torch.randn(6, 4)}
    everyone = {m: torch.ones(6, dtype=torch.bool) for m in h}
    torch.testing.assert_close(_ragged_infonce(h, everyone, 0.5),
                               pairwise_infonce_loss(h, temperature=0.5))
    some = {"text": everyone["text"], "audio": torch.tensor([1, 1, 0, 1, 0, 0]).bool()}
    both = some["audio"]
    torch.testing.assert_close(
        _ragged_infonce(h, some, 0.5),
        pairwise_infonce_loss({m: v[both] for m, v in h.items()}, temperature=0.5))
    one = {"text": everyone["text"], "audio": torch.tensor([1, 0, 0, 0, 0, 0]).bool()}
    assert _ragged_infonce(h, one, 0.5) is None


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


def test_baselines_refuse_absent_modalities(data):
    X, Y = data
    R = _ragged(X, "audio", np.arange(len(X)) % 5 == 0)
    clf = LateFusionLSTMClassifier(EMOTIONS, max_epochs=1, random_state=0)
    with pytest.raises(ValueError, match="length of 0"):
        clf.fit(R, Y)


# ----------------------------------------------------------------------
# readers
# ----------------------------------------------------------------------
def test_cmu_mosei_reports_missing_segments_as_absent(tmp_path):
    from skmemo.datasets import MOSEI_FILES, align_csd, load_cmu_mosei

    from .test_datasets_csd import write_csd

    def e(intervals, features):
        return {"intervals": intervals, "features": features}

    # vidA: audio only during the first word, no visual entry; vidB complete
    words = {"vidA": e([[0, 1], [1, 2], [2, 3]], [[1, 1], [2, 2], [3, 3]]),
             "vidB": e([[0, 1], [1, 2]], [[4, 4], [5, 5]])}
    audio = {"vidA": e([[0, 1]], [[7, 7]]), "vidB": e([[0, 2]], [[8, 8]])}
    visual = {"vidB": e([[0, 2]], [[9]])}
    labels = {"vidA": e([[0, 1], [1, 3]], [[0, 1, 0, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0, 0]]),
              "vidB": e([[0, 2]], [[0, 0, 0, 1, 0, 0, 0]])}
    for role, root, data in (("text", "glove_vectors", words), ("audio", "COVAREP", audio),
                             ("visual", "FACET 4.2", visual), ("labels", "All Labels", labels)):
        write_csd(tmp_path / MOSEI_FILES[role], root, data)

    zero = load_cmu_mosei(tmp_path, seq_len=3)
    assert zero.ids == ["vidB[0]"] and zero.skipped_videos == ["vidA"]
    assert "audio_lengths" not in zero.data

    ragged = load_cmu_mosei(tmp_path, seq_len=3, missing="absent")
    assert ragged.ids == ["vidA[0]", "vidA[1]", "vidB[0]"] and ragged.skipped_videos == []
    assert ragged.data["text_lengths"].tolist() == [1, 2, 2]
    assert ragged.data["audio_lengths"].tolist() == [1, 0, 2]
    assert ragged.data["visual_lengths"].tolist() == [0, 0, 2]
    np.testing.assert_array_equal(ragged.data["audio"][0, -1], [7, 7])
    assert len(check_X(ragged.data)) == 3
    with pytest.raises(ValueError, match="missing must be"):
        load_cmu_mosei(tmp_path, missing="nan")

    aligned = align_csd({"words": words, "audio": audio}, "words", collapse="mean",
                        impute="absent")
    assert [v["features"].shape[0] for v in aligned["audio"].values()] == [1, 0, 0, 1, 1]

    # the same corpus split into SDK-aligned entries "<video>[<i>]": same segments,
    # same tensors, same absent modalities
    split = tmp_path / "split"
    split.mkdir()
    entries = {
        "text": {"vidA[0]": e([[0, 1]], [[1, 1]]),
                 "vidA[1]": e([[1, 2], [2, 3]], [[2, 2], [3, 3]]), "vidB[0]": words["vidB"]},
        "audio": {"vidA[0]": audio["vidA"], "vidB[0]": audio["vidB"]},
        "visual": {"vidB[0]": visual["vidB"]},
        "labels": {"vidA[0]": e([[0, 1]], [[0, 1, 0, 0, 0, 0, 0]]),
                   "vidA[1]": e([[1, 3]], [[0, 0, 1, 0, 0, 0, 0]]), "vidB[0]": labels["vidB"]},
    }
    for role, root in (("text", "glove_vectors"), ("audio", "COVAREP"),
                       ("visual", "FACET 4.2"), ("labels", "All Labels")):
        write_csd(split / MOSEI_FILES[role], root, entries[role])
    got = load_cmu_mosei(split, seq_len=3, missing="absent")
    assert got.ids == ragged.ids and got.skipped_videos == []
    for key in ragged.data:
        np.testing.assert_array_equal(got.data[key], ragged.data[key])
    assert load_cmu_mosei(split, seq_len=3).ids == ["vidB[0]"]


def test_modality_dropout_survives_save_and_load(tmp_path, data):
    from skmemo.persistence import load

    X, Y = data
    clf = small_clf(max_epochs=1, modality_dropout={"visual": 0.4}).fit(X[:96], Y[:96])
    clf.save(tmp_path / "model.skmemo")
    loaded = load(tmp_path / "model.skmemo")
    assert loaded.get_params()["modality_dropout"] == {"visual": 0.4}
    assert loaded.module_.modality_dropout == {"visual": 0.4}
    R = _ragged(X[:40], "audio", np.arange(40) % 2 == 0)
    np.testing.assert_array_equal(loaded.predict_proba(R), clf.predict_proba(R))


def test_module_refuses_samples_without_modality():
    model = EmotionEmbeddingModel(torch.randn(2, 6), {"text": 3, "audio": 4}).eval()
    text, audio = torch.ones(3, 2, 3), torch.ones(3, 2, 4)
    with pytest.raises(ValueError, match="no present modality"):
        model(text=text, audio=audio, text_lengths=torch.tensor([2, 0, 2]),
              audio_lengths=torch.tensor([0, 0, 2]))
    with pytest.raises(ValueError, match="no sample of the batch"):
        model(text=text, text_lengths=torch.zeros(3, dtype=torch.long))
