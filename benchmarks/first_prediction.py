"""Time to first prediction, as a downstream service pays it.

Each measurement runs in a fresh Python process (``sys.executable``), so the
import caches of one do not help the next; the stages are interleaved and the
best of ``--repeats`` is kept:

- ``python``: the interpreter alone;
- ``torch``: ``import torch``;
- ``torch + an optimizer``: ``import torch`` and one ``torch.optim.Adam``
  (torch imports its compiler stack the first time an optimizer is built);
- ``dependencies``: ``import torch, skorch, sklearn`` (what skmemo builds on);
- ``import skmemo``;
- ``first prediction``: ``import skmemo``, :func:`skmemo.load` of a saved
  model, ``predict_proba`` of one sample.

It also lists the modules that ``import skmemo`` and the loading add on top of
its dependencies (plotting, data-set readers, pandas, matplotlib, h5py should
not be among them).

    python benchmarks/first_prediction.py
    python benchmarks/first_prediction.py --quick   # one repeat
"""

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import Timer, make_parser

SNIPPETS = {
    "python": "pass",
    "torch": "import torch",
    "torch + an optimizer": "import torch; torch.optim.Adam([torch.nn.Parameter(torch.ones(1))])",
    "dependencies": "import torch, skorch, sklearn.base",
    "import skmemo": "import skmemo",
    "first prediction": (
        "import numpy as np, skmemo\n"
        "clf = skmemo.load({path!r})\n"
        "clf.predict_proba(dict(np.load({sample!r})))"),
}

ADDED = """
import sys, json, torch, skorch, sklearn.base
before = set(sys.modules)
import numpy as np, skmemo
after_import = set(sys.modules)
clf = skmemo.load({path!r})
clf.predict_proba(dict(np.load({sample!r})))
print(json.dumps([sorted(after_import - before), sorted(set(sys.modules) - after_import)]))
"""


def make_model(path, sample):
    """A small fitted model saved at ``path``, one input sample at ``sample``."""
    import numpy as np
    import torch

    from skmemo import MultimodalEmotionClassifier
    from skmemo.datasets import make_emotion_dataset

    torch.set_num_threads(1)
    X, Y = make_emotion_dataset(200, emotions=["anger", "happy", "sad"], seq_len=20,
                                random_state=0)
    clf = MultimodalEmotionClassifier(["anger", "happy", "sad"], max_epochs=1,
                                      random_state=0, device="cpu").fit(X, Y)
    clf.save(path)
    np.savez(sample, **{m: X[m][:1] for m in X})


def run(code, env):
    with Timer() as t:
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
    return t.wall


def main(argv=None):
    parser = make_parser(__doc__, seeds=None, threads=None, quick={"repeats": 1})
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    import os

    env = dict(os.environ, OMP_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as tmp:
        path, sample = str(Path(tmp) / "model.skmemo"), str(Path(tmp) / "sample.npz")
        make_model(path, sample)
        times = {k: [] for k in SNIPPETS}
        for _ in range(args.repeats):
            for key, code in SNIPPETS.items():
                times[key].append(run(code.format(path=path, sample=sample), env))
        code = ADDED.format(path=path, sample=sample)
        out = subprocess.run([sys.executable, "-c", code], check=True, env=env,
                             capture_output=True, text=True).stdout
        by_import, by_load = json.loads(out.strip().splitlines()[-1])
    best = {k: min(v) for k, v in times.items()}
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, best of {args.repeats} fresh processes:")
    for key, t in best.items():
        print(f"  {key:20s} {t:6.2f} s")
    print(f"  skmemo's own import (import skmemo - dependencies): "
          f"{best['import skmemo'] - best['dependencies']:.2f} s; load + one prediction: "
          f"{best['first prediction'] - best['import skmemo']:.2f} s")
    print(f"modules added by import skmemo beyond torch/skorch/sklearn ({len(by_import)}): "
          f"{', '.join(m for m in by_import if '.' not in m or m.startswith('skmemo'))}")
    print(f"modules added by load + predict ({len(by_load)}): "
          f"{', '.join(sorted({m.split('.')[0] for m in by_load}))}")
    heavy = [m for m in by_import + by_load
             if m.split(".")[0] in ("pandas", "matplotlib", "h5py")
             or m in ("skmemo.plotting", "skmemo.datasets")]
    print(f"heavy modules skmemo adds: {heavy or 'none'}")


if __name__ == "__main__":
    main()
