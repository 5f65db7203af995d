"""Tests of the face-tracker readers and the word alignment of skmemo.feature_extraction."""

import pickle

import numpy as np
import pandas as pd
import pytest

from skmemo.exceptions import DataFormatError
from skmemo.feature_extraction import (
    FaceFeatureReader,
    align_to_intervals,
    align_to_words,
    parse_timestamp,
    read_face_table,
)

AUS_R = ["AU01_r", "AU02_r", "AU04_r", "AU45_r"]
AUS_C = ["AU01_c", "AU02_c", "AU28_c"]
GAZE = ["gaze_0_x", "gaze_0_y", "gaze_0_z", "gaze_1_x", "gaze_1_y", "gaze_1_z",
        "gaze_angle_x", "gaze_angle_y"]
POSE = ["pose_Tx", "pose_Ty", "pose_Tz", "pose_Rx", "pose_Ry", "pose_Rz"]


def openface_csv(path, n=5, success=None, faces=1):
    """An OpenFace 2.x FeatureExtraction CSV, header with spaces after the commas."""
    success = [1] * n if success is None else success
    rows = []
    for face in range(faces):
        for i in range(n):
            rows.append([i + 1, face, round(i * 0.04, 3), 0.98, success[i]]
                        + [0.1 * i + face] * len(GAZE) + [i + 10 * face] * len(POSE)
                        + [float(i + 10 * face)] * len(AUS_R) + [1.0] * len(AUS_C)
                        + [float(i)] * 4)  # landmark-ish columns to be ignored
    header = (["frame", "face_id", "timestamp", "confidence", "success"] + GAZE + POSE
              + AUS_R + AUS_C + ["x_0", "x_1", "y_0", "y_1"])
    text = ", ".join(header) + "\n" + "\n".join(", ".join(str(v) for v in r) for r in rows)
    path.write_text(text + "\n")
    return path


def pyfeat_frame(n=4):
    frame = pd.DataFrame({
        "frame": np.repeat(np.arange(n), 2), "FaceScore": [0.99, 0.3] * n,
        "Pitch": 1.0, "Roll": 2.0, "Yaw": 3.0,
        "AU01": np.repeat(np.arange(n, dtype=float), 2), "AU12": 0.5,
        "anger": 0.1, "happiness": 0.9, "approx_time": np.repeat(np.arange(n) / 30, 2),
        "input": "clip.mp4"})
    frame.loc[1::2, "AU01"] = -1.0  # the second, less confident face
    return frame


def test_openface_csv_with_spaced_header(tmp_path):
    path = openface_csv(tmp_path / "of.csv")
    values, times, names = read_face_table(path)
    assert names == AUS_R + AUS_C + GAZE + POSE  # group order, landmarks ignored
    assert values.shape == (5, len(names)) and values.dtype == np.float32
    np.testing.assert_allclose(times, [0, 0.04, 0.08, 0.12, 0.16])
    np.testing.assert_allclose(values[:, 0], np.arange(5))


def test_openface_groups_and_faces(tmp_path):
    path = openface_csv(tmp_path / "of.csv", faces=2)
    values, _, names = read_face_table(path, groups=("au_intensity",), face=1)
    assert names == AUS_R
    np.testing.assert_allclose(values[:, 0], np.arange(5) + 10)
    with pytest.raises(DataFormatError, match="no 'emotion' columns"):
        read_face_table(path, groups=("emotion",))
    with pytest.raises(ValueError, match="groups must be names"):
        read_face_table(path, groups=("mouth",))


@pytest.mark.parametrize("failed, first, n", [
    ("drop", [0, 2, 4], 3), ("zero", [0, 0, 2, 0, 4], 5), ("ffill", [0, 0, 2, 2, 4], 5),
])
def test_failed_frame_policies(tmp_path, failed, first, n):
    path = openface_csv(tmp_path / "of.csv", success=[1, 0, 1, 0, 1])
    values, times, _ = read_face_table(path, failed=failed, groups=("au_intensity",))
    assert len(values) == len(times) == n
    np.testing.assert_allclose(values[:, 0], first)


def test_failed_frames_error_and_all_failed(tmp_path):
    path = openface_csv(tmp_path / "of.csv", success=[1, 0, 1, 0, 1])
    with pytest.raises(ValueError, match="2 of 5 frames failed.*row 1"):
        read_face_table(path, failed="error")
    none = openface_csv(tmp_path / "none.csv", success=[0] * 5)
    with pytest.raises(ValueError, match="no frame with a detected face"):
        read_face_table(none)


def test_pyfeat_keeps_the_most_confident_face():
    values, times, names = read_face_table(pyfeat_frame())
    assert names == ["AU01", "AU12", "Pitch", "Roll", "Yaw", "anger", "happiness"]
    np.testing.assert_allclose(values[:, 0], [0, 1, 2, 3])
    np.testing.assert_allclose(times, np.arange(4) / 30)


def test_pyfeat_low_confidence_frames_dropped():
    frame = pyfeat_frame().iloc[::2].copy()
    frame.loc[frame.index[1], "FaceScore"] = 0.1
    values, _, _ = read_face_table(frame)
    np.testing.assert_allclose(values[:, 0], [0, 2, 3])


@pytest.mark.parametrize("content, error, match", [
    ("a,b\n1,2\n", DataFormatError, "neither an OpenFace"),
    ('frame, success\n"1, 2\n', DataFormatError, "cannot read|neither"),
])
def test_malformed_csv(tmp_path, content, error, match):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(error, match=match):
        read_face_table(path)


def test_non_numeric_features(tmp_path):
    path = openface_csv(tmp_path / "of.csv")
    frame = pd.read_csv(path, skipinitialspace=True)
    frame["AU01_r"] = frame["AU01_r"].astype(object)
    frame.loc[0, "AU01_r"] = "high"
    with pytest.raises(DataFormatError, match="other than numbers"):
        read_face_table(frame)


def test_bad_items(tmp_path):
    with pytest.raises(FileNotFoundError, match="no file"):
        read_face_table(tmp_path / "missing.csv")
    with pytest.raises(TypeError, match="path to a CSV file or a pandas DataFrame"):
        read_face_table(3)
    with pytest.raises(ValueError, match="failed must be"):
        read_face_table(pyfeat_frame(), failed="skip")


def test_reader_transformer(tmp_path):
    a = openface_csv(tmp_path / "a.csv", n=5)
    b = openface_csv(tmp_path / "b.csv", n=3)
    reader = FaceFeatureReader(groups=("au_intensity", "pose")).fit([a])
    Xv = reader.transform([a, b])
    assert Xv["visual"].shape == (2, 5, 10) and Xv["visual_lengths"].tolist() == [5, 3]
    np.testing.assert_array_equal(Xv["visual"][1, :2], 0)  # pre padding
    again = pickle.loads(pickle.dumps(reader))
    np.testing.assert_array_equal(again.transform([b])["visual"], reader.transform([b])["visual"])
    with pytest.raises(DataFormatError, match="but fit saw"):
        reader.transform([pyfeat_frame()])
    with pytest.raises(TypeError, match="wrap a single one"):
        reader.transform(str(a))


# --------------------------------------------------------------------- alignment
@pytest.mark.parametrize("text, seconds", [
    ("00:16:16,059", 976.059), ("0:00:01.5", 1.5), ("01:00:00,000", 3600.0),
    ("00:00:00", 0.0),
])
def test_parse_timestamp(text, seconds):
    assert parse_timestamp(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["16:16,059", "00:61:00,000", "abc", "", "00:00:01;5"])
def test_parse_timestamp_errors(bad):
    with pytest.raises(ValueError, match="hh:mm:ss,mmm"):
        parse_timestamp(bad)
    with pytest.raises(ValueError, match="not a string"):
        parse_timestamp(["00:00:01,000", None])


def test_align_averages_frames_inside_each_word():
    frames = np.arange(10, dtype=float)[:, None] * [1, -1]
    times = np.arange(10) * 0.1  # 10 frames per second
    words = [[0.0, 0.3], [0.3, 0.35], [0.5, 1.0]]
    out = align_to_intervals(frames, times, words)
    np.testing.assert_allclose(out[:, 0], [1.0, 3.0, 7.0])  # mean of 0,1,2; 3; 5..9
    np.testing.assert_allclose(out[:, 1], -out[:, 0])
    gap = [[0.31, 0.34]]  # no frame inside: nearest frame, zero, or error
    np.testing.assert_allclose(align_to_intervals(frames, times, gap)[0], [3, -3])
    np.testing.assert_allclose(align_to_intervals(frames, times, gap, empty="zero")[0], 0)
    with pytest.raises(ValueError, match="hold no frame"):
        align_to_intervals(frames, times, gap, empty="error")


@pytest.mark.parametrize("kwargs, match", [
    ({"intervals": [[0.5, 0.1]]}, "ends before it starts"),
    ({"intervals": [0.1, 0.2]}, r"\(n_words, 2\)"),
    ({"times": np.arange(3)}, "one time per frame"),
    ({"intervals": [[0, np.nan]]}, "finite"),
    ({"empty": "drop"}, "empty must be"),
])
def test_align_errors(kwargs, match):
    args = {"features": np.ones((4, 2)), "times": np.arange(4) * 0.1,
            "intervals": [[0, 0.2]]}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        align_to_intervals(**args)


def test_align_to_words_pads_like_the_text():
    frames = [np.ones((10, 3)), 2 * np.ones((6, 3))]
    times = [np.arange(10) * 0.1, np.arange(6) * 0.1]
    words = [[[0, 0.2], [0.2, 0.5], [0.5, 1.0]], [[0, 0.6]]]
    Xa = align_to_words(frames, times, words, modality="audio")
    assert Xa["audio"].shape == (2, 3, 3) and Xa["audio_lengths"].tolist() == [3, 1]
    np.testing.assert_allclose(Xa["audio"][1, -1], 2)
    np.testing.assert_allclose(Xa["audio"][1, :2], 0)
    with pytest.raises(ValueError, match="sample 1: interval 0 ends before"):
        align_to_words(frames, times, [words[0], [[0.5, 0.1]]], modality="visual")
    with pytest.raises(ValueError, match="same, non-zero number"):
        align_to_words(frames, times[:1], words, modality="audio")
