"""GridSearchCV on a Dask LocalCluster against one process, side by side.

A grid of ``lr`` × audio/visual hidden size (4 candidates) × 2 folds = 8 fits
of a small skmemo model on ``make_emotion_dataset``; once with ``n_jobs=1`` in
this process, once through joblib's ``"dask"`` backend on a ``LocalCluster``
of ``--workers`` single-threaded worker processes (the cluster's start and the
workers' first import of torch and skmemo are timed apart).
Dask runs twice: with its default worker environment, which sets
``MALLOC_TRIM_THRESHOLD_=65536`` (glibc then returns freed memory to the system
at once, and torch's large temporary tensors are mapped afresh every time), and
with that variable left unset. Runs are interleaved, best of ``--repeats``; the
cross-validation scores must agree.

    pip install "dask[distributed]"
    python benchmarks/dask_grid.py --workers 2
    python benchmarks/dask_grid.py --quick   # 200 samples, one repeat
"""

import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch: workers inherit it

import joblib  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from _common import make_parser  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold  # noqa: E402

from skmemo import MultimodalEmotionClassifier  # noqa: E402
from skmemo.datasets import make_emotion_dataset  # noqa: E402
from skmemo.metrics import weighted_accuracy_scorer  # noqa: E402


def search(n_jobs=None):
    clf = MultimodalEmotionClassifier(["anger", "happy", "sad"], max_epochs=3,
                                      validation_fraction=0, random_state=0, device="cpu")
    grid = {"lr": [1e-3, 3e-3], "hidden_sizes": [{"audio": 16, "visual": 16},
                                                 {"audio": 32, "visual": 32}]}
    return GridSearchCV(clf, grid, cv=KFold(2), scoring=weighted_accuracy_scorer,
                        n_jobs=n_jobs, error_score="raise")


def _warm_up():
    import skmemo  # noqa: F401

    torch.set_num_threads(1)


def main(argv=None):
    parser = make_parser(__doc__, seeds=None, threads=None, quick={"n": 200, "repeats": 1})
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--n", type=int, default=800)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        print('dask.distributed is not installed (pip install "dask[distributed]"): '
              "benchmark skipped.")
        return 0

    torch.set_num_threads(1)
    X, Y = make_emotion_dataset(args.n, emotions=["anger", "happy", "sad"], seq_len=20,
                                random_state=0)
    import dask

    runs = {"n_jobs=1": [], "dask": [], "dask, no malloc trim": []}
    starts = {k: [] for k in runs}
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        ref = search().fit(X, Y)
        runs["n_jobs=1"].append(time.perf_counter() - t0)
        for key in ("dask", "dask, no malloc trim"):
            # Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536; None leaves it unset
            trim = {} if key == "dask" else {
                "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
            t0 = time.perf_counter()
            with dask.config.set(trim), LocalCluster(
                    n_workers=args.workers, threads_per_worker=1,
                    dashboard_address=None) as cluster, Client(cluster) as client:
                client.run(_warm_up)  # workers import torch and skmemo before the clock
                starts[key].append(time.perf_counter() - t0)
                t1 = time.perf_counter()
                with joblib.parallel_backend("dask"):
                    par = search().fit(X, Y)
                runs[key].append(time.perf_counter() - t1)
            np.testing.assert_allclose(par.cv_results_["mean_test_score"],
                                       ref.cv_results_["mean_test_score"], atol=1e-6)
        print("; ".join(f"{k} {v[-1]:.1f} s" for k, v in runs.items()), flush=True)
    best = {k: min(v) for k, v in runs.items()}
    print(f"{time.strftime('%Y-%m-%d %H:%M')}: 8 fits, {args.n} samples, {args.workers} "
          f"workers; best of {args.repeats}: " + ", ".join(
              f"{k} {v:.1f} s" for k, v in best.items()) + "; CV scores equal")
    for key in ("dask", "dask, no malloc trim"):
        print(f"  {key}: {best['n_jobs=1'] / best[key]:.2f}x n_jobs=1 "
              f"(cluster start + worker imports {min(starts[key]):.1f} s more)")

if __name__ == "__main__":
    main()
