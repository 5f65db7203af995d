import copy
import io
import itertools
import pickle
from contextlib import redirect_stdout

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.optimize import nnls
from skorch.callbacks import (
    Checkpoint,
    EarlyStopping,
)

from skmemo.continual import (
    EpisodicMemory,
    few_shot_split,
    joint_training_set,
    project_agem,
    project_gem,
)
from skmemo.datasets import make_emotion_dataset
from skmemo.exceptions import ModalityError, NotFittedError

from .conftest import EMOTIONS, ragged_everywhere, small_clf


# ----------------------------------------------------------------------
# projections
# ----------------------------------------------------------------------
def _brute_force_projection(g, G):
    """Closest feasible point by enumerating active sets (small t only)."""
    best, best_dist = None, np.inf
    scale = np.abs(G).max() * np.abs(g).max() * G.shape[1]
    for r in range(G.shape[0] + 1):
        for S in itertools.combinations(range(G.shape[0]), r):
            S = list(S)
            x = g.copy()
            if S:
                v = np.linalg.lstsq(G[S] @ G[S].T, -G[S] @ g, rcond=None)[0]
                if np.any(v < -1e-9 * (1 + np.abs(v).max())):
                    continue
                x = g + G[S].T @ v
            if np.all(G @ x >= -1e-9 * scale):
                dist = np.linalg.norm(x - g)
                if dist < best_dist:
                    best, best_dist = x, dist
    return best


def _problems():
    rng = np.random.RandomState(0)
    for trial in range(12):
        t, p = [1, 2, 3, 5, 6, 4][trial % 6], 12
        G = rng.randn(t, p)
        if trial % 3 == 1 and t > 1:
            G[1] = G[0]  # duplicate memory gradients
        if trial % 3 == 2 and t > 2:
            G[2] = 3.0 * G[0]  # colinear
            G[1] = -0.5 * G[0] + 1e-9 * rng.randn(p)  # nearly anti-parallel
        g = rng.randn(p) - 2 * G.mean(0)  # makes violations likely
        yield G, g


@pytest.mark.parametrize("G, g", list(_problems()))
def test_project_gem_is_the_exact_projection(G, g):
    x = project_gem(g, G)
    scale = np.linalg.norm(G, axis=1).max() * np.linalg.norm(g)
    assert np.all(G @ x >= -1e-7 * scale)  # every constraint holds
    np.testing.assert_allclose(x, _brute_force_projection(g, G), atol=1e-6 * np.linalg.norm(g))
    # KKT: x - g = G'v with v >= 0 (independent NNLS on G' itself), and
    # complementary slackness (x - g) . x = 0
    v, residual = nnls(G.T, x - g)
    assert residual <= 1e-6 * np.linalg.norm(g)
    assert abs((x - g) @ x) <= 1e-6 * np.linalg.norm(g) ** 2


def test_project_gem_satisfies_many_constraints():
    rng = np.random.RandomState(1)
    G = rng.randn(40, 300)
    G[20:30] = G[:10] * rng.rand(10, 1)  # colinear half
    g = -G.sum(0) + rng.randn(300)
    x = project_gem(g, G)
    assert np.all(G @ x >= -1e-8 * np.abs(G).max() * np.abs(g).max() * 300)
    v, residual = nnls(G.T, x - g)
    assert residual <= 1e-6 * np.linalg.norm(g)


def test_project_gem_margin_is_projection_of_shifted_gradient():
    rng = np.random.RandomState(2)
    G, g = rng.randn(3, 8), rng.randn(8)
    g = g - 2 * G[0] * (g @ G[0]) / (G[0] @ G[0]) - G[0]  # violates row 0
    assert (G @ g).min() < 0
    x = project_gem(g, G, margin=0.5)
    expected = _brute_force_projection(g + 0.5 * G.sum(0), G)
    np.testing.assert_allclose(x, expected, atol=1e-8)
    assert np.all(G @ x >= -1e-9)
    # the margin pulls the step towards the memory gradients
    assert (G @ x).sum() > (G @ project_gem(g, G)).sum()


def test_project_gem_keeps_feasible_gradient_and_types():
    G = np.array([[1.0, 0.0], [0.0, 1.0]])
    g = np.array([1.0, 2.0])
    assert project_gem(g, G, margin=1.0) is g
    gt = torch.tensor([1.0, -1.0])
    out = project_gem(gt, torch.tensor([[0.0, 1.0]]))
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), [1.0, 0.0], atol=1e-7)
    np.testing.assert_allclose(project_gem(gt.numpy(), np.array([[0.0, 1.0]])), [1.0, 0.0])
    zero = np.zeros((2, 2))
    assert project_gem(g, zero) is g


@pytest.mark.parametrize("args, match", [
    ((np.ones(3), np.ones((2, 4))), "shape"),
    ((np.ones((3, 1)), np.ones((2, 3))), "flat gradient"),
    ((np.ones(3), np.ones((2, 3)), -0.1), "margin"),
    ((np.ones(3), np.ones((2, 3)), float("nan")), "margin"),
    ((np.array([1.0, np.nan, 0.0]), np.ones((2, 3))), "finite"),
])
def test_project_gem_errors(args, match):
    with pytest.raises(ValueError, match=match):
        project_gem(*args)


def test_project_agem_closed_form():
    rng = np.random.RandomState(3)
    for _ in range(10):
        g, r = rng.randn(6), rng.randn(6)
        x = project_agem(g, r)
        if g @ r >= 0:
            assert x is g
        else:
            assert abs(x @ r) < 1e-10
            np.testing.assert_allclose(x, project_gem(g, r[None, :]), atol=1e-10)
    with pytest.raises(ValueError, match="same shape"):
        project_agem(np.ones(3), np.ones(4))


# ----------------------------------------------------------------------
# episodic memory
# ----------------------------------------------------------------------
def _toy(n=300, K=4, seed=0):
    rng = np.random.RandomState(seed)
    y = (rng.rand(n, K) < [0.4, 0.3, 0.2, 0.01][:K]).astype(int)
    y[0, K - 1] = 1  # at least one positive of the rare emotion
    X = {"text": rng.randn(n, 5, 3).astype(np.float32),
         "text_lengths": rng.randint(1, 6, n)}
    return X, y


def test_memory_covers_every_emotion_and_is_bounded():
    X, y = _toy()
    memory = EpisodicMemory(capacity=16, random_state=0).add_task(X, y)
    stored = memory.tasks[0]["y"]
    assert len(memory) == 16 and memory.n_tasks == 1
    assert np.all(stored.sum(axis=0) >= 1)  # the 1%-emotion is represented
    assert set(memory.tasks[0]["X"]) == {"text", "text_lengths"}
    assert memory.tasks[0]["X"]["text_lengths"].dtype == np.int64
    assert memory.nbytes >= 16 * 5 * 3 * 4 + 16 * 8
    # chosen rows are real rows with their own labels
    rows = [np.flatnonzero((X["text"] == x).all(axis=(1, 2)))[0]
            for x in memory.tasks[0]["X"]["text"]]
    np.testing.assert_array_equal(y[rows], stored)
    # deterministic with random_state
    again = EpisodicMemory(capacity=16, random_state=0).add_task(X, y)
    np.testing.assert_array_equal(again.tasks[0]["X"]["text"], memory.tasks[0]["X"]["text"])


def test_memory_shares_capacity_between_tasks():
    X, y = _toy()
    memory = EpisodicMemory(capacity=40, random_state=0).add_task(X, y, n_emotions=3)
    assert len(memory) == 40 and memory.tasks[0]["n_emotions"] == 3
    Xs, ys = _toy(n=6, seed=1)
    memory.add_task(Xs, ys)  # a small task keeps all its samples
    memory.add_task(*_toy(seed=2))
    sizes = [len(t["y"]) for t in memory.tasks]
    assert sum(sizes) == 40 and sizes[1] == 6 and sizes[0] == sizes[2] == 17
    assert np.all(memory.tasks[0]["y"][:, :3].sum(axis=0) >= 1)


def test_memory_state_and_pickle_round_trip(tmp_path):
    X, y = _toy()
    memory = EpisodicMemory(capacity=20, random_state=3).add_task(X, y, pos_weight=[1, 2, 3, 4])
    memory.add_task(*_toy(n=50, seed=4), n_emotions=2)
    path = tmp_path / "memory.pt"
    torch.save(memory.to_state(), path)
    for loaded in (EpisodicMemory.from_state(torch.load(path, weights_only=True)),
                   pickle.loads(pickle.dumps(memory))):
        assert loaded.capacity == 20 and loaded.random_state == 3 and len(loaded) == len(memory)
        for a, b in zip(memory.tasks, loaded.tasks):
            assert a["n_emotions"] == b["n_emotions"]
            np.testing.assert_array_equal(a["y"], b["y"])
            for k in a["X"]:
                np.testing.assert_array_equal(a["X"][k], b["X"][k])
        np.testing.assert_array_equal(loaded.tasks[0]["pos_weight"], [1, 2, 3, 4])
        assert loaded.tasks[1]["pos_weight"] is None
    with pytest.raises(ValueError, match="not an EpisodicMemory state"):
        EpisodicMemory.from_state({"tasks": []})


@pytest.mark.parametrize("kwargs, match", [
    (dict(capacity=0), "capacity"),
    (dict(capacity=4, random_state="a"), "random_state"),
])
def test_memory_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        EpisodicMemory(**kwargs)
    X, y = _toy()
    with pytest.raises(ValueError, match="n_emotions"):
        EpisodicMemory(4).add_task(X, y, n_emotions=9)


# ----------------------------------------------------------------------
# few-shot split and joint training set
# ----------------------------------------------------------------------
def test_few_shot_split():
    rng = np.random.RandomState(0)
    Y = (rng.rand(1000, 3) < 0.3).astype(int)
    P = Y[:, 2].sum()
    few, rest = few_shot_split(Y, "Surprise", 0.05, emotions=["a", "b", "surprise"],
                               random_state=0)
    n_pos = int(np.ceil(0.05 * P))
    assert len(few) == 2 * n_pos and Y[few, 2].sum() == n_pos
    assert len(np.intersect1d(few, rest)) == 0 and len(few) + len(rest) == 1000
    assert few.max() > 500  # drawn at random, not the first rows
    same, _ = few_shot_split(Y, 2, 0.05, random_state=0)
    np.testing.assert_array_equal(few, same)
    few, _ = few_shot_split(Y, 0, 0.001, min_positives=4, random_state=0)
    assert Y[few, 0].sum() == 4 and len(few) == 8


@pytest.mark.parametrize("args, kwargs, match", [
    ((2,), dict(fraction=0), "fraction"),
    ((5,), {}, "column index"),
    (("joy",), dict(emotions=["a", "b", "c"]), "not among"),
    ((1,), dict(min_positives=0), "min_positives"),
])
def test_few_shot_split_errors(args, kwargs, match):
    Y = np.zeros((10, 3), int)
    Y[:3, 1] = 1
    with pytest.raises(ValueError, match=match):
        few_shot_split(Y, *args, **kwargs)
    with pytest.raises(ValueError, match="no positive"):
        few_shot_split(Y, 0)


def test_joint_training_set():
    X_old = {"text": np.ones((5, 4, 3), np.float32)}
    X_new = {"text": np.zeros((2, 4, 3), np.float32)}
    X, Y = joint_training_set(X_old, np.ones((5, 2)), X_new, [[0, 1, 1], [1, 0, 0]])
    assert len(X) == 7 and Y.shape == (7, 3) and Y[:5, 2].sum() == 0 and Y[5, 2] == 1
    assert X["text"][:5].sum() == 60 and X["text"][5:].sum() == 0
    _, Y = joint_training_set(X_old, np.ones((5, 2)), X_new, np.ones((2, 3)), fill=1)
    assert Y[:5, 2].sum() == 5
    with pytest.raises(ValueError, match="fewer"):
        joint_training_set(X_old, np.ones((5, 2)), X_new, np.ones((2, 1)))
    with pytest.raises(ValueError, match="fill must be"):
        joint_training_set(X_old, np.ones((5, 2)), X_new, np.ones((2, 3)), fill=np.ones(4))
    with pytest.raises(ValueError, match="same keys"):
        joint_training_set(X_old, np.ones((5, 2)), {"audio": np.zeros((2, 4, 3))},
                           np.ones((2, 3)))


# ----------------------------------------------------------------------
# the estimator
# ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def setting():
    """Fitted on five emotions (sixth's positives removed), sixth added zero-shot."""
    X, Y = make_emotion_dataset(260, seq_len=6, random_state=0)
    keep = np.flatnonzero(Y[:, 5] == 0)
    clf = small_clf(EMOTIONS[:5], lr=5e-3, max_epochs=4, validation_fraction=0,
                    memory_size=64, hidden_sizes={"audio": 8, "visual": 8})
    clf.fit(X[keep], Y[keep][:, :5])
    clf.add_emotions([EMOTIONS[5]])
    few, _ = few_shot_split(Y, 5, 0.1, random_state=0)
    return clf, X, Y, few


def _memory_loss(clf, task=0):
    t = clf.memory_.tasks[task]
    X = {k: torch.as_tensor(v) for k, v in t["X"].items()}
    with torch.no_grad():
        logits = clf.module_.eval()(**X)[:, :t["n_emotions"]]
        y = torch.as_tensor(t["y"][:, :t["n_emotions"]])
        return float(F.binary_cross_entropy_with_logits(logits, y))


def test_fit_stores_task_zero(setting):
    clf, X, Y, _ = setting
    memory = clf.memory_
    assert memory.n_tasks == 1 and len(memory) == 64 and memory.tasks[0]["n_emotions"] == 5
    assert set(memory.tasks[0]["X"]) == {"text", "audio", "visual"}
    assert np.all(memory.tasks[0]["y"].sum(axis=0) >= 1)
    np.testing.assert_allclose(memory.tasks[0]["pos_weight"], clf.pos_weight_[:5])


def test_partial_fit_gem_end_to_end_three_tasks(setting):
    clf, X, Y, few = setting
    clf = copy.deepcopy(clf)
    n_hist = len(clf.history_)
    assert clf.partial_fit_gem(X[few], Y[few], epochs=3) is clf
    assert clf.memory_.n_tasks == 2 and len(clf.memory_) <= 64
    assert clf.memory_.tasks[1]["n_emotions"] == 6 and len(clf.memory_.tasks[1]["y"]) == len(few)
    assert len(clf.history_) == n_hist + 3 and "gem_violations" in clf.history_[-1]
    assert np.isfinite(clf.history_[-1, "train_loss"])
    stats = clf.gem_stats_
    assert stats["steps"] == 3 and stats["method"] == "gem"
    # every step timed its projection, a part of the step's time
    assert 0 < stats["projection_seconds"] < stats["step_seconds"]
    assert stats["projection_share"] == stats["projection_seconds"] / stats["step_seconds"]
    clf.add_emotions(["joy"])
    Y7 = np.column_stack([Y, Y[:, 3]])  # "joy" follows "happy"
    clf.partial_fit_gem(X[few], Y7[few], epochs=2, method="agem", batch_size=8)
    assert clf.memory_.n_tasks == 3 and [t["n_emotions"] for t in clf.memory_.tasks] == [5, 6, 7]
    assert clf.predict_proba(X[:5]).shape == (5, 7)
    restored = EpisodicMemory.from_state(clf.memory_.to_state())
    assert restored.n_tasks == 3


def test_verbose_table_gets_a_header_for_gem_violations(setting, capsys):
    # the column partial_fit_gem adds sits under a header of its own
    clf, X, Y, few = setting
    clf = copy.deepcopy(clf).set_params(verbose=1)
    clf.partial_fit(X[few], Y[few], epochs=1)
    clf.partial_fit_gem(X[few], Y[few], epochs=2)
    lines = capsys.readouterr().out.strip("\n").splitlines()
    headers = [i for i, line in enumerate(lines) if line.split()[0] == "epoch"]
    assert len(headers) == 2 and "gem_violations" in lines[headers[1]]
    assert "gem_violations" not in lines[headers[0]]
    for start, end in zip(headers, headers[1:] + [len(lines)]):
        names = lines[start].split()
        rows = lines[start + 2:end]
        assert rows and all(len(row.split()) == len(names) for row in rows)
        assert {len(line) for line in lines[start:end]} == {len(lines[start])}


def test_gem_forgets_less_than_fine_tuning(setting):
    clf, X, Y, few = setting
    before = _memory_loss(clf)
    ft = copy.deepcopy(clf).partial_fit(X[few], Y[few], epochs=15)
    gem = copy.deepcopy(clf).partial_fit_gem(X[few], Y[few], epochs=15, margin=0.5)
    ft_loss, gem_loss = _memory_loss(ft), _memory_loss(gem)
    assert ft_loss > before  # fine-tuning on the few-shot set forgets
    assert gem_loss < ft_loss
    assert gem_loss - before < 0.5 * (ft_loss - before)


def test_constrained_step_raises_no_memory_loss_to_first_order(setting):
    clf, X, Y, few = setting
    clf = copy.deepcopy(clf)
    for m in clf.module_.modules():
        if isinstance(m, torch.nn.LSTM):
            m.dropout = 0.0  # the memory gradient below must equal the one in the step
    params = [p for p in clf.module_.parameters() if p.requires_grad]
    task = clf.memory_.tasks[0]
    clf.module_.train()
    clf.module_.zero_grad()
    logits = clf.module_(**{k: torch.as_tensor(v) for k, v in task["X"].items()})[:, :5]
    F.binary_cross_entropy_with_logits(logits, torch.as_tensor(task["y"]),
                                       pos_weight=torch.as_tensor(task["pos_weight"])).backward()
    g_mem = torch.cat([p.grad.reshape(-1) for p in params])
    before = torch.cat([p.detach().reshape(-1).clone() for p in params])
    clf.partial_fit_gem(X[few], Y[few], epochs=1, batch_size=len(few))
    step = torch.cat([p.detach().reshape(-1) for p in params]) - before
    assert step.norm() > 0
    assert float(g_mem @ step) <= 1e-5 * float(g_mem.norm() * step.norm())


def test_partial_fit_gem_is_deterministic_and_keeps_global_rng(setting):
    clf, X, Y, few = setting
    torch.manual_seed(7)
    expected = torch.rand(1)
    torch.manual_seed(7)
    a = copy.deepcopy(clf).partial_fit_gem(X[few], Y[few], epochs=2)
    assert torch.rand(1) == expected
    b = copy.deepcopy(clf).partial_fit_gem(X[few], Y[few], epochs=2)
    for p, q in zip(a.module_.parameters(), b.module_.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def _snapshot(clf):
    state = {k: v.clone() for k, v in clf.module_.state_dict().items()}
    return state, pickle.dumps(clf.memory_), len(clf.history_)


@pytest.mark.parametrize("change, match, error", [
    (lambda X, Y: (X, Y[:, :5]), "5 columns", ValueError),
    (lambda X, Y: (X[:0], Y[:0]), "no samples", ValueError),
    (lambda X, Y: ({"text": X["text"], "foo": X["text"]}, Y), "unknown modality",
     ModalityError),
    (lambda X, Y: (X, Y * 2), "binary", ValueError),
])
def test_partial_fit_gem_data_errors_are_atomic(setting, change, match, error):
    clf, X, Y, few = setting
    before = _snapshot(clf)
    with pytest.raises(error, match=match):
        clf.partial_fit_gem(*change(X[few], Y[few]))
    after = _snapshot(clf)
    assert after[1:] == before[1:]
    for k, v in before[0].items():
        torch.testing.assert_close(after[0][k], v, rtol=0, atol=0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(margin=-1.0), "margin"),
    (dict(method="sgd"), "method"),
    (dict(epochs=0), "epochs"),
    (dict(batch_size=2.5), "batch_size"),
    (dict(constrain_step="yes"), "constrain_step"),
])
def test_partial_fit_gem_param_errors_are_atomic(setting, kwargs, match):
    clf, X, Y, few = setting
    before = _snapshot(clf)
    with pytest.raises(ValueError, match=match):
        clf.partial_fit_gem(X[few], Y[few], **kwargs)
    assert _snapshot(clf)[1:] == before[1:]


def test_partial_fit_gem_before_fit():
    X, Y = make_emotion_dataset(10, seq_len=4, random_state=0)
    with pytest.raises(NotFittedError, match=r"call fit\(X, y\) before partial_fit_gem"):
        small_clf().partial_fit_gem(X, Y)


def test_modality_subset_and_no_memory():
    X, Y = make_emotion_dataset(80, seq_len=4, modalities=("text", "audio"), random_state=1)
    clf = small_clf(max_epochs=1, memory_size=20, validation_fraction=0).fit(X, Y)
    assert set(clf.memory_.tasks[0]["X"]) == {"text", "audio"}
    clf.partial_fit_gem({"audio": X["audio"][:10]}, Y[:10], epochs=1)
    assert set(clf.memory_.tasks[1]["X"]) == {"audio"}
    visual = make_emotion_dataset(10, seq_len=4, random_state=1)[0]
    with pytest.raises(ModalityError, match="not seen in fit"):
        clf.partial_fit_gem(visual, Y[:10])
    clf = small_clf(max_epochs=1, memory_size=0, validation_fraction=0).fit(X, Y)
    assert clf.memory_ is None
    with pytest.warns(UserWarning, match="no earlier task in the episodic memory"):
        clf.partial_fit_gem(X[:10], Y[:10], epochs=1)
    assert clf.memory_ is None
    with pytest.raises(ValueError, match="memory_size"):
        small_clf(max_epochs=1, memory_size=-1, validation_fraction=0).fit(X, Y)


# ----------------------------------------------------------------------
# skorch and scikit-learn features used the way those libraries teach.
# ----------------------------------------------------------------------
def _copy(clf):
    return pickle.loads(pickle.dumps(clf))


# ----------------------------------------------------------------------
# 10. partial_fit_gem runs in skorch's loop
# ----------------------------------------------------------------------
def test_partial_fit_gem_is_skorch_loop(fitted, data, tmp_path):
    X, Y = data
    clf = _copy(fitted).add_emotions(["calm"])
    Y7 = np.c_[Y, Y[:, 0]]
    cp = Checkpoint(dirname=str(tmp_path), monitor=None)
    clf.set_params(verbose=1, callbacks=[cp])
    out = io.StringIO()
    with redirect_stdout(out):
        clf.partial_fit_gem(X, Y7, epochs=2)
    row = clf.history[-1]
    assert {"valid_loss", "valid_wacc", "gem_violations", "train_loss", "dur"} <= set(row)
    assert "gem_violations" in out.getvalue() and "valid_loss" in out.getvalue()
    assert (tmp_path / "params.pt").is_file()
    assert clf.memory_.n_tasks == 2 and clf.gem_stats_["steps"] > 0


def test_partial_fit_gem_early_stopping(fitted, data):
    X, Y = data
    clf = _copy(fitted).set_params(early_stopping_patience=1)
    stop = EarlyStopping(monitor="valid_loss", patience=1, threshold=10.0,
                         threshold_mode="abs")
    clf.set_params(callbacks=[stop])
    n = len(clf.history)
    clf.partial_fit_gem(X, Y, epochs=6, new_task=True)
    assert len(clf.history) - n == 2  # stopped: no improvement by 10 in one epoch


def test_repeated_calls_do_not_dilute_earlier_tasks(fitted, data):
    X, Y = data
    clf = _copy(fitted).add_emotions(["calm"])
    Y7 = np.c_[Y, Y[:, 0]]
    for chunk in np.array_split(np.arange(len(Y)), 3):
        clf.partial_fit_gem(X[chunk], Y7[chunk], epochs=1)
    memory = clf.memory_
    assert memory.n_tasks == 2  # the chunks continue one task
    assert memory.tasks[1]["n_seen"] == len(Y)
    # task 0 keeps its half of the memory (three separate tasks would leave it a quarter)
    assert len(memory.tasks[0]["y"]) == len(memory.tasks[1]["y"]) == memory.capacity // 2
    clf.partial_fit_gem(X[:40], Y7[:40], epochs=1, new_task=True)
    assert clf.memory_.n_tasks == 3


# ----------------------------------------------------------------------
# Modalities absent for some samples: length 0 in ``<modality>_lengths``.
# ----------------------------------------------------------------------
# training on ragged data
# ----------------------------------------------------------------------


def test_partial_fit_gem_accepts_ragged_inputs(data):
    X, Y = data
    clf = small_clf(max_epochs=1, memory_size=32).fit(ragged_everywhere(X[:120]), Y[:120])
    R = ragged_everywhere(X[120:], seed=1)
    clf.partial_fit_gem(R, Y[120:], epochs=1, new_task=True)  # GEM protects task 0
    assert np.isfinite(clf.history_[-1, "train_loss"])
    assert clf.memory_.n_tasks == 2
    assert "audio_lengths" in clf.memory_.tasks[1]["X"]
    assert np.isfinite(clf.predict_proba(R)).all()


# ----------------------------------------------------------------------
# the GEM step on a plain skorch NeuralNet
# ----------------------------------------------------------------------
class _Linear(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(4, 2)

    def forward(self, x):
        return self.lin(x)


def test_gem_step_mixin_on_a_plain_neural_net():
    from skorch import NeuralNet

    from skmemo.continual import GEMProjection, GEMStepMixin

    class Net(GEMStepMixin, NeuralNet):
        pass

    rng = np.random.RandomState(0)
    X_old = rng.randn(16, 4).astype(np.float32)
    y_old = (X_old[:, :2] > 0).astype(np.float32)
    X_new = rng.randn(32, 4).astype(np.float32)
    y_new = (X_new[:, :2] < 0).astype(np.float32)  # conflicts with the old task
    torch.manual_seed(0)
    net = Net(_Linear, criterion=torch.nn.BCEWithLogitsLoss, optimizer=torch.optim.SGD,
              lr=0.5, max_epochs=2, batch_size=8, train_split=None, verbose=0)
    net.fit({"x": X_old}, y_old)
    task = {"X": {"x": X_old}, "y": y_old, "n_emotions": 2, "pos_weight": None}

    def old_loss(net):
        with torch.no_grad():
            logits = net.module_(torch.as_tensor(X_old))
            return float(torch.nn.functional.binary_cross_entropy_with_logits(
                logits, torch.as_tensor(y_old)))

    before = old_loss(net)
    plain = copy.deepcopy(net)
    net.gem_ = GEMProjection([task], margin=0.0, constrain_step=True)
    net.partial_fit({"x": X_new}, y_new, epochs=1)
    stats = net.gem_.summary()
    del net.gem_
    assert stats["steps"] == 4  # 32 samples in batches of 8
    assert net.history[-1, "gem_violations"] > 0
    # without gem_ the hooks are skorch's own: nothing is projected or recorded
    plain.partial_fit({"x": X_new}, y_new, epochs=1)
    assert "gem_violations" not in plain.history[-1]
    assert old_loss(plain) - before > 10 * max(old_loss(net) - before, 1e-4)
