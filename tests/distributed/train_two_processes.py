"""Training script of the two-process test (``tests/test_distributed.py``).

Run as the performance guide documents::

    torchrun --nproc_per_node 2 tests/distributed/train_two_processes.py OUT_DIR PORT

``OUT_DIR`` is an existing folder; ``PORT`` a free TCP port for the store of
skorch's ``DistributedHistory`` (another one than torchrun's
``--master_port``, 29500 by default). Each process writes its weights, its
predictions and its history to ``OUT_DIR/rank<r>.pt``. The script ends with
an orderly teardown while the interpreter is still alive: the ranks that
connect to the ``TCPStore`` of the ``DistributedHistory`` release it before the
main process, which serves it, and ``accelerator.end_training()`` then destroys
the process group. Left to interpreter exit, that teardown can abort a process
(``terminate called without an active exception``).
"""

import gc
import sys
from pathlib import Path

import torch
from accelerate import Accelerator
from skorch.hf import AccelerateMixin
from skorch.history import DistributedHistory
from torch.distributed import TCPStore

from skmemo import MultimodalEmotionClassifier
from skmemo.datasets import make_emotion_dataset

EMOTIONS = ["anger", "disgust", "fear", "happy", "sad", "surprise"]


class AcceleratedEmotionClassifier(AccelerateMixin, MultimodalEmotionClassifier):
    """The estimator trained by Hugging Face Accelerate."""


def main(out, port):
    torch.set_num_threads(1)
    accelerator = Accelerator(cpu=True)
    rank, world = accelerator.process_index, accelerator.num_processes
    store = TCPStore("127.0.0.1", port=port, world_size=world,
                     is_master=accelerator.is_main_process)
    history = DistributedHistory(store=store, rank=rank, world_size=world)
    X, Y = make_emotion_dataset(240, seq_len=8, random_state=0)
    clf = AcceleratedEmotionClassifier(
        EMOTIONS, accelerator=accelerator, device=None, history=history,
        max_epochs=6, batch_size=32, random_state=0, early_stopping_patience=2,
        hidden_sizes={"audio": 8, "visual": 8})
    clf.fit(X, Y)
    proba = clf.predict_proba(X)
    state = {k: v.detach().cpu() for k, v in clf.network_.state_dict().items()}
    torch.save({"world": world, "proba": torch.from_numpy(proba), "state": state,
                "epochs": len(clf.history),
                "valid_loss": [float(row["valid_loss"]) for row in clf.history]},
               Path(out) / f"rank{rank}.pt")
    # Orderly teardown while the interpreter is alive: every rank is done with the
    # history's store; the processes that connect to it let go first, the one that
    # serves it (the main process) last; then the process group goes.
    accelerator.wait_for_everyone()
    del clf, history
    if not accelerator.is_main_process:
        del store
        gc.collect()
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        del store
        gc.collect()
    accelerator.end_training()


USAGE = ("usage: torchrun --nproc_per_node 2 tests/distributed/train_two_processes.py "
         "OUT_DIR PORT\n  OUT_DIR: an existing folder for rank<r>.pt; PORT: a free TCP "
         "port for the DistributedHistory store (not torchrun's --master_port)")


def parse_args(argv):
    """``(OUT_DIR, PORT)`` from the command line, or exit with the usage line."""
    if len(argv) != 2:
        raise SystemExit(f"expected OUT_DIR and PORT, got {len(argv)} argument(s)\n{USAGE}")
    out, port = argv
    if not Path(out).is_dir():
        raise SystemExit(f"OUT_DIR {out!r} is not an existing folder\n{USAGE}")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise SystemExit(f"PORT must be a TCP port number (1-65535), got {port!r}\n{USAGE}")
    return out, int(port)


if __name__ == "__main__":
    main(*parse_args(sys.argv[1:]))
