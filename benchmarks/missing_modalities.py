"""Robustness to missing modalities (MultiBench-style), synthetic data and CMU-MOSI.

Each modality in turn is removed from 0 / 25 / 50 / 75% of the test samples
(the same samples for every model, drawn per seed, modality and rate), and
three ways of handling it are compared:

- ``zeros``: the behaviour before absent modalities existed. The model is
  trained on complete data; a missing modality is given as an all-zero
  sample, which the model reads as one zero time step whose score enters the
  fusion with its full weight;
- ``absent``: the same fitted model; the missing modality is marked absent
  (length 0 in ``<modality>_lengths``, here with
  :func:`skmemo.data.mark_absent`), so the model skips it for that sample and
  fuses the modalities that are present;
- ``dropout``: a model trained with ``modality_dropout`` (each modality of
  each training sample dropped with probability ``--dropout``), tested with
  absent modalities as above.

Reported, mean and standard deviation over seeds:

- synthetic data (``make_emotion_dataset``, six emotions): macro ROC AUC and
  mean weighted accuracy (threshold 0.5) over the emotions;
- CMU-MOSI utterance features (binary sentiment, read as in
  ``benchmarks/mosi.py``): accuracy of the argmax decision and ROC AUC;
- zero-shot on the synthetic data: each emotion in turn is held out of
  training (``hold_out_emotion``), added back from its word vector
  (``add_emotions``) and scored on the whole test split; AUC of the held-out
  emotion, averaged over the emotions within each seed (the standard
  deviation is over seeds).

Run (1 thread)::

    python benchmarks/missing_modalities.py --seeds 0 1 2 \\
        --plot docs/_static/missing_modalities.png
    python benchmarks/missing_modalities.py --quick   # seed 0, 400 samples, 2 epochs

``--no-mosi`` skips CMU-MOSI; without its files (``../shared/datasets/
cmu-mosi-utterance`` relative to the repository root, or ``--mosi DIR``) it is
skipped with a message. ``--json FILE`` saves the per-seed results;
``--from-json FILE`` prints the tables and draws the figure from such a file
without training.
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
from _common import evaluate, held_out_last, make_parser, synthetic_split
from mosi import DEFAULT_DATA, have_mosi, load_mosi, standardise

from skmemo import MultimodalData, MultimodalEmotionClassifier
from skmemo.data import mark_absent
from skmemo.model_selection import hold_out_emotion

EMOTIONS = ["anger", "disgust", "fear", "happy", "sad", "surprise"]
MODALITIES = ("text", "audio", "visual")
RATES = (0.0, 0.25, 0.5, 0.75)
METHODS = ("zeros", "absent", "dropout")


def remove(X, modality, rate, seed, how):
    """``X`` with ``modality`` missing for ``rate`` of the samples.

    ``how="zeros"``: the samples' features are zeros (no lengths: read from
    the padding, one zero step). ``how="absent"``: the same samples marked
    absent with ``mark_absent(marker="zero")``.
    """
    n = len(X)
    rng = np.random.default_rng([seed, MODALITIES.index(modality), int(100 * rate)])
    chosen = rng.permutation(n)[:int(round(rate * n))]
    arrays = {m: np.array(X[m], dtype=np.float32) for m in X.modalities}
    arrays[modality][chosen] = 0
    X_out = MultimodalData(**arrays)
    return mark_absent(X_out, marker="zero") if how == "absent" else X_out


def robustness(models, X_test, evaluate, seed):
    """{modality: {rate: {method: metrics}}} for one seed."""
    out = {}
    for m in MODALITIES:
        out[m] = {}
        for rate in RATES:
            zeros = remove(X_test, m, rate, seed, "zeros")
            absent = remove(X_test, m, rate, seed, "absent")
            out[m][rate] = {
                "zeros": evaluate(models["complete"], zeros),
                "absent": evaluate(models["complete"], absent),
                "dropout": evaluate(models["dropout"], absent),
            }
    return out


def synthetic_metrics(Y):
    def metrics(clf, X):
        s = evaluate(clf, X, Y)
        return {"AUC": s["mean_auc"], "W-Acc": s["mean_wacc"]}
    return metrics


def mosi_metrics(y):
    Y = np.stack([y, 1 - y], axis=1)

    def metrics(clf, X):  # the argmax decision; AUC of P(positive)
        s = evaluate(clf, X, Y, decision="argmax")
        return {"acc": float(s["accuracy"][0]), "AUC": float(s["auc"][0])}
    return metrics


def zero_shot_metrics(Y, column):
    Y = held_out_last(Y, column)  # the seen emotions in order, then the added one

    def metrics(clf, X):
        return {"AUC": evaluate(clf, X, Y, new=Y.shape[1] - 1)["new_auc"]}
    return metrics


def synthetic_estimator(args, seed, dropout, emotions=EMOTIONS):
    return MultimodalEmotionClassifier(
        list(emotions), hidden_sizes={"audio": 32, "visual": 32}, num_layers=1,
        max_epochs=args.epochs, batch_size=64, random_state=seed, device="cpu",
        modality_dropout=dropout)


def run_synthetic(args):
    per_seed, zero_shot = [], []
    for seed in args.seeds:
        X_tr, X_te, Y_tr, Y_te = synthetic_split(args.n_samples, seq_len=args.seq_len,
                                                 seed=seed)
        start = time.perf_counter()
        models = {"complete": synthetic_estimator(args, seed, None).fit(X_tr, Y_tr),
                  "dropout": synthetic_estimator(args, seed, args.dropout).fit(X_tr, Y_tr)}
        per_seed.append(robustness(models, X_te, synthetic_metrics(Y_te), seed))
        print(f"synthetic seed {seed}: {time.perf_counter() - start:.0f} s", flush=True)
        per_emotion = []
        for held in args.zero_shot:
            X_seen, Y_seen, seen, column = hold_out_emotion(X_tr, Y_tr, held,
                                                            emotions=EMOTIONS)
            models = {}
            for name, dropout in (("complete", None), ("dropout", args.dropout)):
                clf = synthetic_estimator(args, seed, dropout, seen).fit(X_seen, Y_seen)
                models[name] = clf.add_emotions([held])
            per_emotion.append(
                robustness(models, X_te, zero_shot_metrics(Y_te, column), seed))
            print(f"  zero-shot {held}: done", flush=True)
        if per_emotion:
            zero_shot.append(per_emotion)
    return per_seed, zero_shot


def run_mosi(args):
    folder = args.mosi.resolve()
    if not have_mosi(folder, option="--mosi"):
        return None
    X_train, y_train, X_test, y_test = standardise(load_mosi(folder))
    X_train, X_test = MultimodalData(**X_train), MultimodalData(**X_test)
    Y_train = np.stack([y_train, 1 - y_train], axis=1)
    per_seed = []
    for seed in args.seeds:
        start = time.perf_counter()
        models = {}
        for name, dropout in (("complete", None), ("dropout", args.dropout)):
            models[name] = MultimodalEmotionClassifier(
                ["positive", "negative"],
                hidden_sizes={"text": 100, "audio": 64, "visual": 64}, lr=1e-3,
                batch_size=64, max_epochs=args.mosi_epochs, validation_fraction=0.1,
                early_stopping_patience=8, random_state=seed, device="cpu",
                modality_dropout=dropout).fit(X_train, Y_train)
        per_seed.append(robustness(models, X_test, mosi_metrics(y_test), seed))
        print(f"CMU-MOSI seed {seed}: {time.perf_counter() - start:.0f} s", flush=True)
    return per_seed


def _value(run, m, rate, method, metric):
    """One seed's figure; a list of runs (zero-shot emotions) is averaged."""
    if isinstance(run, list):
        return float(np.mean([_value(r, m, rate, method, metric) for r in run]))
    return run[m][rate][method][metric]


def summarise(per_seed, metric):
    """{modality: {rate: {method: (mean, std over seeds)}}} of ``metric`` (in %)."""
    out = {}
    for m in MODALITIES:
        out[m] = {}
        for rate in RATES:
            out[m][rate] = {}
            for method in METHODS:
                values = 100 * np.array([_value(run, m, rate, method, metric)
                                         for run in per_seed])
                out[m][rate][method] = (float(values.mean()), float(values.std()))
    return out


def table(title, summary):
    lines = [f"\n{title}\n", "| missing | rate | " + " | ".join(METHODS) + " |",
             "|---|---|" + "---|" * len(METHODS)]
    for m in MODALITIES:
        for rate in RATES:
            if rate == 0 and m != MODALITIES[0]:
                continue
            label = "none" if rate == 0 else m
            cells = [f"{mu:.1f} ± {sd:.1f}" for mu, sd in
                     (summary[m][rate][method] for method in METHODS)]
            lines.append(f"| {label} | {int(100 * rate)}% | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(panels, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(panels), 3, figsize=(10, 3 * len(panels)), squeeze=False,
                             sharey="row")
    styles = {"zeros": ("tab:red", "o"), "absent": ("tab:blue", "s"),
              "dropout": ("tab:green", "^")}
    for row, (name, summary) in zip(axes, panels):
        for ax, m in zip(row, MODALITIES):
            for method in METHODS:
                mu = np.array([summary[m][r][method][0] for r in RATES])
                sd = np.array([summary[m][r][method][1] for r in RATES])
                color, marker = styles[method]
                x = 100 * np.array(RATES)
                ax.plot(x, mu, marker=marker, color=color, label=method)
                ax.fill_between(x, mu - sd, mu + sd, color=color, alpha=0.15)
            ax.set_title(f"{name}: {m} missing", fontsize=9)
            ax.set_xticks(100 * np.array(RATES))
            ax.set_xlabel("% of test samples")
            ax.grid(alpha=0.3)
        row[0].set_ylabel(name.split("(")[-1].rstrip(")"))
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"plot written to {path}")


def _rates_as_floats(value):
    """JSON turned the rate keys into strings: turn them back."""
    if isinstance(value, list):
        return [_rates_as_floats(v) for v in value]
    if not isinstance(value, dict):
        return value
    return {(float(k) if k.replace(".", "", 1).isdigit() else k): _rates_as_floats(v)
            for k, v in value.items()}


def main(argv=None):
    parser = make_parser(__doc__, quick={
        "seeds": [0], "n_samples": 400, "epochs": 2, "mosi_epochs": 2,
        "zero_shot": ["surprise"]})
    parser.add_argument("--n-samples", type=int, default=2000)
    parser.add_argument("--seq-len", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--mosi-epochs", type=int, default=60)
    parser.add_argument("--dropout", type=float, default=0.3,
                        help="modality_dropout of the 'dropout' model")
    parser.add_argument("--zero-shot", nargs="*", default=EMOTIONS, choices=EMOTIONS,
                        help="emotions held out in turn for the zero-shot part")
    parser.add_argument("--mosi", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--no-mosi", action="store_true")
    parser.add_argument("--json", type=Path, help="write the per-seed results here")
    parser.add_argument("--plot", type=Path, help="write the figure here")
    parser.add_argument("--from-json", type=Path,
                        help="report the results saved with --json, without training")
    args = parser.parse_args(argv)

    if args.from_json:
        saved = _rates_as_floats(json.loads(args.from_json.read_text()))
        synthetic, zero_shot, mosi = saved["synthetic"], saved["zero_shot"], saved["mosi"]
    else:
        start = time.perf_counter()
        synthetic, zero_shot = run_synthetic(args)
        mosi = None if args.no_mosi else run_mosi(args)
        print(f"\ntotal {time.perf_counter() - start:.0f} s; seeds {args.seeds}, "
              f"modality_dropout {args.dropout}")

    panels = [("synthetic (AUC)", summarise(synthetic, "AUC"))]
    print(table("Synthetic, macro AUC (%)", panels[0][1]))
    print(table("Synthetic, mean weighted accuracy (%)", summarise(synthetic, "W-Acc")))
    if zero_shot:
        panels.append(("zero-shot synthetic (AUC)", summarise(zero_shot, "AUC")))
        print(table(f"Zero-shot (held out in turn: {', '.join(args.zero_shot)}), "
                    "AUC of the held-out emotion (%)", panels[-1][1]))
    if mosi:
        panels.append(("CMU-MOSI (accuracy)", summarise(mosi, "acc")))
        print(table("CMU-MOSI, accuracy (%)", panels[-1][1]))
        print(table("CMU-MOSI, AUC (%)", summarise(mosi, "AUC")))
    if args.json:
        args.json.write_text(json.dumps(
            {"synthetic": synthetic, "zero_shot": zero_shot, "mosi": mosi}, indent=1))
    if args.plot:
        plot(panels, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
