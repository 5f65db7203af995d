"""benchmarks/_common.py: the one ``evaluate``, the data helpers and the shared CLI.

No benchmark is run here; the scripts' quick modes (``--quick``) are for that.
"""

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from skmemo.metrics import emotion_roc_auc_score, weighted_accuracy_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import _common  # noqa: E402

Y = np.array([[1, 0], [0, 0], [0, 1], [0, 1]])
PROBA = np.array([[0.9, 0.6], [0.7, 0.2], [0.3, 0.8], [0.1, 0.4]])


class Fixed:
    """A fitted estimator's face with fixed probabilities."""

    def __init__(self, proba, thresholds=(0.5, 0.5)):
        self.proba = np.asarray(proba, float)
        self.thresholds_ = np.asarray(thresholds, float)

    def predict_proba(self, X):
        return self.proba

    def predict(self, X):
        return (self.proba > self.thresholds_).astype(int)


def test_evaluate_known_answer():
    s = _common.evaluate(Fixed(PROBA), None, Y)
    # predictions at 0.5: [[1, 1], [1, 0], [0, 1], [0, 0]] (the metrics' docstring case)
    np.testing.assert_allclose(s["wacc"], [5 / 6, 0.5])
    # column 0: the one positive scores highest; column 1: 3 of 4 pairs ordered
    np.testing.assert_allclose(s["auc"], [1.0, 0.75])
    np.testing.assert_allclose(s["accuracy"], [0.75, 0.5])
    assert s["mean_auc"] == pytest.approx(0.875)
    assert s["mean_wacc"] == pytest.approx((5 / 6 + 0.5) / 2)
    pred = (PROBA > 0.5).astype(int)
    np.testing.assert_allclose(s["wacc"], weighted_accuracy_score(Y, pred, average=None))
    np.testing.assert_allclose(s["auc"], emotion_roc_auc_score(Y, PROBA, average=None))

    new = _common.evaluate(Fixed(PROBA), None, Y, new=1)
    assert (new["new_auc"], new["new_wacc"], new["old_auc"]) == pytest.approx((0.75, 0.5, 1.0))


def test_evaluate_uses_the_estimators_thresholds():
    s = _common.evaluate(Fixed(PROBA, thresholds=(0.95, 0.5)), None, Y)
    # nothing predicted positive in column 0: TPR 0, TNR 1
    assert s["wacc"][0] == pytest.approx(0.5)
    clf = Fixed(PROBA, thresholds=(0.95, 0.5))
    np.testing.assert_allclose(
        s["wacc"], weighted_accuracy_score(Y, clf.predict(None), average=None))


def test_evaluate_skips_single_class_columns_like_the_metrics():
    Y3 = np.column_stack([Y, np.zeros(4, int)])
    proba = np.column_stack([PROBA, [0.1, 0.2, 0.3, 0.4]])
    s = _common.evaluate(Fixed(proba, thresholds=(0.5, 0.5, 0.5)), None, Y3)
    assert np.isnan(s["auc"][2])
    with pytest.warns(UserWarning):
        expected = emotion_roc_auc_score(Y3, proba)
    assert s["mean_auc"] == pytest.approx(expected) == pytest.approx(0.875)
    # the other columns' mean, not NaN, for the old emotions of a new one
    assert _common.evaluate(Fixed(proba, (0.5,) * 3), None, Y3, new=0)["old_auc"] == 0.75


def test_evaluate_argmax_decision():
    labels = np.array([1, 0, 1, 0])
    Y2 = np.stack([labels, 1 - labels], axis=1)
    proba = np.array([[0.6, 0.7], [0.2, 0.9], [0.8, 0.1], [0.4, 0.3]])
    s = _common.evaluate(Fixed(proba), None, Y2, decision="argmax")
    positive = proba[:, 0] > proba[:, 1]  # [F, F, T, T]
    assert s["accuracy"][0] == pytest.approx(np.mean(positive == labels)) == 0.5
    assert s["wacc"][0] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="decision must be"):
        _common.evaluate(Fixed(proba), None, Y2, decision="max")
    with pytest.raises(ValueError, match="new must be a column"):
        _common.evaluate(Fixed(proba), None, Y2, new=2)


def test_evaluate_on_a_fitted_estimator_matches_its_predict():
    from skmemo import MultimodalEmotionClassifier

    X_tr, X_te, Y_tr, Y_te = _common.synthetic_split(80, seq_len=4, seed=0)
    clf = MultimodalEmotionClassifier(list(_common.EMOTIONS), max_epochs=1,
                                      validation_fraction=0, random_state=0,
                                      device="cpu").fit(X_tr, Y_tr)
    s = _common.evaluate(clf, X_te, Y_te)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = weighted_accuracy_score(Y_te, clf.predict(X_te), average=None)
        auc = emotion_roc_auc_score(Y_te, clf.predict_proba(X_te), average=None)
    np.testing.assert_allclose(s["wacc"], expected)
    np.testing.assert_allclose(s["auc"], auc)


def test_held_out_last():
    Y3 = np.arange(6).reshape(2, 3)
    np.testing.assert_array_equal(_common.held_out_last(Y3, 0), [[1, 2, 0], [4, 5, 3]])


def test_synthetic_split_sorted_rows_are_the_same_rows():
    a = _common.synthetic_split(40, seq_len=3, seed=1)
    b = _common.synthetic_split(40, seq_len=3, seed=1, sort=True)
    assert len(a[0]) == len(b[0]) == 28 and a[3].shape == b[3].shape == (12, 6)
    key = lambda Y: sorted(map(tuple, Y.tolist()))  # noqa: E731
    assert key(a[2]) == key(b[2]) and key(a[3]) == key(b[3])


def test_have_files(tmp_path, capsys):
    (tmp_path / "a.csv").write_text("x")
    assert _common.have_files(tmp_path, ["a.csv"], "Some data")
    assert capsys.readouterr().out == ""
    assert not _common.have_files(tmp_path, ["a.csv", "b.csv"], "Some data", option="--dir")
    out = capsys.readouterr().out
    assert "Some data files not found" in out and "missing b.csv" in out and "--dir" in out


def test_parser_quick_mode_and_common_options():
    parser = _common.make_parser("Title line.\n\nMore.", cache=True,
                                 quick={"seeds": [0], "epochs": 2})
    parser.add_argument("--epochs", type=int, default=30)
    assert parser.description == "Title line."
    full = parser.parse_args(["--threads", "1"])
    assert (full.quick, full.seeds, full.epochs, full.cache) == (False, [0, 1, 2], 30, None)
    quick = parser.parse_args(["--quick"])
    assert (quick.seeds, quick.epochs) == ([0], 2)
    # an option given on the command line keeps its value under --quick
    assert parser.parse_args(["--quick", "--epochs", "5"]).epochs == 5
    # quick settings are not left behind as defaults
    assert parser.parse_args([]).epochs == 30
    assert isinstance(parser.parse_args(["--cache", "c.json"]).cache, Path)
    with pytest.raises(SystemExit):
        parser.parse_args(["--seeds", "zero"])


def test_parser_sets_threads():
    before = torch.get_num_threads()
    try:
        _common.make_parser("t").parse_args(["--threads", "1"])
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_parser_quick_settings_must_name_options():
    parser = _common.make_parser("t", seeds=None, threads=None, quick={"epochs": 1})
    with pytest.raises(ValueError, match="quick settings name no option.*epochs"):
        parser.parse_args([])
    assert not any(a.dest in ("seeds", "threads") for a in parser._actions)


def test_parser_quick_may_depend_on_another_option():
    parser = _common.make_parser("t", threads=None, quick=lambda a: (
        {"seeds": [9]} if a.dataset == "b" else {"seeds": [0]}))
    parser.add_argument("--dataset", default="a")
    assert parser.parse_args(["--quick"]).seeds == [0]
    assert parser.parse_args(["--quick", "--dataset", "b"]).seeds == [9]


def test_timer():
    with _common.Timer() as t:
        sum(range(10000))
    assert t.wall >= 0 and t.cpu >= 0


def test_doctests():
    import doctest

    assert doctest.testmod(_common).failed == 0


def test_every_benchmark_script_has_the_shared_parser_with_quick():
    import ast

    scripts = [p for p in sorted(Path(_common.__file__).parent.glob("*.py"))
               if "__main__" in p.read_text(encoding="utf-8")]
    assert len(scripts) > 10
    without = []
    for path in scripts:
        calls = [node for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                 if isinstance(node, ast.Call)
                 and "make_parser" in (getattr(node.func, "id", None),
                                       getattr(node.func, "attr", None))]
        if not any(k.arg == "quick" for call in calls for k in call.keywords):
            without.append(path.name)
    assert without == []
