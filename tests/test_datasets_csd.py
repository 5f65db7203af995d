"""Tests of the computational-sequence reader and the SDK alignment."""

import json

import h5py
import numpy as np
import pytest

from skmemo.datasets import align_csd, load_csd
from skmemo.exceptions import DataFormatError


def write_csd(path, root, data, metadata=None, *, meta_style="vlen"):
    """Write a computational sequence in the SDK's layout.

    ``meta_style``: "vlen" (as the SDK writes it: shape (1,) vlen str holding
    ``json.dumps(value)``), "str" (the same dataset holding ``str(value)``, as
    SDK versions before 1.2 wrote it) or "bytes" (a scalar of fixed-length
    bytes, as some older files have).
    """
    metadata = {"root name": root, "dimension names": ["a", "b"], **(metadata or {})}
    with h5py.File(path, "w") as f:
        group = f.create_group(root)
        for video, entry in data.items():
            g = group.create_group(f"data/{video}")
            g["features"] = np.asarray(entry["features"])
            g["intervals"] = np.asarray(entry["intervals"], dtype=np.float64)
        meta = group.create_group("metadata")
        for key, value in metadata.items():
            text = str(value) if meta_style == "str" else json.dumps(value)
            if meta_style in ("vlen", "str"):
                ds = meta.create_dataset(key, (1,), dtype=h5py.string_dtype())
                ds[0] = text
            else:
                meta[key] = np.bytes_(text.encode("utf-8"))
    return path


def _toy(tmp_path, **kwargs):
    data = {
        "vid1": {"features": [[1.0, 2.0], [3.0, 4.0]], "intervals": [[0, 1], [1, 2]]},
        "vid0": {"features": [[5.0, 6.0]], "intervals": [[0.5, 1.5]]},
    }
    return write_csd(tmp_path / "toy.csd", "toy seq", data, **kwargs)


@pytest.mark.parametrize("meta_style", ["vlen", "bytes"])
def test_load_csd_reads_features_intervals_and_json_metadata(tmp_path, meta_style):
    path = _toy(tmp_path, metadata={"dataset version": "1.0", "uuid": "x-1"},
                meta_style=meta_style)
    csd = load_csd(path)
    assert csd.root_name == "toy seq"
    assert list(csd.data) == ["vid0", "vid1"]  # HDF5 order: by name
    np.testing.assert_array_equal(csd.data["vid1"]["features"], [[1, 2], [3, 4]])
    np.testing.assert_array_equal(csd.data["vid1"]["intervals"], [[0, 1], [1, 2]])
    assert csd.metadata["root name"] == "toy seq"
    assert csd.metadata["dimension names"] == ["a", "b"]
    assert csd.metadata["dataset version"] == "1.0"
    assert csd.files == []  # eager: nothing left open


def test_load_csd_keeps_non_json_metadata_as_text(tmp_path):
    path = _toy(tmp_path)
    with h5py.File(path, "a") as f:
        f["toy seq/metadata/creator"] = b"Jane Doe"  # not JSON
        f["toy seq/metadata/md5"] = np.array([b'"abc"'])  # JSON in a bytes array
    meta = load_csd(path).metadata
    assert meta["creator"] == "Jane Doe"
    assert meta["md5"] == "abc"


def test_load_csd_lazy_keeps_datasets_open_until_close(tmp_path):
    csd = load_csd(_toy(tmp_path), lazy=True)
    features = csd.data["vid1"]["features"]
    assert isinstance(features, h5py.Dataset)
    np.testing.assert_array_equal(features[1], [3, 4])
    with csd:
        pass  # the context manager closes the file
    with pytest.raises((RuntimeError, OSError, ValueError)):  # h5py: the file is closed
        features[0]


def test_load_csd_missing_path_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_csd(tmp_path / "absent.csd")


def test_load_csd_refuses_a_file_that_is_not_hdf5(tmp_path):
    path = tmp_path / "text.csd"
    path.write_text("not hdf5 at all")
    with pytest.raises(DataFormatError, match="HDF5"):
        load_csd(path)


def test_load_csd_refuses_a_truncated_file(tmp_path):
    path = _toy(tmp_path)
    raw = path.read_bytes()
    cut = tmp_path / "cut.csd"
    cut.write_bytes(raw[: len(raw) // 3])
    with pytest.raises(DataFormatError, match="truncated"):
        load_csd(cut)


def test_load_csd_refuses_zero_or_two_top_level_groups(tmp_path):
    empty = tmp_path / "empty.csd"
    h5py.File(empty, "w").close()
    with pytest.raises(DataFormatError, match="exactly one top-level group"):
        load_csd(empty)
    two = _toy(tmp_path)
    with h5py.File(two, "a") as f:
        f.create_group("other")
    with pytest.raises(DataFormatError, match=r"found \['other', 'toy seq'\]"):
        load_csd(two)


@pytest.mark.parametrize("absent", ["data", "metadata"])
def test_load_csd_refuses_a_root_without_data_or_metadata(tmp_path, absent):
    path = _toy(tmp_path)
    with h5py.File(path, "a") as f:
        del f[f"toy seq/{absent}"]
    with pytest.raises(DataFormatError, match=f"no '{absent}' group"):
        load_csd(path)


@pytest.mark.parametrize("absent", ["features", "intervals"])
def test_load_csd_refuses_a_video_without_features_or_intervals(tmp_path, absent):
    path = _toy(tmp_path)
    with h5py.File(path, "a") as f:
        del f[f"toy seq/data/vid1/{absent}"]
    with pytest.raises(DataFormatError, match=f"'vid1' has no '{absent}'"):
        load_csd(path)


def test_load_csd_refuses_mismatched_rows_and_bad_interval_shapes(tmp_path):
    path = _toy(tmp_path)
    with h5py.File(path, "a") as f:
        del f["toy seq/data/vid1/features"]
        f["toy seq/data/vid1/features"] = np.zeros((3, 2))
    with pytest.raises(DataFormatError, match="3 feature rows but 2 intervals"):
        load_csd(path)
    path = _toy(tmp_path)
    with h5py.File(path, "a") as f:
        del f["toy seq/data/vid0/intervals"]
        f["toy seq/data/vid0/intervals"] = np.zeros((1, 3))
    with pytest.raises(DataFormatError, match=r"shape \(rows, 2\)"):
        load_csd(path, lazy=True)
    path = _toy(tmp_path)
    with h5py.File(path, "a") as f:
        del f["toy seq/data/vid0/features"]
        f["toy seq/data/vid0/features"] = np.zeros(1)
    with pytest.raises(DataFormatError, match="at least 2-D"):
        load_csd(path)


# ----------------------------------------------------------------------
# alignment
# ----------------------------------------------------------------------
def _seq(intervals, features):
    return {"intervals": np.asarray(intervals, float), "features": np.asarray(features, float)}


def test_align_csd_keeps_overlapping_rows_clipped_and_drops_touching_ones():
    words = {"v": _seq([[0, 1], [1, 2], [2, 2], [2, 4]], [[1], [2], [9], [3]])}
    # unsorted rows: alignment sorts them by start time first
    audio = {"v": _seq([[1.5, 2.5], [0, 0.5], [0.5, 1.5], [3.0, 3.0000001]],
                       [[30], [10], [20], [99]])}
    out = align_csd({"words": words, "audio": audio}, "words")
    assert list(out["words"]) == ["v[0]", "v[1]", "v[3]"]  # zero-length word 2 skipped
    np.testing.assert_array_equal(out["audio"]["v[0]"]["features"], [[10], [20]])
    np.testing.assert_allclose(out["audio"]["v[0]"]["intervals"], [[0, 0.5], [0.5, 1]])
    np.testing.assert_array_equal(out["audio"]["v[1]"]["features"], [[20], [30]])
    np.testing.assert_allclose(out["audio"]["v[1]"]["intervals"], [[1, 1.5], [1.5, 2]])
    # [3, 3.0000001] is shorter than epsilon: only [1.5, 2.5] overlaps [2, 4]
    np.testing.assert_array_equal(out["audio"]["v[3]"]["features"], [[30]])
    np.testing.assert_array_equal(out["words"]["v[3]"]["features"], [[3]])


def test_align_csd_mean_collapse_and_impute_zeros():
    words = {"v": _seq([[0, 1], [1, 2], [5, 6]], [[1], [2], [3]])}
    audio = {"v": _seq([[0, 0.5], [0.5, 1], [1, 2]], [[2, 0], [4, 1], [6, 2]])}
    out = align_csd({"w": words, "a": audio}, "w", collapse="mean")
    assert list(out["a"]) == ["v[0]", "v[1]"]  # nothing under word 2: dropped everywhere
    assert list(out["w"]) == ["v[0]", "v[1]"]
    np.testing.assert_array_equal(out["a"]["v[0]"]["features"], [[3, 0.5]])
    np.testing.assert_array_equal(out["a"]["v[0]"]["intervals"], [[0, 1]])
    out = align_csd({"w": words, "a": audio}, "w", collapse="mean", impute="zeros")
    np.testing.assert_array_equal(out["a"]["v[2]"]["features"], [[0, 0]])
    np.testing.assert_array_equal(out["a"]["v[2]"]["intervals"], [[5, 6]])


def test_align_csd_leaves_out_videos_missing_from_a_sequence_and_realigns(tmp_path):
    words = {"v": _seq([[0, 1], [1, 2]], [[1], [2]]), "u": _seq([[0, 1]], [[7]])}
    audio = {"v": _seq([[0, 2]], [[5]])}
    out = align_csd({"w": words, "a": audio}, "w")
    assert set(out["w"]) == {"v[0]", "v[1]"}
    # an aligned output can be aligned again: entries are regrouped by video
    labels = {"v": _seq([[0, 2]], [[1]])}
    again = align_csd({"w": out["w"], "a": out["a"], "labels": labels}, "labels")
    np.testing.assert_array_equal(again["w"]["v[0]"]["features"], [[1], [2]])
    np.testing.assert_array_equal(again["a"]["v[0]"]["features"], [[5], [5]])
    # reading from files gives the same result
    path = write_csd(tmp_path / "w.csd", "words", words)
    from_file = align_csd({"w": load_csd(path), "a": audio}, "w")
    assert from_file["a"].keys() == out["a"].keys()


def test_align_csd_validates_arguments():
    words = {"v": _seq([[0, 1]], [[1]])}
    with pytest.raises(ValueError, match="reference 'x'"):
        align_csd({"w": words}, "x")
    with pytest.raises(ValueError, match="collapse"):
        align_csd({"w": words}, "w", collapse="max")
    with pytest.raises(ValueError, match="impute"):
        align_csd({"w": words}, "w", impute="mean")
    with pytest.raises(TypeError, match="mapping video"):
        align_csd({"w": words, "a": [1, 2]}, "w")


def test_align_csd_handles_nested_intervals_and_mean_matches_rows():
    words = {"v": _seq([[3.5, 5], [0, 1]], [[1], [2]])}
    # a long row covering the others: the candidate search must not skip it
    audio = {"v": _seq([[0, 10], [1, 2], [3, 4]], [[1, 0], [5, 5], [3, 2]])}
    out = align_csd({"w": words, "a": audio}, "w")
    np.testing.assert_array_equal(out["a"]["v[0]"]["features"], [[1, 0], [3, 2]])
    np.testing.assert_allclose(out["a"]["v[0]"]["intervals"], [[3.5, 5], [3.5, 4]])
    np.testing.assert_array_equal(out["a"]["v[1]"]["features"], [[1, 0]])
    mean = align_csd({"w": words, "a": audio}, "w", collapse="mean")
    for key, entry in out["a"].items():
        np.testing.assert_allclose(mean["a"][key]["features"],
                                   entry["features"].mean(axis=0, keepdims=True))
        np.testing.assert_allclose(mean["a"][key]["intervals"],
                                   [[entry["intervals"].min(), entry["intervals"].max()]])


def test_pre_1_2_metadata_written_with_str_is_parsed_without_eval(tmp_path):
    # SDK < 1.2 wrote metadata[key][0] = str(value): Python reprs, not JSON
    marker = tmp_path / "ran"
    metadata = {"dimension names": ["sentiment", "happy", "sad"], "aligned": True,
                "version": 1.1, "alignment compatible": None, "creator": "A. B. C",
                "citation": "@article{x, title={It's}}",
                "danger": f"__import__('pathlib').Path({str(marker)!r}).touch()"}
    path = write_csd(tmp_path / "old.csd", "All Labels",
                     {"v": {"features": [[1.0]], "intervals": [[0, 1]]}}, metadata,
                     meta_style="str")
    with h5py.File(path) as f:  # the file holds Python reprs, not JSON
        assert f["All Labels/metadata/dimension names"][0].decode() == (
            "['sentiment', 'happy', 'sad']")
    meta = load_csd(path).metadata
    assert meta["dimension names"] == ["sentiment", "happy", "sad"]
    assert meta["aligned"] is True and meta["version"] == 1.1
    assert meta["alignment compatible"] is None
    assert meta["creator"] == "A. B. C" and meta["root name"] == "All Labels"
    assert meta["citation"] == "@article{x, title={It's}}"
    assert meta["danger"].startswith("__import__")  # kept as text, never run
    assert not marker.exists()
