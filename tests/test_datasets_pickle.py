"""Tests of the IEMOCAP (MulT) and MMSA pickle readers."""

import pathlib
import pickle

import numpy as np
import pytest

from skmemo.datasets import IEMOCAP_EMOTIONS, load_iemocap, load_mmsa_pickle
from skmemo.exceptions import DataFormatError, UnsafeLoadError

SIZES = {"train": 5, "valid": 2, "test": 3}


class _Touch:
    """Unpickling this object creates a file: what a malicious pickle could do."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.path),))


def _dump(path, obj, protocol=pickle.HIGHEST_PROTOCOL):
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=protocol)
    return path


def _iemocap(seed=0):
    rng = np.random.RandomState(seed)
    data = {}
    for split, n in SIZES.items():
        positive = rng.rand(n, 4) < 0.4
        labels = np.stack([~positive, positive], axis=-1).astype(np.float32)  # (n, 4, 2)
        audio = rng.randn(n, 4, 3).astype(np.float32)
        audio[0, 0, 0] = -np.inf
        data[split] = {"text": rng.randn(n, 4, 6), "audio": audio,
                       "vision": rng.randn(n, 4, 2).astype(np.float32), "labels": labels}
    return data


def test_pickles_are_refused_without_opt_in_and_never_run(tmp_path):
    marker = tmp_path / "ran"
    path = _dump(tmp_path / "evil.pkl", {"train": _Touch(marker)})
    for loader in (load_iemocap, load_mmsa_pickle):
        with pytest.raises(UnsafeLoadError, match="allow_pickle=True"):
            loader(path)
    assert not marker.exists()  # nothing was unpickled
    with pytest.raises(DataFormatError):  # opted in: it runs (and is malformed)
        load_iemocap(path, allow_pickle=True)
    assert marker.exists()


def test_allow_pickle_must_be_a_bool_and_paths_must_exist(tmp_path):
    with pytest.raises(TypeError, match="allow_pickle"):
        load_iemocap(tmp_path / "x.pkl", allow_pickle="yes")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_iemocap(tmp_path / "x.pkl", allow_pickle=True)


def test_load_iemocap_takes_argmax_of_label_pairs(tmp_path):
    data = _iemocap()
    out = load_iemocap(_dump(tmp_path / "iemocap_data.pkl", data), allow_pickle=True)
    assert out.emotions == list(IEMOCAP_EMOTIONS) == ["neutral", "happy", "sad", "angry"]
    for split, n in SIZES.items():
        part = out[split]
        assert part.target.shape == (n, 4)
        np.testing.assert_array_equal(part.target, data[split]["labels"][:, :, 1])
        np.testing.assert_array_equal(part.data["visual"], data[split]["vision"])
        assert part.data["text"].dtype == np.float32
    assert out.train.data["audio"][0, 0, 0] == 0  # -inf set to 0
    kept = load_iemocap(tmp_path / "iemocap_data.pkl", allow_pickle=True, splits="test",
                        nonfinite="keep")
    assert list(kept) == ["test", "emotions"]


def test_load_iemocap_reads_python2_style_bytes_keys(tmp_path):
    data = _iemocap()
    legacy = {split.encode(): {k.encode(): v for k, v in part.items()}
              for split, part in data.items()}
    out = load_iemocap(_dump(tmp_path / "py2.pkl", legacy, protocol=2), allow_pickle=True)
    np.testing.assert_array_equal(out.valid.target, data["valid"]["labels"].argmax(-1))


def test_load_iemocap_refuses_wrong_layouts(tmp_path):
    data = _iemocap()
    data["train"]["labels"] = data["train"]["labels"][:, :, 0]
    with pytest.raises(DataFormatError, match=r"\(5, 4, 2\)"):
        load_iemocap(_dump(tmp_path / "a.pkl", data), allow_pickle=True)
    data = _iemocap()
    del data["valid"]
    with pytest.raises(DataFormatError, match="no split 'valid'"):
        load_iemocap(_dump(tmp_path / "b.pkl", data), allow_pickle=True)
    data = _iemocap()
    data["test"]["audio"] = data["test"]["audio"][:2]
    with pytest.raises(DataFormatError, match="different sizes"):
        load_iemocap(_dump(tmp_path / "c.pkl", data), allow_pickle=True)
    with pytest.raises(DataFormatError, match="dict of splits"):
        load_iemocap(_dump(tmp_path / "d.pkl", [1, 2]), allow_pickle=True)


def test_truncated_pickle_is_a_clear_error(tmp_path):
    path = _dump(tmp_path / "full.pkl", _iemocap())
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataFormatError, match="truncated"):
        load_iemocap(path, allow_pickle=True)


def _mmsa(lengths=True):
    rng = np.random.RandomState(1)
    data = {}
    for split, n in SIZES.items():
        part = {
            "text": rng.randn(n, 5, 4).astype(np.float32),
            "audio": rng.randn(n, 7, 3).astype(np.float32),
            "vision": rng.randn(n, 6, 2).astype(np.float32),
            "id": np.array([f"vid${i}".encode() for i in range(n)], dtype=object),
            "raw_text": np.array([f"words {i}" for i in range(n)]),
            "regression_labels": np.linspace(-2, 2, n).astype(np.float32),
        }
        if lengths:
            part["audio_lengths"] = list(range(n))  # 0 is clipped to 1
            part["vision_lengths"] = np.full(n, 9)  # beyond 6: clipped
        data[split] = part
    return data


def test_load_mmsa_pickle_reads_sentiment_lengths_and_ids(tmp_path):
    data = _mmsa()
    out = load_mmsa_pickle(_dump(tmp_path / "unaligned_50.pkl", data), allow_pickle=True)
    assert out.emotions == ["positive", "negative"] and out.padding == "post"
    train = out.train
    np.testing.assert_allclose(train.sentiment, [-2, -1, 0, 1, 2])
    np.testing.assert_array_equal(train.target, [[0, 1], [0, 1], [0, 0], [1, 0], [1, 0]])
    np.testing.assert_array_equal(train.data["audio_lengths"], [1, 1, 2, 3, 4])
    np.testing.assert_array_equal(train.data["visual_lengths"], [6] * 5)
    assert train.ids.tolist() == [f"vid${i}" for i in range(5)]
    assert set(train.extra) == {"raw_text"}
    np.testing.assert_array_equal(train.data["visual"], data["train"]["vision"])


def test_load_mmsa_pickle_reads_mult_labels_without_lengths(tmp_path):
    data = _mmsa(lengths=False)
    for part in data.values():
        part["labels"] = part.pop("regression_labels").reshape(-1, 1, 1)
    out = load_mmsa_pickle(_dump(tmp_path / "mosei_senti_data.pkl", data), allow_pickle=True,
                           splits=["test"])
    assert out.padding == "pre" and "audio_lengths" not in out.test.data
    np.testing.assert_allclose(out.test.sentiment, [-2, 0, 2])
    del data["test"]["labels"]
    with pytest.raises(DataFormatError, match="regression_labels"):
        load_mmsa_pickle(_dump(tmp_path / "x.pkl", data), allow_pickle=True, splits="test")


# ----------------------------------------------------------------------
# pickles written the way MMSA-FET writes them (run_dataset, padding, save_result)
# ----------------------------------------------------------------------
def _fet_pad(seqs, location):
    """Zero-pad (or cut) every sequence to int(mean + 3 std) of the lengths, at the
    end or the start: MMSA-FET's paddingSequence."""
    lengths = [len(s) for s in seqs]
    steps = int(np.mean(lengths) + 3 * np.std(lengths))
    out = np.zeros((len(seqs), steps, seqs[0].shape[-1]))
    for i, s in enumerate(seqs):
        s = s[:steps]
        if location == "start":
            out[i, steps - len(s):] = s
        else:
            out[i, :len(s)] = s
    return out, steps


def _mmsa_fet(location="end", aligned=True, bert=True, seed=0):
    """A feature pickle in MMSA-FET's layout, and the true token and frame counts.

    Text: BERT features, one row per token ([CLS] words [SEP]), and ``text_bert``
    rows (input ids, attention mask, token types) per token, padded like the
    features, then transposed to (n, 3, L). Aligned audio and vision: the word's
    averaged frames per token, a zero row for [CLS] and [SEP]; no ``*_lengths``.
    Unaligned: frames, with ``audio_lengths`` / ``vision_lengths`` cut to the
    padded length.
    """
    rng = np.random.RandomState(seed)
    modes = ["train"] * 6 + ["valid"] * 2 + ["test"] * 3
    n = len(modes)
    tokens = rng.randint(4, 9, size=n) + 2  # 6 to 10 tokens
    frames = rng.randint(5, 30, size=n)
    text = [rng.randn(t, 4) + 3 for t in tokens]
    text_bert = [np.stack([rng.randint(1000, 2000, t), np.ones(t), np.zeros(t)], axis=1)
                 for t in tokens]
    if aligned:
        audio = [np.vstack([np.zeros((1, 3)), rng.randn(t - 2, 3) + 1, np.zeros((1, 3))])
                 for t in tokens]
        vision = [np.vstack([np.zeros((1, 2)), rng.rand(t - 2, 2) + 1, np.zeros((1, 2))])
                  for t in tokens]
    else:
        audio = [rng.randn(f, 3) + 1 for f in frames]
        vision = [rng.rand(f, 2) + 1 for f in frames]
    data = {"id": [f"vid{i}$_${i}" for i in range(n)],
            "raw_text": [f"clip {i}" for i in range(n)],
            "regression_labels": rng.uniform(-3, 3, n), "annotations": ["Neutral"] * n}
    data["text"], t_len = _fet_pad(text, location)
    data["audio"], a_len = _fet_pad(audio, location)
    data["vision"], v_len = _fet_pad(vision, location)
    if bert:
        data["text_bert"] = _fet_pad(text_bert, location)[0].transpose(0, 2, 1)
    if not aligned:
        data["audio_lengths"] = [min(f, a_len) for f in frames]
        data["vision_lengths"] = [min(f, v_len) for f in frames]
    out = {mode: {k: np.array([v[i] for i, m in enumerate(modes) if m == mode])
                  if isinstance(v, list) else v[[i for i, m in enumerate(modes) if m == mode]]
                  for k, v in data.items()} for mode in ("train", "valid", "test")}
    out["config"] = {"align": {"tool": "ctc"}} if aligned else {}
    return out, np.minimum(tokens, t_len), np.minimum(frames, a_len)


@pytest.mark.parametrize("location, side", [("end", "post"), ("start", "pre")])
def test_mmsa_fet_aligned_pickle_padding_side_and_lengths_from_the_bert_mask(
        tmp_path, location, side):
    data, true_tokens, _ = _mmsa_fet(location)
    out = load_mmsa_pickle(_dump(tmp_path / "aligned.pkl", data), allow_pickle=True)
    assert out.padding == side
    lengths = np.concatenate([out[s].data["text_lengths"] for s in ("train", "valid", "test")])
    np.testing.assert_array_equal(lengths, true_tokens)
    assert 6 <= lengths.min() and lengths.max() <= 10
    for split in ("train", "valid", "test"):
        X = out[split].data
        np.testing.assert_array_equal(X["audio_lengths"], X["text_lengths"])  # MMSA's reading
        np.testing.assert_array_equal(X["visual_lengths"], X["text_lengths"])
        steps = X["audio"].shape[1]
        for i, L in enumerate(X["audio_lengths"]):
            real = X["audio"][i, :L] if side == "post" else X["audio"][i, steps - L:]
            rest = X["audio"][i, L:] if side == "post" else X["audio"][i, :steps - L]
            # the [CLS] and [SEP] rows are zero but real; only the rest is padding
            assert not real[0].any() and not real[L - 1].any() and real[1:L - 1].all()
            assert not rest.any()
    assert set(out.train.extra) >= {"text_bert", "raw_text", "annotations"}


@pytest.mark.parametrize("location, side", [("end", "post"), ("start", "pre")])
@pytest.mark.parametrize("bert", [True, False])
def test_mmsa_fet_unaligned_pickle_padding_side_from_the_data(tmp_path, location, side, bert):
    data, true_tokens, true_frames = _mmsa_fet(location, aligned=False, bert=bert)
    out = load_mmsa_pickle(_dump(tmp_path / "unaligned.pkl", data), allow_pickle=True)
    assert out.padding == side
    frames = np.concatenate([out[s].data["audio_lengths"] for s in ("train", "valid", "test")])
    np.testing.assert_array_equal(frames, true_frames)
    assert ("text_lengths" in out.train.data) == bert


def test_mmsa_padding_override_and_refusal(tmp_path):
    path = _dump(tmp_path / "aligned.pkl", _mmsa_fet("end")[0])
    assert load_mmsa_pickle(path, allow_pickle=True, padding="post").padding == "post"
    with pytest.raises(DataFormatError, match="padding='pre'.*pass padding='post'"):
        load_mmsa_pickle(path, allow_pickle=True, padding="pre")
    with pytest.raises(ValueError, match="padding must be"):
        load_mmsa_pickle(path, allow_pickle=True, padding="end")
    data = _mmsa_fet("end")[0]
    data["valid"]["text_bert"] = data["valid"]["text_bert"][:, :2]
    with pytest.raises(DataFormatError, match=r"text_bert.*\(2, 3, steps\)"):
        load_mmsa_pickle(_dump(tmp_path / "bad.pkl", data), allow_pickle=True)


def test_mult_pickle_padded_at_the_front_reads_pre(tmp_path):
    # MulT's pickles hold the SDK's tensors: zero rows in front, no lengths
    data = _mmsa(lengths=False)
    for part in data.values():
        part["labels"] = part.pop("regression_labels")
        for key in ("text", "audio", "vision"):
            part[key][:, :2] = 0
    out = load_mmsa_pickle(_dump(tmp_path / "mosei_senti_data.pkl", data), allow_pickle=True)
    assert out.padding == "pre" and "text_lengths" not in out.train.data
