import sys
import warnings

import numpy as np
import pytest
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.utils import Bunch

from skmemo.datasets import make_emotion_dataset
from skmemo.exceptions import NotFittedError
from skmemo.inspection import emotion_distances
from skmemo.metrics import (
    emotion_classification_report,
    emotion_roc_auc_score,
    weighted_accuracy_score,
    weighted_f1_score,
)

from .conftest import EMOTIONS, small_clf

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from skmemo.plotting import (  # noqa: E402
    plot_classification_report,
    plot_emotion_distances,  # noqa: E402
    plot_learning_curves,
    plot_roc_curves,
    plot_threshold_curves,
)


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


# ----------------------------------------------------------------------
# Report plots: learning curves, threshold curves, report bars, ROC curves.
# ----------------------------------------------------------------------
NAMES = ["anger", "fear", "happy"]


@pytest.fixture(scope="module")
def fitted():
    X, Y = make_emotion_dataset(100, emotions=NAMES, seq_len=5, random_state=0)
    return small_clf(NAMES, max_epochs=3, num_layers=1, early_stopping_patience=None).fit(X, Y)


@pytest.fixture(scope="module")
def scores():
    """Imbalanced labels (about 20% positive) and informative scores."""
    rng = np.random.RandomState(0)
    y_true = (rng.rand(300, 3) < 0.2).astype(int)
    y_score = np.clip(0.35 * y_true + 0.65 * rng.rand(300, 3), 0, 1)
    return y_true, y_score


def _curves(ax):
    """The Line2D objects with more than two points (the curves, not the markers)."""
    return [line for line in ax.get_lines() if len(line.get_xdata()) > 2]


# -- learning curves ------------------------------------------------------------
def test_learning_curves_from_estimator(fitted):
    fig, axes = plot_learning_curves(fitted)
    assert len(axes) == 2 and all(ax.figure is fig for ax in axes)
    assert [ax.get_title() for ax in axes] == ["Loss", "Validation weighted accuracy"]
    history = fitted.history_
    train, valid = _curves(axes[0])
    np.testing.assert_allclose(train.get_ydata(), history[:, "train_loss"])
    np.testing.assert_allclose(valid.get_ydata(), history[:, "valid_loss"])
    np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3])
    (wacc,) = _curves(axes[1])
    np.testing.assert_allclose(wacc.get_ydata(), history[:, "valid_wacc"])
    best = 1 + int(np.argmax(history[:, "valid_wacc"]))
    legend = [t.get_text() for t in axes[1].get_legend().get_texts()]
    assert legend == ["validation", f"best epoch ({best})"]
    assert axes[0].get_xlabel() == "epoch"


def test_learning_curves_without_validation_and_given_axes():
    history = [{"epoch": 1, "train_loss": 1.0}, {"epoch": 2, "train_loss": 0.8},
               {"epoch": 3}]  # an interrupted epoch without a loss is skipped
    fig, axes = plot_learning_curves(history)
    assert len(axes) == 1
    (line,) = axes[0].get_lines()
    np.testing.assert_allclose(line.get_ydata(), [1.0, 0.8])
    fig, given = plt.subplots(1, 2)
    full = [{"epoch": e, "train_loss": 1 / e, "valid_loss": 1.1 / e, "valid_wacc": 0.5}
            for e in (1, 2)]
    out_fig, axes = plot_learning_curves(full, ax=given)
    assert out_fig is fig and list(axes) == list(given)


def test_learning_curves_errors():
    with pytest.raises(NotFittedError, match="call fit"):
        plot_learning_curves(small_clf(NAMES))
    with pytest.raises(ValueError, match="no completed epoch"):
        plot_learning_curves([])
    with pytest.raises(TypeError, match="fitted estimator or its history"):
        plot_learning_curves("history")
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="ax must hold 2 matplotlib Axes"):
        plot_learning_curves([{"train_loss": 1, "valid_loss": 1, "valid_wacc": .5}], ax=ax)


# -- threshold curves -------------------------------------------------------------
def test_threshold_curves_match_the_metrics(scores):
    y_true, y_score = scores
    thresholds = np.linspace(0.05, 0.95, 19)
    fig, (ax,) = plot_threshold_curves(y_true, y_score, thresholds=thresholds)
    acc, f1 = _curves(ax)
    assert [acc.get_label(), f1.get_label()] == ["W-Acc", "W-F1"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        expected_acc = [weighted_accuracy_score(y_true, y_score > t) for t in thresholds]
        expected_f1 = [weighted_f1_score(y_true, y_score > t) for t in thresholds]
    np.testing.assert_allclose(acc.get_xdata(), thresholds)
    np.testing.assert_allclose(acc.get_ydata(), expected_acc)
    np.testing.assert_allclose(f1.get_ydata(), expected_f1)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["W-Acc", "W-F1", "W-F1, never predicting", "W-Acc, chance"]


def test_threshold_curves_show_appendix_b(scores):
    """On imbalanced labels W-F1 ends high (never predicting), W-Acc at chance."""
    y_true, y_score = scores
    _, (ax,) = plot_threshold_curves(y_true, y_score, thresholds=np.linspace(0, 1, 51))
    acc, f1 = _curves(ax)
    never = weighted_f1_score(y_true, np.zeros_like(y_true))
    assert f1.get_ydata()[-1] == pytest.approx(never) and never > 0.7
    assert acc.get_ydata()[-1] == pytest.approx(0.5)
    assert f1.get_ydata()[-1] > f1.get_ydata()[len(f1.get_ydata()) // 4]


def test_threshold_curves_per_emotion_and_logits(scores):
    y_true, y_score = scores
    fig, axes = plot_threshold_curves(y_true, y_score, average=None, emotions=NAMES,
                                      reference=False)
    assert len(axes) == 3
    assert [ax.get_title().split()[0] for ax in axes] == NAMES
    assert all(len(ax.get_lines()) == 4 for ax in axes)  # 2 curves, 2 best-point markers
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["W-Acc", "W-F1"]
    assert all(ax.get_legend() is None for ax in axes)  # one legend for the figure
    logits = np.log(y_score + 1e-3) - np.log(1 - y_score + 1e-3)
    _, (ax,) = plot_threshold_curves(y_true, logits)
    xs = _curves(ax)[0].get_xdata()
    assert xs.min() > logits.min() and xs.max() < logits.max() and len(xs) == 99


def test_threshold_curves_errors(scores):
    y_true, y_score = scores
    with pytest.raises(ValueError, match="average must be"):
        plot_threshold_curves(y_true, y_score, average="micro")
    with pytest.raises(ValueError, match="non-empty sequence of finite"):
        plot_threshold_curves(y_true, y_score, thresholds=[])
    with pytest.raises(ValueError, match="same shape"):
        plot_threshold_curves(y_true, y_score[:, :2])
    bad = y_score.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        plot_threshold_curves(y_true, bad)
    with pytest.raises(ValueError, match="2 names but y_true has 3 columns"):
        plot_threshold_curves(y_true, y_score, emotions=["a", "b"])
    with pytest.raises(ValueError, match="ax must hold 3"):
        plot_threshold_curves(y_true, y_score, average=None, ax=plt.subplots()[1])
    degenerate = y_true.copy()
    degenerate[:, 1] = 0
    with pytest.warns(UndefinedMetricWarning, match=r"\['1'\] have only one class"):
        plot_threshold_curves(degenerate, y_score)


# -- classification report --------------------------------------------------------
def _report(y_true, y_score, *, with_auc=True):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return emotion_classification_report(
            y_true, (y_score > 0.5).astype(int), y_score if with_auc else None,
            emotions=NAMES, output_dict=True)


def test_report_bars(scores):
    y_true, y_score = scores
    report = _report(y_true, y_score)
    fig, ax = plot_classification_report(report)
    assert len(ax.patches) == 3 * 4  # W-Acc, AUC, F1 for 3 emotions + average
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["chance (W-Acc, AUC)", "W-Acc", "AUC", "F1"]
    heights = np.array([bar.get_height() for bar in ax.patches]).reshape(3, 4)
    rows = NAMES + ["macro avg"]
    for j, key in enumerate(["weighted_accuracy", "roc_auc", "f1"]):
        np.testing.assert_allclose(heights[j], [report[r][key] for r in rows])
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[-1] == "average"
    assert labels[0] == f"anger\n({report['anger']['support']} pos.)"
    assert len(ax.texts) == 12  # one value per bar


def test_report_options(scores):
    y_true, y_score = scores
    report = _report(y_true, y_score, with_auc=False)
    _, ax = plot_classification_report(report, include_average=False, annotate=False)
    assert len(ax.patches) == 2 * 3 and not ax.texts
    assert [t.get_text() for t in ax.get_legend().get_texts()][1:] == ["W-Acc", "F1"]
    fig, given = plt.subplots()
    out_fig, ax = plot_classification_report(report, metrics="weighted_f1", ax=given)
    assert out_fig is fig and ax is given and len(ax.patches) == 4


def test_report_undefined_auc_reads_na(scores):
    y_true, y_score = scores
    y_true = y_true.copy()
    y_true[:, 0] = 0  # anger: no positive, AUC undefined
    report = _report(y_true, y_score)
    _, ax = plot_classification_report(report, metrics=["roc_auc"])
    texts = [t.get_text() for t in ax.texts]
    assert texts[0] == "n/a" and ax.patches[0].get_height() == 0
    assert texts[-1] == f"{report['macro avg']['roc_auc']:.2f}"


def test_report_errors(scores):
    y_true, y_score = scores
    with pytest.raises(TypeError, match="output_dict=True"):
        plot_classification_report(emotion_classification_report(y_true, y_true))
    with pytest.raises(TypeError, match="'macro avg' entry"):
        plot_classification_report({"anger": 0.5})
    with pytest.raises(ValueError, match=r"\['roc_auc'\] are not in the report"):
        plot_classification_report(_report(y_true, y_score, with_auc=False),
                                   metrics=["roc_auc"])


# -- ROC curves -----------------------------------------------------------------
def test_roc_curves(scores):
    y_true, y_score = scores
    fig, ax = plot_roc_curves(y_true, y_score, emotions=NAMES)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    auc = emotion_roc_auc_score(y_true, y_score, average=None)
    assert labels[:3] == [f"{n} (AUC = {a:.2f})" for n, a in zip(NAMES, auc)]
    assert labels[3].startswith("Chance level")
    assert len(ax.get_lines()) == 4
    assert ax.get_xlabel() == "false positive rate"
    fig, given = plt.subplots()
    out_fig, ax = plot_roc_curves(y_true, y_score, chance=False, ax=given)
    assert out_fig is fig and ax is given and len(ax.get_lines()) == 3
    assert [t.get_text().split()[0] for t in ax.get_legend().get_texts()] == ["0", "1", "2"]


def test_roc_curves_skip_one_class_columns(scores):
    y_true, y_score = scores
    y_true = y_true.copy()
    y_true[:, 1] = 1
    with pytest.warns(UndefinedMetricWarning, match=r"\['fear'\] have only one class"):
        _, ax = plot_roc_curves(y_true, y_score, emotions=NAMES, chance=False)
    assert [t.get_text().split()[0] for t in ax.get_legend().get_texts()] == ["anger", "happy"]


@pytest.mark.parametrize("plot", [plot_learning_curves, plot_threshold_curves,
                                  plot_classification_report, plot_roc_curves])
def test_report_plots_say_how_to_install_matplotlib(plot, scores, monkeypatch):
    y_true, y_score = scores
    args = {
        plot_learning_curves: ([{"train_loss": 1.0}],),
        plot_threshold_curves: (y_true, y_score),
        plot_classification_report: (_report(y_true, y_score),),
        plot_roc_curves: (y_true, y_score),
    }[plot]
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        plot(*args)
