"""Tests of load_cmu_mosei on small files in the SDK's exact layout.

The toy corpus, with the values each test expects computed by hand:

vidA, words (text, 2-d), one per second; word 2 has zero length (skipped):
    w0 [0,1] (1,1)   w1 [1,2] (2,2)   w2 [2,2] (9,9)   w3 [2,3] (3,3)   w4 [3,4] (4,4)
vidA, COVAREP (audio, 2-d), half-second frames, none after 3 s:
    [0,.5] (1,10) [.5,1] (3,10) [1,1.5] (5,-inf) [1.5,2] (7,20) [2,2.5] (2,0) [2.5,3] (4,0)
    word means: w0 (2,10)  w1 (6,-inf)  w3 (3,0)  w4 none -> (0,0)
vidA, FACET (visual, 1-d): [0,2] (10), [2,4] (20) -> w0 10, w1 10, w3 20, w4 20
vidA, labels, rows NOT in time order:
    row 0 [2,4]: sentiment 1.5, happy 0, sad 1, anger 0, surprise .3, disgust 0, fear 0
    row 1 [0,2]: sentiment -2, happy 2, sad 0, anger 0, surprise 0, disgust 0, fear 1
    row 2 [5,6]: no word -> dropped
    segment 0 = words w3, w4; segment 1 = words w0, w1 (w1 ends where row 0 starts)
vidB: four words in one segment [0,4]; seq_len=3 keeps the last three.
vidC: no COVAREP entry -> skipped.
"""

import ast
import fnmatch
from pathlib import Path

import numpy as np
import pytest

import skmemo.datasets
from skmemo.data import check_X
from skmemo.datasets import (
    MOSEI_FILES,
    MOSEI_LEGACY_EMOTIONS,
    MOSEI_SDK_EMOTIONS,
    align_csd,
    cmu_mosei_standard_folds,
    load_cmu_mosei,
    load_csd,
)
from skmemo.exceptions import DataFormatError

from .test_datasets_csd import write_csd

INF = np.inf
REPO = Path(__file__).resolve().parents[1]


def _e(intervals, features):
    return {"intervals": intervals, "features": features}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("mosei")
    words = {
        "vidA": _e([[0, 1], [1, 2], [2, 2], [2, 3], [3, 4]],
                   [[1, 1], [2, 2], [9, 9], [3, 3], [4, 4]]),
        "vidB": _e([[0, 1], [1, 2], [2, 3], [3, 4]], [[1, 0], [2, 0], [3, 0], [4, 0]]),
        "vidC": _e([[0, 1]], [[1, 1]]),
    }
    covarep = {
        "vidA": _e([[0, .5], [.5, 1], [1, 1.5], [1.5, 2], [2, 2.5], [2.5, 3]],
                   [[1, 10], [3, 10], [5, -INF], [7, 20], [2, 0], [4, 0]]),
        "vidB": _e([[0, 4]], [[8, 8]]),
    }
    facet = {"vidA": _e([[0, 2], [2, 4]], [[10], [20]]),
             "vidB": _e([[0, 4]], [[30]]),
             "vidC": _e([[0, 1]], [[1]])}
    labels = {
        "vidA": _e([[2, 4], [0, 2], [5, 6]],
                   [[1.5, 0, 1, 0, .3, 0, 0], [-2, 2, 0, 0, 0, 0, 1], [0, 1, 1, 1, 1, 1, 1]]),
        "vidB": _e([[0, 4]], [[0.5, 0, 0, 3, 0, 2, 0]]),
        "vidC": _e([[0, 1]], [[0, 0, 0, 0, 0, 0, 0]]),
    }
    write_csd(d / MOSEI_FILES["text"], "glove_vectors", words)
    write_csd(d / MOSEI_FILES["audio"], "COVAREP", covarep)
    write_csd(d / MOSEI_FILES["visual"], "FACET 4.2", facet, meta_style="bytes")
    write_csd(d / MOSEI_FILES["labels"], "All Labels", labels)
    return d


@pytest.fixture(scope="module")
def mosei(folder):
    return load_cmu_mosei(folder, seq_len=3)


def test_segments_follow_label_rows_and_sorted_videos(mosei):
    assert mosei.ids == ["vidA[0]", "vidA[1]", "vidB[0]"]
    assert mosei.skipped_videos == ["vidC"]
    np.testing.assert_allclose(mosei.sentiment, [1.5, -2, 0.5])


def test_text_is_word_aligned_and_front_padded(mosei):
    text = mosei.data["text"]
    assert text.shape == (3, 3, 2) and text.dtype == np.float32
    np.testing.assert_array_equal(text[0], [[0, 0], [3, 3], [4, 4]])
    np.testing.assert_array_equal(text[1], [[0, 0], [1, 1], [2, 2]])
    np.testing.assert_array_equal(text[2], [[2, 0], [3, 0], [4, 0]])  # last 3 of 4 words


def test_audio_is_averaged_per_word_imputed_and_cleaned(mosei):
    audio = mosei.data["audio"]
    np.testing.assert_array_equal(audio[0], [[0, 0], [3, 0], [0, 0]])  # w4: no frame
    np.testing.assert_array_equal(audio[1], [[0, 0], [2, 10], [6, 0]])  # -inf -> 0
    np.testing.assert_array_equal(audio[2], [[8, 8]] * 3)
    np.testing.assert_array_equal(mosei.data["visual"][:, :, 0],
                                  [[0, 20, 20], [0, 10, 10], [30, 30, 30]])


def test_labels_in_sdk_order_binarised(mosei):
    assert mosei.emotions == list(MOSEI_SDK_EMOTIONS)
    assert mosei.emotions == ["happy", "sad", "anger", "surprise", "disgust", "fear"]
    np.testing.assert_array_equal(mosei.target, [[0, 1, 0, 1, 0, 0],
                                                 [1, 0, 0, 0, 0, 1],
                                                 [0, 0, 1, 0, 1, 0]])
    np.testing.assert_allclose(mosei.intensities[0], [0, 1, 0, .3, 0, 0], rtol=1e-6)


def test_emotions_pick_and_order_columns(folder):
    alpha = load_cmu_mosei(folder, seq_len=3, emotions=MOSEI_LEGACY_EMOTIONS)
    assert alpha.emotions == ["anger", "disgust", "fear", "happy", "sad", "surprise"]
    np.testing.assert_array_equal(alpha.target[0], [0, 0, 0, 0, 1, 1])
    two = load_cmu_mosei(folder, seq_len=3, emotions=["fear", "happy"], modalities=["text"])
    assert two.ids[-1] == "vidC[0]"  # vidC has words and labels: enough for text alone
    np.testing.assert_array_equal(two.target, [[0, 0], [1, 1], [0, 0], [0, 0]])
    with pytest.raises(ValueError, match="unknown"):
        load_cmu_mosei(folder, emotions=["joy"])


def test_nonfinite_keep_and_error(folder):
    kept = load_cmu_mosei(folder, seq_len=3, nonfinite="keep")
    assert kept.data["audio"][1, 2, 1] == -INF
    with pytest.raises(DataFormatError, match="NaN or infinite"):
        load_cmu_mosei(folder, nonfinite="error")


def test_seq_len_one_keeps_the_last_word(folder):
    one = load_cmu_mosei(folder, seq_len=1, modalities=["text"])
    np.testing.assert_array_equal(one.data["text"][:, 0], [[4, 4], [2, 2], [4, 0], [1, 1]])
    assert one.data.modalities == ("text",)


def test_folds_split_by_video(folder):
    out = load_cmu_mosei(folder, seq_len=3, folds={"train": ["vidA"], "test": ["vidB", "x"]})
    assert out.train.ids == ["vidA[0]", "vidA[1]"]
    assert out.test.ids == ["vidB[0]"]
    np.testing.assert_array_equal(out.test.data["text"][0], [[2, 0], [3, 0], [4, 0]])
    assert out.unassigned_videos == []
    listed = load_cmu_mosei(folder, seq_len=3, folds=[["vidB"], [], []])
    assert listed.train.ids == ["vidB[0]"] and len(listed.valid.ids) == 0
    assert listed.unassigned_videos == ["vidA"]
    with pytest.raises(ValueError, match="two folds"):
        load_cmu_mosei(folder, folds={"train": ["vidA"], "test": ["vidA"]})


def test_paths_as_dict_and_missing_files(folder, tmp_path):
    paths = {"text": folder / MOSEI_FILES["text"], "labels": folder / MOSEI_FILES["labels"]}
    out = load_cmu_mosei(paths, seq_len=3)
    assert out.data.modalities == ("text",) and out.skipped_videos == []
    assert len(out.ids) == 4
    with pytest.raises(ValueError, match="needs a 'labels' entry"):
        load_cmu_mosei({"text": paths["text"]})
    for role in ("text", "labels"):
        (tmp_path / MOSEI_FILES[role]).write_bytes(paths[role].read_bytes())
    with pytest.raises(FileNotFoundError, match="CMU_MOSEI_COVAREP.csd"):
        load_cmu_mosei(tmp_path)
    assert load_cmu_mosei(tmp_path, modalities=["text"]).ids == out.ids
    with pytest.raises(TypeError, match="folder"):
        load_cmu_mosei(42)
    with pytest.raises(ValueError, match="seq_len"):
        load_cmu_mosei(folder, seq_len=0)


def test_label_files_with_other_than_seven_columns_are_refused(folder, tmp_path):
    bad = write_csd(tmp_path / "labels.csd", "All Labels", {"vidA": _e([[0, 2]], [[1, 2, 3]])})
    with pytest.raises(DataFormatError, match="7 columns"):
        load_cmu_mosei({"text": folder / MOSEI_FILES["text"], "labels": bad})


# ----------------------------------------------------------------------
# files the SDK has aligned: entries "<video>[<i>]" (mmdataset.align, deploy)
# ----------------------------------------------------------------------
def _sdk_folder(path, words, covarep, labels):
    path.mkdir()
    write_csd(path / MOSEI_FILES["text"], "glove_vectors", words)
    write_csd(path / MOSEI_FILES["audio"], "COVAREP", covarep)
    write_csd(path / MOSEI_FILES["labels"], "All Labels", labels)
    return path


def test_word_aligned_entries_match_the_video_id_before_the_index(tmp_path):
    # the SDK's word alignment names entry i after word i: "v[0]", "v[1]"; the
    # COVAREP frames are clipped to each word; labels are added afterwards, unaligned
    raw = _sdk_folder(
        tmp_path / "raw",
        {"v": _e([[0, 1], [1, 2]], [[1, 1], [2, 2]])},
        {"v": _e([[0, .5], [.5, 1], [1, 1.5], [1.5, 2]], [[1, 0], [3, 0], [5, 1], [7, 1]])},
        {"v": _e([[0, 2]], [[1, 1, 0, 0, 0, 0, 2]])})
    aligned = _sdk_folder(
        tmp_path / "aligned",
        {"v[0]": _e([[0, 1]], [[1, 1]]), "v[1]": _e([[1, 2]], [[2, 2]])},
        {"v[0]": _e([[0, .5], [.5, 1]], [[1, 0], [3, 0]]),
         "v[1]": _e([[1, 1.5], [1.5, 2]], [[5, 1], [7, 1]])},
        {"v": _e([[0, 2]], [[1, 1, 0, 0, 0, 0, 2]])})
    expected = load_cmu_mosei(raw, seq_len=3, modalities=["text", "audio"])
    got = load_cmu_mosei(aligned, seq_len=3, modalities=["text", "audio"])
    assert got.ids == expected.ids == ["v[0]"]
    assert got.skipped_videos == [] and got.unassigned_videos == []
    np.testing.assert_array_equal(got.data["audio"][0], [[0, 0], [2, 0], [6, 1]])
    for m in ("text", "audio"):
        np.testing.assert_array_equal(got.data[m], expected.data[m])
    np.testing.assert_array_equal(got.target, expected.target)
    folded = load_cmu_mosei(aligned, seq_len=3, modalities=["text"], folds={"test": ["v"]})
    assert folded.test.ids == ["v[0]"]


def test_final_aligned_entries_keep_their_segment_index_in_number_order(tmp_path):
    # after the second alignment (to "All Labels") every sequence has one entry per
    # labelled segment, "v[j]", and the labels entry "v[j]" holds that segment's row
    n = 12
    words = {f"v[{j}]": _e([[j, j + .5], [j + .5, j + 1]], [[j, 1], [j, 2]]) for j in range(n)}
    audio = {f"v[{j}]": _e([[j, j + 1]], [[j, -j]]) for j in range(n)}
    labels = {f"v[{j}]": _e([[j, j + 1]], [[j, j % 2, 0, 0, 0, 0, 0]]) for j in range(n)}
    final = load_cmu_mosei(_sdk_folder(tmp_path / "final", words, audio, labels), seq_len=2,
                           modalities=["text", "audio"])
    assert final.ids == [f"v[{j}]" for j in range(n)]  # v[10] after v[9], not after v[1]
    np.testing.assert_array_equal(final.sentiment, np.arange(n))
    raw = load_cmu_mosei(_sdk_folder(
        tmp_path / "raw",
        {"v": _e([w["intervals"][k] for w in words.values() for k in (0, 1)],
                 [w["features"][k] for w in words.values() for k in (0, 1)])},
        {"v": _e([[j, j + 1] for j in range(n)], [[j, -j] for j in range(n)])},
        {"v": _e([[j, j + 1] for j in range(n)], [[j, j % 2, 0, 0, 0, 0, 0] for j in range(n)])},
    ), seq_len=2, modalities=["text", "audio"])
    assert raw.ids == final.ids
    for m in ("text", "audio"):
        np.testing.assert_array_equal(final.data[m], raw.data[m])


def test_sdk_aligned_toy_corpus_gives_the_raw_tensors(folder, tmp_path):
    # the full toy corpus word-aligned by align_csd (the SDK's naming), written back
    seqs = {role: load_csd(folder / MOSEI_FILES[role]) for role in ("text", "audio", "visual")}
    aligned = align_csd(seqs, "text", impute="zeros")  # process_mosei: align, then impute
    out = tmp_path / "word_aligned"
    out.mkdir()
    for role, root in (("text", "glove_vectors"), ("audio", "COVAREP"), ("visual", "FACET 4.2")):
        assert all("[" in key for key in aligned[role])
        write_csd(out / MOSEI_FILES[role], root, aligned[role])
    (out / MOSEI_FILES["labels"]).write_bytes((folder / MOSEI_FILES["labels"]).read_bytes())
    got = load_cmu_mosei(out, seq_len=3)
    expected = load_cmu_mosei(folder, seq_len=3)
    assert got.ids == expected.ids
    for m in ("text", "audio", "visual"):
        np.testing.assert_array_equal(got.data[m], expected.data[m])


def test_nothing_matched_is_an_error_not_an_empty_result(tmp_path, folder):
    # words named after another id scheme than the labels: nothing is shared
    clip = {"clip_v[0]": _e([[0, 1]], [[1, 1]])}
    mismatch = _sdk_folder(tmp_path / "ids", clip, clip, {"v": _e([[0, 1]], [[0] * 7])})
    with pytest.raises(DataFormatError, match="no video id is shared.*clip_v"):
        load_cmu_mosei(mismatch, modalities=["text"])
    with pytest.raises(DataFormatError, match="none of the 2 videos.*is in a fold"):
        load_cmu_mosei(folder, folds={"train": ["nope"]})
    late = _sdk_folder(tmp_path / "late", {"v": _e([[0, 1]], [[1, 1]])},
                       {"v": _e([[0, 1]], [[1, 1]])}, {"v": _e([[5, 6]], [[0] * 7])})
    with pytest.raises(DataFormatError, match="gave no segment"):
        load_cmu_mosei(late, modalities=["text", "audio"])


# ----------------------------------------------------------------------
# the standard folds, shipped with skmemo
# ----------------------------------------------------------------------
def test_standard_folds_are_the_sdk_lists():
    folds = cmu_mosei_standard_folds()
    assert list(folds) == ["train", "valid", "test"]
    assert {k: len(v) for k, v in folds.items()} == {"train": 2249, "valid": 300, "test": 678}
    everything = [vid for ids in folds.values() for vid in ids]
    assert len(set(everything)) == 2249 + 300 + 678  # disjoint, no duplicates
    # first and last ids of each SDK list (cmu_mosei_std_folds.py)
    assert folds["train"][:2] == ["hh04W3xXa5s", "GdFP_p4eQX0"]
    assert "81406" in folds["train"] and all(isinstance(v, str) for v in everything)
    folds["train"].clear()  # a fresh copy each call
    assert len(cmu_mosei_standard_folds()["train"]) == 2249


def test_standard_folds_file_is_package_data():
    setup = ast.parse((REPO / "setup.py").read_text())
    call = next(node for node in ast.walk(setup)
                if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "setup")
    package_data = ast.literal_eval(next(k.value for k in call.keywords
                                         if k.arg == "package_data"))
    path = Path(skmemo.datasets.__file__).parent / "_data" / "cmu_mosei_standard_folds.txt"
    patterns = package_data["skmemo.datasets"]
    assert any(fnmatch.fnmatch("_data/" + path.name, pat) for pat in patterns)
    header = path.read_text().splitlines()[:40]
    assert any("CMU-MultimodalSDK" in line for line in header)
    assert any("MIT License" in line for line in header)


def test_folds_standard_needs_nothing_but_skmemo(tmp_path):
    folds = cmu_mosei_standard_folds()
    vids = {"train": folds["train"][5], "valid": folds["valid"][0], "test": folds["test"][-1]}
    entries = {v: _e([[0, 1]], [[i, 1]]) for i, v in enumerate([*vids.values(), "not_in_any"])}
    labels = {v: _e([[0, 1]], [[0, 1, 0, 0, 0, 0, 0]]) for v in entries}
    path = _sdk_folder(tmp_path / "std", entries, entries, labels)
    out = load_cmu_mosei(path, folds="standard", modalities=["text"], seq_len=1)
    for name, vid in vids.items():
        assert out[name].ids == [f"{vid}[0]"]
    assert out.unassigned_videos == ["not_in_any"]
    with pytest.raises(ValueError, match="'standard'"):
        load_cmu_mosei(path, folds="sdk", modalities=["text"])


# ----------------------------------------------------------------------
# Modalities absent for some samples: length 0 in ``<modality>_lengths``.
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
