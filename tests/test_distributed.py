"""Multi-device training through skorch's ``AccelerateMixin``.

One CPU process, then two processes on the CPU (gloo).

Runs ``torchrun --nproc_per_node 2 tests/distributed/train_two_processes.py``,
the launch command of the performance guide, and checks what every rank
wrote: training completed on both, both hold the same weights, early stopping
stopped both at the same epoch (skorch's ``DistributedHistory``), and the
predictions come back in input order, equal to a single-process prediction
with the same weights.
"""

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

accelerate = pytest.importorskip("accelerate")
hf = pytest.importorskip("skorch.hf")

from skmemo import MultimodalEmotionClassifier  # noqa: E402
from skmemo.datasets import make_emotion_dataset  # noqa: E402

from .conftest import small_clf  # noqa: E402

SCRIPT = Path(__file__).parent / "distributed" / "train_two_processes.py"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    path = os.pathsep.join(p for p in (str(SCRIPT.parents[2]), os.environ.get("PYTHONPATH"))
                           if p)
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=path)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_port", str(_free_port()), str(SCRIPT), str(out), str(_free_port())]
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return [torch.load(out / f"rank{r}.pt", weights_only=True) for r in (0, 1)]


def test_both_ranks_trained_the_same_model(ranks):
    r0, r1 = ranks
    assert r0["world"] == r1["world"] == 2
    assert r0["state"].keys() == r1["state"].keys()
    for key, value in r0["state"].items():
        assert torch.equal(value, r1["state"][key]), key


def test_early_stopping_in_step_across_ranks(ranks):
    r0, r1 = ranks
    assert r0["epochs"] == r1["epochs"] >= 1
    assert r0["valid_loss"] == r1["valid_loss"]  # what early stopping watches here


def test_predictions_in_input_order_equal_single_process(ranks):
    X, _ = make_emotion_dataset(240, seq_len=8, random_state=0)
    single = small_clf(max_epochs=1, batch_size=64, validation_fraction=0,
                       hidden_sizes={"audio": 8, "visual": 8})
    single.fit(X, np.zeros((240, 6)) + np.eye(6)[np.arange(240) % 6])
    single.network_.load_state_dict(ranks[0]["state"])
    expected = single.predict_proba(X)
    for rank in ranks:
        np.testing.assert_allclose(rank["proba"].numpy(), expected, atol=1e-6)


# ----------------------------------------------------------------------
# one process
# ----------------------------------------------------------------------
class AcceleratedEmotionClassifier(hf.AccelerateMixin, MultimodalEmotionClassifier):
    """The estimator trained by Hugging Face Accelerate."""


def test_accelerate_mixin_trains_and_predicts():
    X, Y = make_emotion_dataset(120, emotions=["happy", "sad"], seq_len=6, random_state=0)
    clf = small_clf(["happy", "sad"], cls=AcceleratedEmotionClassifier,
                    accelerator=accelerate.Accelerator(cpu=True), device=None,
                    max_epochs=2, batch_size=64, hidden_sizes={"audio": 8, "visual": 8})
    clf.fit(X, Y)
    proba = clf.predict_proba(X)
    assert proba.shape == (120, 2) and np.isfinite(proba).all()
    assert len(clf.history) == 2 and clf.history[-1, "train_loss"] < clf.history[0, "train_loss"]


def test_accelerate_mixin_runs_the_gem_step():
    X, Y = make_emotion_dataset(120, emotions=["happy", "sad"], seq_len=6, random_state=0)
    clf = small_clf(["happy", "sad"], cls=AcceleratedEmotionClassifier,
                    accelerator=accelerate.Accelerator(cpu=True), device=None,
                    max_epochs=1, batch_size=64, hidden_sizes={"audio": 8, "visual": 8})
    clf.fit(X, Y).add_emotions(["fear"])
    clf.partial_fit_gem(X, np.c_[Y, Y[:, :1]], epochs=1, batch_size=32)
    # the gradient of every step was checked against the memory (projected or not)
    assert clf.gem_stats_["steps"] == 4 and clf.gem_stats_["projection_seconds"] > 0
    assert "gem_violations" in clf.history[-1]


# ----------------------------------------------------------------------
# a launcher's processes that would each train alone
# ----------------------------------------------------------------------
def test_accelerator_that_does_not_join_the_launched_processes_is_refused(monkeypatch):
    from accelerate import Accelerator
    from skorch.hf import AccelerateMixin

    from skmemo import MultimodalEmotionClassifier

    class Accelerated(AccelerateMixin, MultimodalEmotionClassifier):
        pass

    accelerator = Accelerator(cpu=True)  # this process alone: num_processes 1
    X, Y = make_emotion_dataset(24, seq_len=4, random_state=0)
    clf = small_clf(cls=Accelerated, accelerator=accelerator, device=None, max_epochs=1)
    monkeypatch.setenv("WORLD_SIZE", "2")  # what torchrun --nproc_per_node 2 sets
    with pytest.raises(ValueError, match=r"started 2 processes \(WORLD_SIZE=2\) but this one "
                                         r"trains with 1.*Accelerator\(cpu=True\)"):
        clf.fit(X, Y)
    assert not clf.__sklearn_is_fitted__()
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert clf.fit(X, Y).__sklearn_is_fitted__()


def test_launched_processes_without_accelerator_warn(monkeypatch):
    X, Y = make_emotion_dataset(24, seq_len=4, random_state=0)
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.warns(UserWarning, match="each would train alone.*AccelerateMixin"):
        small_clf(max_epochs=1).fit(X, Y)


@pytest.mark.parametrize("args, match", [
    (["out"], "expected OUT_DIR and PORT, got 1"),
    (["out", "port"], "PORT must be a TCP port number"),
    (["missing", "1234"], "OUT_DIR 'missing' is not an existing folder"),
])
def test_script_without_port_says_what_it_needs(tmp_path, monkeypatch, args, match):
    # the docstring's command once had no PORT: an IndexError
    import importlib.util

    spec = importlib.util.spec_from_file_location("train_two_processes", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    (tmp_path / "out").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match=match) as info:
        script.parse_args(args)
    assert "OUT_DIR PORT" in str(info.value)
    assert script.parse_args(["out", "1234"]) == ("out", 1234)
    assert "OUT_DIR PORT" in script.__doc__.split("::")[1].split("\n\n")[1]
