import sys

import numpy as np
import pytest
from sklearn.utils import Bunch

from skmemo.inspection import emotion_distances

from .conftest import EMOTIONS

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from skmemo.plotting import plot_emotion_distances  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_one_panel_per_modality_with_labels_and_colorbars(one_epoch_fitted):
    fig, axes = plot_emotion_distances(one_epoch_fitted)
    assert len(axes) == 3 and len(fig.axes) == 6  # three heatmaps, three colorbars
    assert [ax.get_title() for ax in axes] == ["textual", "acoustic", "visual"]
    for ax in axes:
        assert [t.get_text() for t in ax.get_xticklabels()] == EMOTIONS
        assert [t.get_text() for t in ax.get_yticklabels()] == EMOTIONS
        assert len(ax.texts) == 36  # annotated cells
    image = axes[1].images[0].get_array()
    np.testing.assert_allclose(image, emotion_distances(one_epoch_fitted).distances["audio"])


def test_given_axes_distances_and_modalities(one_epoch_fitted):
    distances = emotion_distances(one_epoch_fitted)
    fig, ax = plt.subplots()
    out_fig, axes = plot_emotion_distances(distances, ax=ax, modalities="visual",
                                           annotate=False)
    assert out_fig is fig and axes[0] is ax and not ax.texts
    custom = Bunch(emotions=["a", "b"], distances={"text": np.array([[0, 1.0], [1.0, 0]])})
    _, axes = plot_emotion_distances(custom)
    assert len(axes) == 1


def test_errors(one_epoch_fitted):
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="ax holds 1 Axes but 3 panels"):
        plot_emotion_distances(one_epoch_fitted, ax=ax)
    with pytest.raises(ValueError, match="not available"):
        plot_emotion_distances(one_epoch_fitted, modalities=["smell"])


def test_clear_message_without_matplotlib(one_epoch_fitted, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        plot_emotion_distances(one_epoch_fitted)
