"""What ``import skmemo`` loads: no plotting, data-set readers, pandas or matplotlib."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# pandas, matplotlib and h5py made unimportable; scikit-learn does without pandas
CODE = """
import json, sys
for name in ("pandas", "matplotlib", "h5py"):
    sys.modules[name] = None  # any import of them raises ImportError
import numpy as np
import skmemo
loaded = sorted(m for m in sys.modules if m.startswith("skmemo"))
rng = np.random.RandomState(0)
X = {"text": rng.randn(16, 5, 50).astype("float32"),
     "audio": rng.randn(16, 5, 4).astype("float32")}
Y = (rng.rand(16, 2) < 0.5).astype("float32")
clf = skmemo.MultimodalEmotionClassifier(["happy", "sad"], max_epochs=1,
                                         validation_fraction=0, device="cpu").fit(X, Y)
proba = clf.predict_proba(X)
print(json.dumps({"loaded": loaded, "shape": list(proba.shape)}))
"""


def _run(code):
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_fit_predict_without_pandas_matplotlib_h5py():
    result = _run(CODE)
    assert result["shape"] == [16, 2]
    assert "skmemo.plotting" not in result["loaded"]
    assert "skmemo.datasets" not in result["loaded"]

