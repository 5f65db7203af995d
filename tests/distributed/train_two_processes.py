"""Training script of the two-process test (``tests/test_distributed.py``).

Run as the performance guide documents::

    torchrun --nproc_per_node 2 tests/distributed/train_two_processes.py OUT_DIR

Each process writes its weights, its predictions and its history to
``OUT_DIR/rank<r>.pt``.
"""

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


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
