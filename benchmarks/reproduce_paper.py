"""Reproduce Tables 1, 2, 4 and 6 of Dai et al. (AACL 2020) from the real corpora.

The corpora cannot be shipped with skmemo. Given the files, this script runs
the paper's settings and prints its numbers beside ours; without them it
prints what it needs, the settings and the commands, and the paper's numbers
with empty slots for ours.

Needed files:

- ``--mosei DIR``: the reference code's processed CMU-MOSEI folder
  (``text_{split}_emb.h5``, ``audio_{split}.h5``, ``video_{split}.h5``,
  ``ey_{split}.h5``; see :func:`skmemo.datasets.load_legacy_mosei`), for
  Tables 1, 4 and 6;
- ``--iemocap FILE --allow-pickle``: MulT's ``iemocap_data.pkl`` (a pickle:
  read only with ``--allow-pickle``), for Table 2;
- ``--word-vectors FILE``: ``glove.840B.300d.txt``, the paper's emotion
  embeddings (300-d, equal to the text hidden size, so no projection). Without
  it the bundled 50-d GloVe subset is used and a projection is added: a
  deviation, reported in the output.

Settings (paper Table 3 and section 5.5): bidirectional LSTM, 2 layers,
hidden sizes 300 / 200 / 100 (text / audio / visual), dropout 0.15,
Adam, ReduceLROnPlateau(factor 0.1, patience 5) on the validation loss, early
stopping after 8 epochs without improvement of the mean validation weighted
accuracy (best epoch restored), threshold 0.5, seed 0. CMU-MOSEI: batch 512, lr
1e-4, gradient clip 10. IEMOCAP: batch 32, lr 1e-3, clip 1. At most 100
epochs (the reference README's ``-ep=100``). The official validation split is
used for early stopping (skorch ``predefined_split``). Emotion words: the plain
names (``anger disgust fear happy sad surprise``; ``neutral happy sad angry``);
the paper picked the best of several word forms per emotion, see
:func:`skmemo.model_selection.select_word_forms`.

Table 4 (zero-shot, then 1% few-shot) uses
:func:`skmemo.model_selection.zero_shot_evaluation`: every training sample
positive for the held-out emotion is removed, early stopping uses 10% of the
remaining training data (the official validation split still holds the
held-out positives), the emotion is added from its word vector and the whole
test split is scored. Few-shot: 1% of the held-out emotion's training positives
plus as many negatives (:func:`skmemo.continual.few_shot_split`), then FT
(``partial_fit`` on them), JT (``partial_fit`` on the remaining training data
plus them, :func:`skmemo.continual.joint_training_set`) or CL (``partial_fit_gem``
on them), each from a copy of the zero-shot model.

Commands::

    python benchmarks/reproduce_paper.py                      # what is needed
    python benchmarks/reproduce_paper.py --mosei data/cmu-mosei \\
        --word-vectors glove.840B.300d.txt --tables 1 4 6
    python benchmarks/reproduce_paper.py --iemocap data/iemocap/iemocap_data.pkl \\
        --allow-pickle --word-vectors glove.840B.300d.txt --tables 2
    python benchmarks/reproduce_paper.py --mosei data/cmu-mosei --quick   # 2 epochs
"""

import copy
import json
import sys
from pathlib import Path

import numpy as np
from _common import evaluate, make_parser, markdown_table

MOSEI = ["anger", "disgust", "fear", "happy", "sad", "surprise"]
IEMOCAP = ["neutral", "happy", "sad", "angry"]
SUBSETS = {"T+A+V": ("text", "audio", "visual"), "T+A": ("text", "audio"),
           "T+V": ("text", "visual"), "A+V": ("audio", "visual"), "Only T": ("text",),
           "Only A": ("audio",), "Only V": ("visual",)}
ZERO_SHOT = ["anger", "disgust", "fear", "surprise"]

# the paper's numbers (percent)
PAPER_T1 = {"anger": (67.0, 71.7), "disgust": (72.5, 78.3), "fear": (65.4, 71.6),
            "happy": (67.9, 73.9), "sad": (62.6, 66.7), "surprise": (62.1, 66.4),
            "average": (66.2, 71.4)}  # W-Acc, AUC
PAPER_T2 = {"happy": (85.0, 74.2), "sad": (86.6, 88.4), "angry": (88.1, 93.2),
            "neutral": (71.1, 76.7)}  # Acc, AUC
PAPER_T4 = {  # setting -> held-out -> (unseen W-Acc, AUC, all-emotion W-Acc, AUC)
    "zero-shot": {"anger": (55.9, 61.6, 65.6, 70.6), "disgust": (67.5, 72.7, 64.4, 69.3),
                  "fear": (41.8, 40.6, 65.9, 70.9), "surprise": (53.4, 55.5, 67.2, 71.4)},
    "FT": {"anger": (58.9, 61.9, 64.4, 69.8), "disgust": (67.9, 71.5, 63.7, 68.5),
           "fear": (43.1, 43.1, 65.4, 70.7), "surprise": (51.8, 53.9, 65.1, 71.4)},
    "CL": {"anger": (58.9, 61.5, 64.6, 69.8), "disgust": (68.7, 72.8, 63.8, 68.9),
           "fear": (42.6, 42.7, 65.6, 70.9), "surprise": (50.6, 52.5, 65.5, 71.5)},
    "JT": {"anger": (59.0, 61.1, 64.3, 69.3), "disgust": (69.2, 74.2, 63.5, 68.8),
           "fear": (41.9, 41.7, 65.9, 70.8), "surprise": (55.2, 58.1, 66.1, 71.5)},
}
PAPER_T6 = {"T+A+V": (67.0, 72.5, 65.4, 67.9, 62.6, 62.1),
            "T+A": (65.0, 71.9, 64.8, 66.0, 63.0, 59.9),
            "T+V": (64.9, 71.2, 66.7, 67.6, 61.0, 60.4),
            "A+V": (63.8, 71.1, 65.5, 64.5, 61.3, 55.2),
            "Only T": (61.5, 69.0, 64.3, 64.2, 59.7, 61.2),
            "Only A": (61.9, 71.5, 66.9, 62.7, 61.0, 54.8),
            "Only V": (63.4, 69.7, 63.2, 63.2, 58.5, 53.3)}  # W-Acc per MOSEI emotion


def settings(dataset, args):
    common = dict(rnn="lstm", num_layers=2, dropout=0.15, threshold=0.5,
                  class_weight="balanced", hidden_sizes={"text": 300, "audio": 200, "visual": 100},
                  early_stopping_patience=8, lr_patience=5, max_epochs=args.max_epochs,
                  random_state=args.seed, device=args.device, word_vectors=args.word_vectors)
    if dataset == "mosei":
        return common | dict(batch_size=512, lr=1e-4, gradient_clip=10.0)
    return common | dict(batch_size=32, lr=1e-3, gradient_clip=1.0)


def _fmt(value):
    return "—" if value is None or not np.isfinite(value) else f"{value:.1f}"


def fit_with_valid(emotions, params, X_train, Y_train, X_valid, Y_valid):
    from skorch.helper import predefined_split

    from skmemo import MultimodalEmotionClassifier
    from skmemo.classifier import MultimodalDataset

    valid = MultimodalDataset(X_valid, np.asarray(Y_valid, dtype=np.float32))
    clf = MultimodalEmotionClassifier(emotions, train_split=predefined_split(valid), **params)
    return clf.fit(X_train, Y_train)


def _select(X, modalities):
    from skmemo import MultimodalData

    return MultimodalData(**{m: X[m] for m in modalities})


def per_emotion(clf, X, Y, accuracy=False):
    """Per-emotion W-Acc (``accuracy=True``: accuracy) and AUC, in percent."""
    s = evaluate(clf, X, Y)
    first = s["accuracy"] if accuracy else s["wacc"]
    return 100 * np.asarray(first, float), 100 * np.asarray(s["auc"], float)


def table_1_and_6(mosei, args, subsets):
    """One fit per subset of modalities; T+A+V is Table 1."""
    params = settings("mosei", args)
    results = {}
    for name in subsets:
        mods = SUBSETS[name]
        clf = fit_with_valid(MOSEI, params, _select(mosei.train.data, mods), mosei.train.target,
                             _select(mosei.valid.data, mods), mosei.valid.target)
        X_test = _select(mosei.test.data, mods)
        wacc, auc = per_emotion(clf, X_test, mosei.test.target)
        results[name] = {"wacc": wacc.tolist(), "auc": auc.tolist(),
                         "epochs": len(clf.history_)}
        print(f"  fitted {name}: {len(clf.history_)} epochs, mean W-Acc {wacc.mean():.1f}",
              flush=True)
    return results


def table_2(iemocap, args):
    params = settings("iemocap", args)
    clf = fit_with_valid(IEMOCAP, params, iemocap.train.data, iemocap.train.target,
                         iemocap.valid.data, iemocap.valid.target)
    acc, auc = per_emotion(clf, iemocap.test.data, iemocap.test.target, accuracy=True)
    return {"acc": acc.tolist(), "auc": auc.tolist(), "epochs": len(clf.history_)}


def table_4(mosei, args):
    from skmemo import MultimodalData, MultimodalEmotionClassifier
    from skmemo.continual import few_shot_split, joint_training_set
    from skmemo.model_selection import hold_out_emotion, zero_shot_evaluation

    params = settings("mosei", args)
    template = MultimodalEmotionClassifier(**params)
    X_tr, Y_tr, X_te, Y_te = (mosei.train.data, mosei.train.target, mosei.test.data,
                              mosei.test.target)
    results = {}
    for held in ZERO_SHOT:
        res = zero_shot_evaluation(template, X_tr, Y_tr, X_te, Y_te, emotions=MOSEI,
                                   held_out=held, modality_subsets=["TAV"],
                                   return_estimators=True)
        zs = res["estimator"][0]
        order = [MOSEI.index(e) for e in zs.emotions_]  # seen emotions, then the held-out
        Y_te_k = Y_te[:, order]
        out = {"zero-shot": _scores_t4(zs, X_te, Y_te_k)}
        X_seen, Y_seen, _, _ = hold_out_emotion(X_tr, Y_tr, held, emotions=MOSEI)
        few, _ = few_shot_split(Y_tr, held, 0.01, emotions=MOSEI, random_state=args.seed)
        X_few = MultimodalData(**{m: np.asarray(X_tr[m][few]) for m in X_tr.modalities})
        Y_few = Y_tr[few][:, order]
        for setting in ("FT", "JT", "CL"):
            clf = copy.deepcopy(zs)
            if setting == "FT":
                clf.partial_fit(X_few, Y_few)
            elif setting == "JT":
                clf.partial_fit(*joint_training_set(X_seen, Y_seen, X_few, Y_few))
            else:
                clf.partial_fit_gem(X_few, Y_few)
            out[setting] = _scores_t4(clf, X_te, Y_te_k)
        results[held] = out
        print(f"  held out {held}: " + ", ".join(
            f"{k} {v[0]:.1f}/{v[1]:.1f}" for k, v in out.items()), flush=True)
    return results


def _scores_t4(clf, X, Y):
    """(unseen W-Acc, unseen AUC, mean W-Acc over all, mean AUC over all); last column unseen."""
    wacc, auc = per_emotion(clf, X, Y)
    return [wacc[-1], auc[-1], float(np.nanmean(wacc)), float(np.nanmean(auc))]


def report(ours):
    """Print the paper's tables with our numbers (or empty slots) beside them."""
    t1 = ours.get("6", {}).get("T+A+V") or ours.get("1", {}).get("T+A+V")
    rows = []
    for i, e in enumerate(MOSEI + ["average"]):
        mine = (None, None) if t1 is None else (
            (np.mean(t1["wacc"]), np.mean(t1["auc"])) if e == "average"
            else (t1["wacc"][i], t1["auc"][i]))
        rows.append([e, PAPER_T1[e][0], _fmt(mine[0]), PAPER_T1[e][1], _fmt(mine[1])])
    print("\nTable 1, CMU-MOSEI (T+A+V)\n" + markdown_table(
        ["emotion", "paper W-Acc", "ours W-Acc", "paper AUC", "ours AUC"], rows))

    t2 = ours.get("2")
    rows = [[e, PAPER_T2[e][0], _fmt(None if t2 is None else t2["acc"][IEMOCAP.index(e)]),
             PAPER_T2[e][1], _fmt(None if t2 is None else t2["auc"][IEMOCAP.index(e)])]
            for e in ("happy", "sad", "angry", "neutral")]
    print("\nTable 2, IEMOCAP\n" + markdown_table(
        ["emotion", "paper Acc", "ours Acc", "paper AUC", "ours AUC"], rows))

    t4 = ours.get("4", {})
    rows = []
    for setting, by_emotion in PAPER_T4.items():
        for e, paper in by_emotion.items():
            mine = t4.get(e, {}).get(setting, [None] * 4)
            rows.append([setting, e] + [f"{p} / {_fmt(m)}" for p, m in zip(paper, mine)])
    print("\nTable 4, CMU-MOSEI zero- and few-shot (paper / ours)\n" + markdown_table(
        ["setting", "held out", "unseen W-Acc", "unseen AUC", "all W-Acc", "all AUC"], rows))

    t6 = ours.get("6", {})
    rows = []
    for name, paper in PAPER_T6.items():
        mine = t6.get(name, {}).get("wacc", [None] * 6)
        rows.append([name] + [f"{p} / {_fmt(m)}" for p, m in zip(paper, mine)])
    print("\nTable 6, CMU-MOSEI W-Acc per modality subset (paper / ours)\n" + markdown_table(
        ["modalities"] + MOSEI, rows))


def main(argv=None):
    parser = make_parser(__doc__, seeds=None, threads=None, quick={"max_epochs": 2},
                         out=True, out_help="write our numbers to this JSON file")
    parser.add_argument("--mosei", type=Path, help="legacy processed CMU-MOSEI folder")
    parser.add_argument("--iemocap", type=Path, help="MulT iemocap_data.pkl")
    parser.add_argument("--allow-pickle", action="store_true",
                        help="allow reading the IEMOCAP pickle (pickles can run code)")
    parser.add_argument("--word-vectors", type=Path, default=None,
                        help="glove.840B.300d.txt (default: the bundled 50-d subset)")
    parser.add_argument("--tables", nargs="+", default=["1", "2", "4", "6"],
                        choices=["1", "2", "4", "6"])
    parser.add_argument("--lazy", action="store_true", help="read CMU-MOSEI lazily")
    parser.add_argument("--max-epochs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)

    need_mosei = {"1", "4", "6"} & set(args.tables)
    need_iemocap = "2" in args.tables
    missing = []
    if need_mosei and (args.mosei is None or not args.mosei.is_dir()):
        missing.append("--mosei DIR (Tables 1, 4, 6): the reference code's CMU-MOSEI HDF5 "
                       "folder: text_{split}_emb.h5, audio_{split}.h5, video_{split}.h5, "
                       "ey_{split}.h5 for split in train, valid, test")
    if need_iemocap and (args.iemocap is None or not args.iemocap.is_file()
                         or not args.allow_pickle):
        missing.append("--iemocap FILE --allow-pickle (Table 2): MulT's iemocap_data.pkl")
    if args.word_vectors is None:
        print("note: no --word-vectors; the bundled 50-d GloVe subset stands in for "
              "glove.840B.300d (the text encoder then gets a projection)")
    elif not args.word_vectors.is_file():
        missing.append(f"--word-vectors: {args.word_vectors} does not exist")
    for table, p in (("CMU-MOSEI", "mosei"), ("IEMOCAP", "iemocap")):
        print(f"settings for {table}: " + json.dumps(
            {k: v for k, v in settings(p, args).items() if k != "word_vectors"}))
    if missing:
        print("\nNot run; needed:\n  " + "\n  ".join(missing))
        print("\nThen, e.g.:\n  python benchmarks/reproduce_paper.py --mosei DIR "
              "--word-vectors glove.840B.300d.txt --tables 1 4 6\n  python "
              "benchmarks/reproduce_paper.py --iemocap iemocap_data.pkl --allow-pickle "
              "--word-vectors glove.840B.300d.txt --tables 2")
        report({})
        return 0

    import torch

    from skmemo.datasets import load_iemocap, load_legacy_mosei

    torch.manual_seed(args.seed)
    args.word_vectors = None if args.word_vectors is None else str(args.word_vectors)
    ours = {}
    if need_mosei:
        mosei = load_legacy_mosei(args.mosei, lazy=args.lazy)  # labels: alphabetical order
        assert mosei.emotions == MOSEI
        if {"1", "6"} & set(args.tables):
            subsets = list(SUBSETS) if "6" in args.tables else ["T+A+V"]
            print(f"Tables 1/6: fitting {subsets}", flush=True)
            ours["6" if "6" in args.tables else "1"] = table_1_and_6(mosei, args, subsets)
        if "4" in args.tables:
            print("Table 4: zero- and few-shot", flush=True)
            ours["4"] = table_4(mosei, args)
    if need_iemocap:
        print("Table 2: IEMOCAP", flush=True)
        ours["2"] = table_2(load_iemocap(args.iemocap, allow_pickle=True), args)
    report(ours)
    if args.out:
        args.out.write_text(json.dumps(ours, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
