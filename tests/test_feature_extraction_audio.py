"""Tests of skmemo.feature_extraction.AudioFeaturizer against signals with known answers."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone

pytest.importorskip("librosa", reason="AudioFeaturizer needs the 'audio' extra (librosa)")

from skmemo.feature_extraction import AudioFeaturizer  # noqa: E402

SR = 16000
N = SR // 2  # half a second
t = np.arange(N) / SR
TONE = 0.5 * np.sin(2 * np.pi * 220 * t)
SILENCE = np.zeros(N)
NOISE = np.random.default_rng(0).normal(0, 0.1, N)


@pytest.fixture(scope="module")
def featurizer():
    return AudioFeaturizer().fit([TONE])


@pytest.fixture(scope="module")
def features(featurizer):
    Xa = featurizer.transform([TONE, SILENCE, NOISE])
    names = featurizer.feature_names_
    return {name: Xa["audio"][i] for i, name in enumerate(["tone", "silence", "noise"])}, names


def column(names, name):
    return names.index(name)


def test_shapes_and_names(featurizer, features):
    feats, names = features
    assert featurizer.n_features_out_ == 40 + 13 + 1 + 3 == len(names)
    assert names[:2] == ["logmel_0", "logmel_1"] and names[-3:] == ["f0_hz", "voiced",
                                                                    "voiced_prob"]
    assert feats["tone"].shape == (51, len(names))  # 1 + 8000 // 160 frames, centred
    assert all(np.isfinite(f).all() for f in feats.values())


def test_tone_pitch_is_220_hz(features):
    feats, names = features
    inner = feats["tone"][5:-5]  # frames away from the edges
    assert inner[:, column(names, "voiced")].mean() > 0.9
    np.testing.assert_allclose(np.median(inner[:, column(names, "f0_hz")]), 220, rtol=0.01)
    # the loudest mel band holds 220 Hz
    import librosa

    centres = librosa.mel_frequencies(n_mels=42, fmax=SR / 2)[1:-1]
    band = np.median(inner[:, :40], axis=0).argmax()
    assert abs(centres[band] - 220) < 60


def test_tone_energy_is_its_rms(features):
    feats, names = features
    energy = np.median(feats["tone"][5:-5, column(names, "energy_db")])
    np.testing.assert_allclose(energy, 20 * np.log10(0.5 / np.sqrt(2)), atol=0.5)


def test_silence_is_finite_floor_and_unvoiced(features):
    feats, names = features
    silent = feats["silence"]
    np.testing.assert_allclose(silent[:, :40], -100, atol=1e-3)  # log-mel floor
    np.testing.assert_allclose(silent[:, column(names, "energy_db")], -100, atol=1e-3)
    assert np.all(silent[:, column(names, "f0_hz")] == 0)
    assert np.all(silent[:, column(names, "voiced_prob")] == 0)


def test_white_noise_is_unvoiced_with_a_flat_spectrum(features):
    feats, names = features
    noise, tone = feats["noise"][5:-5], feats["tone"][5:-5]
    assert noise[:, column(names, "voiced")].mean() < 0.2
    # white noise: power per mel band grows with the bandwidth, but far less unevenly
    # than a tone's, whose energy sits in one band
    assert np.std(np.median(noise[:, :40], 0)) < 0.5 * np.std(np.median(tone[:, :40], 0))
    np.testing.assert_allclose(np.median(noise[:, column(names, "energy_db")]),
                               20 * np.log10(0.1), atol=1.0)


def test_feature_subsets_lengths_and_padding():
    short, long_ = TONE[:SR // 4], TONE
    fz = AudioFeaturizer(features=("energy", "logmel"), n_mels=8).fit([short])
    assert fz.feature_names_[:8] == [f"logmel_{i}" for i in range(8)]  # canonical order
    Xa = fz.transform([short, long_])
    assert Xa["audio"].shape == (2, 51, 9) and Xa["audio_lengths"].tolist() == [26, 51]
    np.testing.assert_array_equal(Xa["audio"][0, :25], 0)  # pre padding
    post = clone(fz).set_params(padding="post", max_frames=30, truncation="post").fit([short])
    Xp = post.transform([short, long_])
    assert Xp["audio"].shape == (2, 30, 9) and Xp["audio_lengths"].tolist() == [26, 30]
    np.testing.assert_array_equal(Xp["audio"][1], Xa["audio"][1, :30])


def test_resampling_and_files(tmp_path):
    import soundfile

    fz = AudioFeaturizer(features=("pitch",), resample=True).fit([TONE])
    tone8k = 0.5 * np.sin(2 * np.pi * 220 * np.arange(4000) / 8000)
    path = tmp_path / "tone.wav"
    soundfile.write(path, tone8k, 8000)
    Xa = fz.transform([(tone8k, 8000), str(path)])
    for i in range(2):
        f0 = Xa["audio"][i, 5:-5, 0]
        np.testing.assert_allclose(np.median(f0), 220, rtol=0.02)


@pytest.mark.parametrize("item, error, match", [
    ((TONE, 8000), ValueError, "at 8000 Hz but sample_rate is 16000.*resample=True"),
    (np.r_[TONE[:-1], np.nan], ValueError, "item 0 contains NaN"),
    (TONE[:100], ValueError, "fewer than one frame"),
    (np.stack([TONE, TONE]), ValueError, "mono"),
    ("no/such/file.wav", FileNotFoundError, "no file"),
    ((TONE, 8000, 1), ValueError, r"\(waveform, sample_rate\)"),
    (["a", "b"], TypeError, "1-D array of samples"),
])
def test_bad_items(featurizer, item, error, match):
    with pytest.raises(error, match=match):
        featurizer.transform([item])


def test_unreadable_file(tmp_path, featurizer):
    path = tmp_path / "bad.wav"
    path.write_bytes(b"not audio at all")
    with pytest.raises(ValueError, match="cannot read .* as audio"):
        featurizer.transform([str(path)])


@pytest.mark.parametrize("X, error, match", [
    (TONE, TypeError, "wrap a single one in a list"),
    ("file.wav", TypeError, "wrap a single one in a list"),
    ([], ValueError, "no audio item"),
])
def test_bad_collections(X, error, match):
    with pytest.raises(error, match=match):
        AudioFeaturizer().fit(X)


@pytest.mark.parametrize("params, match", [
    ({"sample_rate": 500}, "sample_rate"),
    ({"sample_rate": 16000.0}, "sample_rate"),
    ({"features": ("logmel", "chroma")}, "features"),
    ({"features": "logmel"}, "features"),
    ({"n_mfcc": 50}, "cannot exceed n_mels"),
    ({"hop": 0.05}, "must not exceed frame"),
    ({"fmax": 9000}, "fmax < sample_rate / 2"),
    ({"pitch_frame": 0.02}, "two periods of fmin"),
    ({"max_frames": 0}, "max_frames"),
    ({"padding": "middle"}, "padding"),
])
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        AudioFeaturizer(**params).fit([TONE])


def test_pickle_clone_and_frame_times(featurizer):
    again = pickle.loads(pickle.dumps(featurizer))
    assert len(pickle.dumps(featurizer)) < 3000
    assert clone(featurizer).get_params() == featurizer.get_params()
    np.testing.assert_allclose(again.frame_times(3), [0, 0.01, 0.02])


def test_text_and_audio_pipeline_from_a_dataframe():
    import pandas as pd
    from sklearn.pipeline import make_pipeline

    from skmemo import MultimodalEmotionClassifier
    from skmemo.feature_extraction import MultimodalColumns, WordVectorizer
    from skmemo.preprocessing import ModalityScaler

    rng = np.random.default_rng(0)
    texts = ["so happy today", "what a great day", "I feel sad", "this is awful"] * 6
    y = np.array([[1, 0], [1, 0], [0, 1], [0, 1]] * 6)
    waves = [(0.5 if label[0] else 0.05) * np.sin(2 * np.pi * 220 * t[:SR // 5])
             + rng.normal(0, 0.01, SR // 5) for label in y]
    frame = pd.DataFrame({"utterance": texts, "wav": waves})
    pipe = make_pipeline(
        MultimodalColumns(text=WordVectorizer(), audio=AudioFeaturizer(
            features=("logmel", "energy"), n_mels=8), columns={"text": "utterance",
                                                                "audio": "wav"}),
        ModalityScaler(),
        MultimodalEmotionClassifier(["happy", "sad"], max_epochs=3, validation_fraction=0,
                                    random_state=0, hidden_sizes={"audio": 8}))
    pipe.fit(frame, y)
    assert pipe[-1].input_dims_ == {"text": 50, "audio": 9}
    again = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_allclose(again.predict_proba(frame.iloc[:3]),
                               pipe.predict_proba(frame.iloc[:3]))
