"""Zero-shot benchmark: skmemo against the EF-LSTM and LF-LSTM baselines.

The protocol of Dai et al. (AACL 2020, section 4.1), run on the embedded
synthetic data: each emotion in turn is held out of training (every sample
positive for it removed), the model is trained on the other five, the emotion is
added back (skmemo: from its word vector; baselines: a freshly initialised
output row, as in the paper), and the whole test split is scored from every
subset of modalities (paper Table 5 shape). Several seeds; each seed draws its
own data set, split and initialisation.

Also recorded, from the same fitted skmemo models (no extra training):

- the zero-shot AUC of other word forms of the held-out emotion (what
  :func:`skmemo.model_selection.select_word_forms` measures), next to each
  form's cosine similarity to the plain word the synthetic data were made from;
- Spearman's correlation between the pairwise emotion distances in the text
  space and in the mapped audio / visual spaces (paper Figure 3).

Run (results are cached per fit in ``--cache``, so an interrupted run resumes)::

    python benchmarks/zero_shot.py --seeds 0 1 2 --n-samples 3000 --epochs 10
    python benchmarks/zero_shot.py --quick   # seed 0, 400 samples, 1 epoch

``--quick`` starts from an empty cache and writes it to
``benchmarks/out/zero_shot_quick.json``, never into the full run's cache.

``--mosi DIR`` also checks whether the protocol applies to the CMU-MOSI
utterance features (binary sentiment).
"""

import json
import os
import time
from pathlib import Path

import numpy as np
from _common import OUT, Timer, have_files, make_parser, mean_std, synthetic_split
from sklearn.model_selection import train_test_split

from skmemo import MultimodalEmotionClassifier
from skmemo.baselines import EarlyFusionLSTMClassifier, LateFusionLSTMClassifier
from skmemo.inspection import emotion_distances
from skmemo.metrics import emotion_roc_auc_score
from skmemo.model_selection import (
    hold_out_emotion,
    select_word_forms,
    zero_shot_evaluation,
)
from skmemo.vectors import emotion_vectors

EMOTIONS = ["anger", "disgust", "fear", "happy", "sad", "surprise"]
FORMS = {
    "anger": ["angry", "rage", "anger|angry"],
    "disgust": ["disgusted", "disgusting", "disgust|disgusted"],
    "fear": ["afraid", "scared", "fear|afraid"],
    "happy": ["happiness", "joy", "happy|happiness"],
    "sad": ["sadness", "unhappy", "sad|sadness"],
    "surprise": ["surprised", "surprising", "surprise|surprised"],
}
SUBSETS = ["T", "A", "V", "TA", "TV", "AV", "TAV"]
MODELS = ["skmemo", "EF-LSTM", "LF-LSTM"]


def make_estimator(name, args, seed):
    common = dict(max_epochs=args.epochs, num_layers=args.layers, batch_size=64,
                  random_state=seed, device="cpu")
    h = args.hidden
    if name == "skmemo":  # text hidden = word dimension (50), as in the paper
        return MultimodalEmotionClassifier(hidden_sizes={"audio": h, "visual": h}, **common)
    if name == "EF-LSTM":
        return EarlyFusionLSTMClassifier(hidden_size=2 * h, **common)
    if name == "LF-LSTM":
        return LateFusionLSTMClassifier(hidden_sizes={"text": 50, "audio": h, "visual": h},
                                        **common)
    raise ValueError(name)


def run_one(name, seed, held, data, args):
    X_tr, X_te, Y_tr, Y_te = data
    est = make_estimator(name, args, seed)
    with Timer() as t:
        res = zero_shot_evaluation(est, X_tr, Y_tr, X_te, Y_te, emotions=EMOTIONS,
                                   held_out=held, modality_subsets=SUBSETS,
                                   return_estimators=True)
    fitted = res.pop("estimator")[0]
    record = {"rows": res, "seconds": t.wall, "epochs": len(fitted.history_)}
    if name == "skmemo":
        d = emotion_distances(fitted)
        record["rank_correlation"] = {m: d.rank_correlation[m] for m in ("audio", "visual")}
        forms = FORMS[held]
        fitted.add_emotions(forms)
        proba = fitted.predict_proba(X_te)
        y = Y_te[:, [EMOTIONS.index(held)]]
        k0 = len(EMOTIONS)  # columns: 5 seen, the plain word, then the forms
        record["forms"] = {
            form: emotion_roc_auc_score(y, proba[:, [k0 + j]])
            for j, form in enumerate(forms)
        }
        record["forms"][held] = emotion_roc_auc_score(y, proba[:, [k0 - 1]])
    else:
        # the paper's single fresh row is one draw: score many more draws on the
        # same fitted model (the vectors are ignored by the baselines)
        d = fitted.emotion_vectors_.shape[1]
        fitted.add_emotions({f"random row {i}": np.zeros(d, np.float32)
                             for i in range(args.random_rows)})
        proba = fitted.predict_proba(X_te)[:, len(EMOTIONS):]
        y = Y_te[:, EMOTIONS.index(held)]
        record["random_rows"] = [emotion_roc_auc_score(y[:, None], proba[:, [j]])
                                 for j in range(proba.shape[1])]
    return record


def cell(cache, model, seeds, held, subset, metric):
    out = []
    for seed in seeds:
        rec = cache[f"{model}|{seed}|{held}"]["rows"]
        i = rec["modalities"].index(subset)
        out.append(rec[metric][i])
    return out


def report(cache, seeds):
    lines = []
    add = lines.append
    add(f"Seeds: {seeds}; cells are mean ± sample standard deviation over seeds.\n")

    add("### Zero-shot AUC of the held-out emotion, all modalities (TAV)\n")
    add("| model | " + " | ".join(EMOTIONS) + " | mean |")
    add("|---" * (len(EMOTIONS) + 2) + "|")
    for model in MODELS:
        per = [cell(cache, model, seeds, h, "TAV", "unseen_auc") for h in EMOTIONS]
        means = np.mean(per, axis=0)  # per seed, mean over emotions
        add(f"| {model} | " + " | ".join(mean_std(v) for v in per) + f" | {mean_std(means)} |")

    add("\n### Means over the six held-out emotions (TAV)\n")
    add("| model | unseen AUC | unseen W-Acc | unseen F1 | seen AUC | seen W-Acc |"
        " s / fit |")
    add("|---|---|---|---|---|---|---|")
    for model in MODELS:
        parts = []
        for metric in ("unseen_auc", "unseen_wacc", "unseen_f1", "seen_auc", "seen_wacc"):
            per = [cell(cache, model, seeds, h, "TAV", metric) for h in EMOTIONS]
            parts.append(mean_std(np.mean(per, axis=0)))
        secs = [cache[f"{model}|{s}|{h}"]["seconds"] for s in seeds for h in EMOTIONS]
        add(f"| {model} | " + " | ".join(parts) + f" | {np.mean(secs):.0f} |")

    add("\n### Baselines: zero-shot AUC of many fresh rows on the same fitted models "
        "(TAV)\n")
    add("A fresh row is a random direction in the baseline's representation space; the "
        "paper's protocol scores one draw. Per fitted model, "
        f"{len(cache[f'EF-LSTM|{seeds[0]}|anger']['random_rows'])} more draws were scored."
        " Mean and standard deviation over all draws of all seeds; last column: share of "
        "draws whose AUC exceeds skmemo's zero-shot AUC on the same seed and emotion.\n")
    add("| model | " + " | ".join(EMOTIONS) + " | all | share above skmemo |")
    add("|---" * (len(EMOTIONS) + 3) + "|")
    for model in MODELS[1:]:
        row, above, total = [], 0, 0
        pooled = []
        for h in EMOTIONS:
            draws = []
            for s in seeds:
                rr = np.asarray(cache[f"{model}|{s}|{h}"]["random_rows"])
                ours = cell(cache, "skmemo", [s], h, "TAV", "unseen_auc")[0]
                above += int((rr > ours).sum())
                total += len(rr)
                draws.extend(rr.tolist())
            pooled.extend(draws)
            row.append(f"{np.mean(draws):.3f} ± {np.std(draws):.3f}")
        add(f"| {model} | " + " | ".join(row)
            + f" | {np.mean(pooled):.3f} ± {np.std(pooled):.3f} | {above / total:.3f} |")

    add("\n### skmemo zero-shot AUC per modality subset at inference (paper Table 5 shape)\n")
    add("| modalities | " + " | ".join(EMOTIONS) + " | mean |")
    add("|---" * (len(EMOTIONS) + 2) + "|")
    for subset in SUBSETS:
        per = [cell(cache, "skmemo", seeds, h, subset, "unseen_auc") for h in EMOTIONS]
        add(f"| {subset} | " + " | ".join(mean_std(v) for v in per)
            + f" | {mean_std(np.mean(per, axis=0))} |")

    add("\n### Mean zero-shot AUC over the six emotions, per subset and model\n")
    add("| modalities | " + " | ".join(MODELS) + " |")
    add("|---" * (len(MODELS) + 1) + "|")
    for subset in SUBSETS:
        row = []
        for model in MODELS:
            per = [cell(cache, model, seeds, h, subset, "unseen_auc") for h in EMOTIONS]
            row.append(mean_std(np.mean(per, axis=0)))
        add(f"| {subset} | " + " | ".join(row) + " |")

    add("\n### Word forms: skmemo zero-shot AUC (TAV) of each form of the held-out "
        "emotion\n")
    add("Same fitted models; the synthetic labels were generated from the plain word.\n")
    add("| emotion | form | cosine to plain word | zero-shot AUC |")
    add("|---|---|---|---|")
    for held in EMOTIONS:
        forms = [held] + FORMS[held]
        vecs = emotion_vectors(forms)
        cos = vecs @ vecs[0] / (np.linalg.norm(vecs, axis=1) * np.linalg.norm(vecs[0]))
        for form, c in zip(forms, cos):
            aucs = [cache[f"skmemo|{s}|{held}"]["forms"][form] for s in seeds]
            add(f"| {held} | {form} | {c:.2f} | {mean_std(aucs)} |")

    add("\n### Emotion distances: Spearman correlation with the text space "
        "(paper Figure 3)\n")
    add("| space | rank correlation |")
    add("|---|---|")
    for m in ("audio", "visual"):
        vals = [cache[f"skmemo|{s}|{h}"]["rank_correlation"][m]
                for s in seeds for h in EMOTIONS]
        add(f"| {m} | {mean_std(vals)} (over {len(vals)} fitted models) |")
    return "\n".join(lines)


def supervised_forms(args, seed=0):
    """select_word_forms(method="supervised") for two emotions: validation AUC per form."""
    X_tr, _, Y_tr, _ = synthetic_split(args.n_samples, seq_len=args.seq_len, seed=seed,
                                       test_size=0.25, emotions=EMOTIONS)
    X_fit, X_val, Y_fit, Y_val = train_test_split(X_tr, Y_tr, test_size=0.2,
                                                  random_state=seed)
    candidates = {e: [e] + FORMS[e] for e in args.supervised_forms}
    lines = ["| emotion | form | supervised validation AUC | zero-shot validation AUC |",
             "|---|---|---|---|"]
    found = {}
    for method in ("supervised", "zero_shot"):
        with Timer() as t:
            found[method] = select_word_forms(
                make_estimator("skmemo", args, seed), X_fit, Y_fit, X_val, Y_val,
                emotions=EMOTIONS, candidates=candidates, method=method, verbose=1)
        print(f"[forms] {method}: {t.wall:.0f} s", flush=True)
    for e, forms in candidates.items():
        for f in forms:
            lines.append(f"| {e} | {f} | {found['supervised'].scores[e][f]:.3f} | "
                         f"{found['zero_shot'].scores[e][f]:.3f} |")
    lines.append("")
    for method, res in found.items():
        lines.append(f"Selected ({method}): {res.best_forms}")
    print("\n".join(lines))


def check_mosi(directory):
    """Does the zero-shot protocol apply to binary sentiment? Print why not."""
    import pandas as pd

    path = Path(directory) / "text_text_train0.csv"
    if not have_files(directory, [path.name], "[mosi] CMU-MOSI utterance", option="--mosi"):
        return
    labels = pd.read_csv(path, header=None).iloc[:, -1].to_numpy().astype(int)
    Y = np.stack([labels, 1 - labels], axis=1)  # columns positive, negative
    X = {"text": np.ones((len(Y), 1, 1), np.float32)}  # features play no role here
    for held in ("negative", "positive"):
        _, Y_seen, seen, _ = hold_out_emotion(X, Y, held, emotions=["positive", "negative"])
        values, counts = np.unique(Y_seen, return_counts=True)
        print(f"[mosi] hold out {held!r}: {len(Y_seen)} training samples remain; their "
              f"{seen} labels take the values {dict(zip(values.tolist(), counts.tolist()))}"
              " -> one class only, nothing to learn")


def main(argv=None):
    parser = make_parser(__doc__, cache=Path("zero_shot_cache.json"), quick={
        "seeds": [0], "n_samples": 400, "epochs": 1, "random_rows": 5,
        "cache": OUT / "zero_shot_quick.json"})
    parser.add_argument("--n-samples", type=int, default=3000)
    parser.add_argument("--seq-len", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    parser.add_argument("--random-rows", type=int, default=50,
                        help="extra fresh output rows scored per fitted baseline")
    parser.add_argument("--mosi", default=None, help="folder of the CMU-MOSI CSV files")
    parser.add_argument("--supervised-forms", nargs="*", default=None, choices=EMOTIONS,
                        help="only run select_word_forms (both methods) for these emotions")
    args = parser.parse_args(argv)
    if args.supervised_forms:
        supervised_forms(args, seed=args.seeds[0])
        return

    if args.mosi:
        check_mosi(args.mosi)
    cache = json.loads(Path(args.cache).read_text()) if os.path.exists(args.cache) else {}
    if args.quick:  # every quick run fits afresh
        cache = {}
        args.cache.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for seed in args.seeds:
        data = synthetic_split(args.n_samples, seq_len=args.seq_len, seed=seed,
                               test_size=0.25, emotions=EMOTIONS)
        for held in EMOTIONS:
            for model in args.models:
                key = f"{model}|{seed}|{held}"
                if key in cache and (model == "skmemo" or "random_rows" in cache[key]):
                    continue
                record = run_one(model, seed, held, data, args)
                cache[key] = record
                Path(args.cache).write_text(json.dumps(cache))
                i = record["rows"]["modalities"].index("TAV")
                print(f"[{time.perf_counter() - start:7.0f} s] seed {seed} {held:<8} "
                      f"{model:<8} unseen AUC {record['rows']['unseen_auc'][i]:.3f} "
                      f"seen AUC {record['rows']['seen_auc'][i]:.3f} "
                      f"({record['seconds']:.0f} s, {record['epochs']} epochs)", flush=True)
    if all(f"{m}|{s}|{h}" in cache for m in MODELS for s in args.seeds for h in EMOTIONS):
        print()
        print(report(cache, args.seeds))


if __name__ == "__main__":
    main()
