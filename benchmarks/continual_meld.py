"""MELD transcripts as GloVe token sequences, for ``continual.py --dataset meld``.

MELD (Poria et al., ACL 2019; labels from EmoryNLP, Zahiri and Choi, 2018):
utterances of the TV series *Friends*, each labelled with one of seven
emotions. Only the transcripts are used: every utterance becomes the sequence
of the bundled GloVe 6B 50d vectors (``skmemo.vectors.load_default_vectors``)
of its first ``T`` known tokens, zero-padded in front ("pre"), with its real
length in ``text_lengths``.

The tokeniser is small and local to the benchmark: lower case, typographic
quotes and dashes normalised (some utterances carry Windows-1252 bytes, read
with ``errors="replace"``), contractions split the way GloVe 6B's vocabulary
spells them (``don't`` -> ``do n't``, ``it's`` -> ``it 's``), punctuation kept
as tokens; tokens missing from the vocabulary are dropped.

``--text-features minilm`` (:func:`load_meld_minilm`): each utterance is
instead its pooled all-MiniLM-L6-v2 sentence embedding (a length-1 text
sequence, 384-d), every emotion that encoder's embedding of its name (passed
as ``word_vectors``), and the model scores text with
``text_scoring="calibrated_cosine"`` (``hidden_sizes={"text": 64}``): the
zero-shot score of an added emotion is then the encoder's training-free
calibrated cosine, and a few-shot step trains its correction.

``subset``: only the first ``subset`` utterances of each split (the quick
check of ``continual.py --dataset meld --quick``).
"""

import re
from pathlib import Path

import numpy as np
from _common import MELD_DATA, OUT, Timer, evaluate
from meld_text import EMOTIONS, SPLITS, read_meld

from skmemo.vectors import load_default_vectors

_NORMALISE = {"\x92": "'", "\u2019": "'", "\u2018": "'", "\ufffd": "'", "\u201c": '"',
              "\u201d": '"', "\u2026": " ... ", "\u2014": " -- ", "\u2013": " - "}
_TOKEN = re.compile(r"[a-z0-9]+(?=n't\b)|n't\b|'[a-z]+\b|[a-z0-9]+|\.\.\.|[^\sa-z0-9]")


def tokenise(text):
    """Lower-case tokens of one utterance, contractions split as in GloVe 6B."""
    text = str(text)
    for bad, good in _NORMALISE.items():
        text = text.replace(bad, good)
    return _TOKEN.findall(text.lower())


def read_split(data_dir, split, subset=None):
    """``(utterances, emotion names)`` of one split's CSV file (its first ``subset``)."""
    frame = read_meld(Path(data_dir) / SPLITS[split]).head(subset)
    return frame["Utterance"].tolist(), frame["Emotion"].str.strip().str.lower().tolist()


def _token_ids(utterances, seq_len, vectors):
    """Row indices into ``vectors.words`` (-1 = padding), front-padded: (n, seq_len)."""
    index = {w: i for i, w in enumerate(vectors.words)}
    ids = np.full((len(utterances), seq_len), -1, np.int32)
    known = total = 0
    for i, text in enumerate(utterances):
        tokens = tokenise(text)
        total += len(tokens)
        row = [index[t] for t in tokens if t in index]
        known += len(row)
        row = row[:seq_len]
        if row:
            ids[i, seq_len - len(row):] = row
    return ids, known / max(total, 1)


def load_meld(data_dir=MELD_DATA, seq_len=24, token_cache=None, subset=None):
    """Train and test splits: ``{"X": {"text", "text_lengths"}, "Y": (n, 7)}`` each.

    Returns None when the data folder is absent (and no ``token_cache`` file
    exists). ``token_cache``: an ``.npz`` file of token indices and labels,
    written on the first run and read instead of the CSV files afterwards (for
    a machine without the data folder; keep it out of the repository), and
    never written for a ``subset``.
    """
    vectors = load_default_vectors()
    cache = None if token_cache is None else Path(token_cache)
    if cache is not None and cache.is_file():
        with np.load(cache) as f:
            arrays = {k: v[:subset] if v.ndim else v for k, v in f.items()}
    elif (Path(data_dir) / SPLITS["train"]).is_file():
        arrays = {}
        for split in ("train", "test"):
            texts, labels = read_split(data_dir, split, subset)
            ids, coverage = _token_ids(texts, seq_len, vectors)
            arrays[f"{split}_ids"] = ids
            arrays[f"{split}_labels"] = np.array([EMOTIONS.index(e) for e in labels])
            arrays[f"{split}_coverage"] = np.float64(coverage)
        if cache is not None and subset is None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(cache, **arrays)
    else:
        return None
    table = np.concatenate([vectors.vectors, np.zeros((1, vectors.dim), np.float32)])
    out = {}
    for split in ("train", "test"):
        ids = arrays[f"{split}_ids"]
        labels = arrays[f"{split}_labels"]
        Y = np.zeros((len(labels), len(EMOTIONS)), np.float32)
        Y[np.arange(len(labels)), labels] = 1
        out[split] = {"X": {"text": table[ids],  # -1 picks the zero row
                            "text_lengths": np.maximum((ids >= 0).sum(1), 1).astype(np.int64)},
                      "Y": Y, "coverage": float(arrays[f"{split}_coverage"])}
    return out


def load_meld_minilm(data_dir=MELD_DATA, subset=None):
    """Like :func:`load_meld` with pooled MiniLM embeddings; also the emotion vectors.

    Returns ``(data, {emotion: vector})``, or None when the data folder is
    absent. Embeddings are computed once and cached in ``benchmarks/out``
    (``meld_text.minilm_features``).
    """
    from types import SimpleNamespace

    import meld_text

    if not (Path(data_dir) / SPLITS["train"]).is_file():
        return None
    frames = {split: read_meld(Path(data_dir) / name).head(subset)
              for split, name in SPLITS.items()}
    feats = meld_text.minilm_features(
        frames, SimpleNamespace(cache=OUT / "meld_text_cache.json", subset=subset))
    out = {}
    for split in ("train", "test"):
        x = feats[split]
        out[split] = {"X": {"text": x[:, None, :],
                            "text_lengths": np.ones(len(x), dtype=np.int64)},
                      "Y": meld_text.labels(frames[split]).astype(np.float32),
                      "coverage": 1.0}
    return out, meld_text.minilm_emotions(EMOTIONS, "{}")


# ----------------------------------------------------------------------
# the protocol
# ----------------------------------------------------------------------
def _rows(X, idx):
    return {k: v[idx] for k, v in X.items()}


def few_shot_sets(Y, new, fraction, seed, neg_ratio):
    """Indices of the balanced and the realistic few-shot sets of column ``new``.

    Balanced: :func:`skmemo.continual.few_shot_split` (``ceil(fraction * P)``
    positives and as many negatives). Realistic: the same positives and
    ``neg_ratio`` times as many negatives, the balanced ones among them.
    """
    from skmemo.continual import few_shot_split

    few, _ = few_shot_split(Y, new, fraction, random_state=seed)
    pos = few[Y[few, new] > 0.5]
    neg = few[Y[few, new] < 0.5]
    rest = np.setdiff1d(np.flatnonzero(Y[:, new] < 0.5), neg)
    rng = np.random.default_rng([seed, new, int(round(fraction * 1000))])
    extra = rng.choice(rest, min(len(rest), (neg_ratio - 1) * len(pos)), replace=False)
    return {"balanced": few, "realistic": np.sort(np.concatenate([few, extra]))}


def _ft(clf, X, Y, ctx):
    clf.set_params(batch_size=ctx["batch_size"])
    clf.partial_fit(X, Y, epochs=ctx["epochs"])


def _gem(clf, X, Y, ctx, method="gem"):
    clf.partial_fit_gem(X, Y, epochs=ctx["epochs"], method=method,
                        batch_size=ctx["batch_size"])


def _jt(clf, X, Y, ctx):
    from skmemo.continual import joint_training_set

    pos = np.flatnonzero(Y[:, -1] > 0.5)  # the old data already hold the negatives
    Xj, Yj = joint_training_set(ctx["X_old"], ctx["Y_old"], _rows(X, pos), Y[pos])
    clf.set_params(batch_size=ctx["batch_size"])
    clf.partial_fit(Xj, Yj, epochs=ctx["jt_epochs"])


def _variant(kind="gem", lr=None, epochs=None, batch_size=None, replay=False, **update):
    """A candidate few-shot step: ``few_shot_update(**update)`` around FT / GEM."""
    from skmemo._few_shot import few_shot_update, memory_negatives

    def run(clf, X, Y, ctx):
        if lr is not None:
            clf.set_params(lr=lr)
        if replay:
            X, Y = memory_negatives(clf.memory_, X, Y)
        ctx = dict(ctx, epochs=epochs or ctx["epochs"],
                   batch_size=batch_size or ctx["batch_size"])
        with few_shot_update(clf, **update) if update else _nothing():
            if kind == "ft":
                _ft(clf, X, Y, ctx)
            else:
                _gem(clf, X, Y, ctx, kind)
    return run


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _candidate(**kw):
    return (_variant(**kw), True, True)


# name -> (function, runs on the realistic set, runs on the balanced set)
METHODS = {
    "FT": (_ft, True, True),
    "GEM": (_gem, True, True),
    "A-GEM": (lambda c, X, Y, ctx: _gem(c, X, Y, ctx, "agem"), True, False),
    "JT": (_jt, True, False),
    # candidates of the few-shot step (see benchmarks/results/continual_meld.md)
    "GEM lr/10": _candidate(lr=1e-4),
    "GEM replay": _candidate(replay=True),
    "GEM anchor": _candidate(train_new_emotions=False, anchor_strength=1.0),
    "FT emb": _candidate(kind="ft", freeze_encoders=True, embedding_lr=1e-2),
    "GEM emb": _candidate(freeze_encoders=True, embedding_lr=1e-2),
    "A-GEM emb": _candidate(kind="agem", freeze_encoders=True, embedding_lr=1e-2),
    "GEM emb+prior": _candidate(freeze_encoders=True, embedding_lr=1e-2,
                                prior_strength=1.0),
    "GEM emb+replay": _candidate(freeze_encoders=True, embedding_lr=1e-2, replay=True),
    "GEM emb+prior10": _candidate(freeze_encoders=True, embedding_lr=1e-2,
                                  prior_strength=10.0),
    "GEM emb+replay+prior10": _candidate(freeze_encoders=True, embedding_lr=1e-2,
                                         replay=True, prior_strength=10.0),
    "GEM emb+enc": _candidate(embedding_lr=1e-2),
    # the call with the estimator's defaults: max_epochs (8 here) epochs of batch 64
    "FT default": _candidate(kind="ft", epochs=8, batch_size=64),
    "GEM default": _candidate(epochs=8, batch_size=64),
    "GEM emb default": _candidate(epochs=8, batch_size=64, freeze_encoders=True,
                                  embedding_lr=1e-2),
    "GEM emb+replay default": _candidate(epochs=8, batch_size=64, freeze_encoders=True,
                                         embedding_lr=1e-2, replay=True),
}


def base_model(args, data, held, seed):
    """The model fitted on the six other emotions, with ``held`` added zero-shot.

    Returns ``(model, names, old mean test AUC before add_emotions, fit seconds)``.
    Cached under ``args.cache`` (pickle) when given.
    """
    import pickle

    from skmemo import MultimodalEmotionClassifier

    old = [e for e in EMOTIONS if e != held]
    path = None
    encoder = getattr(args, "text_features", "glove") != "glove"
    if args.cache:
        suffix = ("-minilm" if encoder else "") + (
            f"-first{args.subset}" if getattr(args, "subset", None) else "")
        path = Path(args.cache) / f"meld-{held}-{seed}-e{args.epochs}{suffix}.pkl"
        if path.is_file():
            with open(path, "rb") as f:
                return pickle.load(f)
    tr = data["train"]
    keep = np.flatnonzero(tr["Y"][:, EMOTIONS.index(held)] < 0.5)
    cols = [EMOTIONS.index(e) for e in old]
    extra = {}
    if encoder:
        extra = dict(word_vectors=_VECTORS, text_scoring="calibrated_cosine",
                     hidden_sizes={"text": 64})
    clf = MultimodalEmotionClassifier(
        old, max_epochs=args.epochs, batch_size=args.batch_size, validation_fraction=0,
        memory_size=args.memory_size, random_state=seed, device="cpu", **extra)
    with Timer() as t:
        clf.fit(_rows(tr["X"], keep), tr["Y"][keep][:, cols])
    fit_s = t.wall
    te = data["test"]
    before = evaluate(clf, te["X"], te["Y"][:, cols])["mean_auc"]
    clf.add_emotions([held])
    out = (clf, old + [held], before, fit_s)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            pickle.dump(out, f)
    return out


def run_pair(args, data, held, seed):
    """Every fraction, setting and method for one held-out emotion and seed: records."""
    import copy

    import torch

    torch.set_num_threads(args.threads)
    base, names, before, fit_s = base_model(args, data, held, seed)
    tr, te = data["train"], data["test"]
    order = [EMOTIONS.index(e) for e in names]  # the new emotion last
    Y_tr, Y_te = tr["Y"][:, order], te["Y"][:, order]
    new = len(order) - 1
    keep = np.flatnonzero(Y_tr[:, new] < 0.5)
    ctx = {"epochs": args.ft_epochs, "jt_epochs": args.jt_epochs,
           "batch_size": args.ft_batch_size,
           "X_old": _rows(tr["X"], keep), "Y_old": Y_tr[keep][:, :new]}
    zero = evaluate(base, te["X"], Y_te, new=new)
    common = {"held_out": held, "seed": seed, "before": before, "base_fit_s": fit_s}
    records = [dict(common, fraction=0.0, setting="-", method="zero-shot", n_pos=0,
                    n_few=0, auc=zero["new_auc"], wacc=zero["new_wacc"],
                    old_auc=zero["old_auc"], old_change=zero["old_auc"] - before,
                    seconds=0.0)]
    for fraction in args.fractions:
        sets = few_shot_sets(Y_tr, new, fraction / 100, seed, args.neg_ratio)
        for setting, idx in sets.items():
            X_few, Y_few = _rows(tr["X"], idx), Y_tr[idx]
            for method in args.methods:
                fn, realistic, balanced = METHODS[method]
                if not (realistic if setting == "realistic" else balanced):
                    continue
                clf = copy.deepcopy(base)
                with Timer() as t:
                    fn(clf, X_few, Y_few, ctx)
                seconds = t.wall
                res = evaluate(clf, te["X"], Y_te, new=new)
                records.append(dict(
                    common, fraction=fraction, setting=setting, method=method,
                    n_pos=int(Y_few[:, new].sum()), n_few=len(idx), auc=res["new_auc"],
                    wacc=res["new_wacc"], old_auc=res["old_auc"],
                    old_change=res["old_auc"] - before, seconds=seconds))
                if args.verbose:
                    print(f"  {held} s{seed} {fraction:g}% {setting:<9} {method:<22} "
                          f"AUC {res['new_auc']:.3f} (zero-shot {zero['new_auc']:.3f}) "
                          f"W-Acc {res['new_wacc']:.3f} "
                          f"old {res['old_auc'] - before:+.4f} {seconds:.1f} s", flush=True)
        print(f"  {held} seed {seed}: {fraction:g}% done", flush=True)
    return records


def _pair(task):
    args, held, seed = task
    return run_pair(args, _DATA, held, seed)


_DATA = None
_VECTORS = None


def run(args):
    """Run every held-out emotion and seed (``args.jobs`` processes); all records."""
    import json
    import multiprocessing

    global _DATA, _VECTORS
    if getattr(args, "text_features", "glove") != "glove":
        loaded = load_meld_minilm(args.data, args.subset)
        if loaded is None:
            return None
        _DATA, _VECTORS = loaded
        print(f"MELD text: {len(_DATA['train']['Y'])} train / {len(_DATA['test']['Y'])} "
              "test utterances, pooled all-MiniLM-L6-v2 embeddings", flush=True)
    else:
        _DATA = load_meld(args.data, args.seq_len, args.token_cache, args.subset)
        if _DATA is None:
            return None
        print(f"MELD text: {len(_DATA['train']['Y'])} train / {len(_DATA['test']['Y'])} "
              f"test utterances, {100 * _DATA['train']['coverage']:.1f}% of the training "
              "tokens in the bundled GloVe vocabulary", flush=True)
    # seed-major: an interrupted run still covers every emotion for the first seeds
    tasks = [(args, held, seed) for seed in args.seeds for held in args.held_out]
    log = open(args.out + "l", "w") if args.out else None  # JSON lines, as pairs finish
    records = []
    try:
        if args.jobs > 1:
            pool = multiprocessing.get_context("fork").Pool(args.jobs)
            parts = pool.imap_unordered(_pair, tasks, chunksize=1)
        else:
            pool, parts = None, map(_pair, tasks)
        for part in parts:
            records += part
            if log is not None:
                log.writelines(json.dumps(r) + "\n" for r in part)
                log.flush()
    finally:
        if pool is not None:
            pool.terminate()
        if log is not None:
            log.close()
    return records


def _fmt(values):
    return f"{np.mean(values):.3f}"


def report(records, args):
    """Print the tables: per held-out emotion, then the means over held-out emotions."""
    import pandas as pd

    df = pd.DataFrame(records)
    zero = df[df.method == "zero-shot"].groupby("held_out")[["auc", "wacc"]].mean()
    shot = df[df.method != "zero-shot"]
    methods = [m for m in args.methods if m in set(shot.method)]
    n_pos = shot.groupby(["held_out", "fraction"]).n_pos.first()
    held_order = [h for h in args.held_out if h in zero.index]
    for setting in ("realistic", "balanced"):
        sub = shot[shot.setting == setting]
        if sub.empty:
            continue
        print(f"\n### {setting}: new-emotion test AUC (mean over seeds {args.seeds})\n")
        print("| held out | positives | zero-shot | " + " | ".join(methods) + " |")
        print("|---|---|---|" + "---|" * len(methods))
        mean = sub.groupby(["held_out", "fraction", "method"])[
            ["auc", "wacc", "old_change"]].mean()
        for held in held_order:
            for fraction in args.fractions:
                cells = [_fmt(mean.loc[(held, fraction, m), "auc"])
                         if (held, fraction, m) in mean.index else "-" for m in methods]
                print(f"| {held} | {n_pos[(held, fraction)]} ({fraction:g}%) | "
                      f"{zero.loc[held, 'auc']:.3f} | " + " | ".join(cells) + " |")
        print(f"\n### {setting}: means over held-out emotions and seeds\n")
        print("| fraction | method | new AUC | new AUC - zero-shot | worst held-out "
              "(seed mean) - zero-shot | new W-Acc | old AUC change |")
        print("|---|---|---|---|---|---|---|")
        z = df[df.method == "zero-shot"]
        print(f"| - | zero-shot | {z.auc.mean():.3f} | | | {z.wacc.mean():.3f} | "
              f"{z.old_change.mean():+.4f} |")
        for fraction in args.fractions:
            for m in methods:
                rows = sub[(sub.fraction == fraction) & (sub.method == m)]
                if rows.empty:
                    continue
                per_held = rows.groupby("held_out").auc.mean() - zero.auc
                gain = rows.auc.mean() - z.auc.mean()
                print(f"| {fraction:g}% | {m} | {rows.auc.mean():.3f} | {gain:+.3f} | "
                      f"{per_held.min():+.3f} ({per_held.idxmin()}) | "
                      f"{rows.wacc.mean():.3f} | {rows.old_change.mean():+.4f} ± "
                      f"{rows.old_change.std(ddof=0):.4f} |")
    base = df[df.method == "zero-shot"]
    print(f"\nold-emotion mean AUC before adding: {base.before.mean():.3f}; base fit "
          f"{base.base_fit_s.mean():.1f} s on average; few-shot seconds per method: "
          + ", ".join(f"{m} {shot[shot.method == m].seconds.mean():.1f}" for m in methods))


def plot(records, path, methods, setting="realistic", labels=None):
    """New-emotion AUC against labelled positives, one panel per held-out emotion."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    df = pd.DataFrame(records)
    zero = df[df.method == "zero-shot"].groupby("held_out").auc.mean()
    sub = df[(df.setting == setting) & df.method.isin(methods)]
    held = [h for h in EMOTIONS if h in zero.index]
    fig, axes = plt.subplots(2, (len(held) + 1) // 2, figsize=(11, 6.2), squeeze=False)
    for ax, h in zip(axes.ravel(), held):
        rows = sub[sub.held_out == h]
        for m in methods:
            r = rows[rows.method == m].groupby("n_pos").auc.agg(["mean", "std"]).reset_index()
            if not r.empty:
                ax.errorbar(r.n_pos, r["mean"], yerr=r["std"], marker="o", ms=3,
                            capsize=2, label=(labels or {}).get(m, m))
        ax.axhline(zero[h], color="k", ls="--", lw=1, label="zero-shot")
        ax.set_xscale("log")
        ticks = sorted(rows.n_pos.unique())
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.minorticks_off()
        ax.set_title(h)
        ax.set_xlabel("labelled positives")
        ax.set_ylabel("new-emotion test AUC")
    for ax in axes.ravel()[len(held):]:
        ax.axis("off")
    handles, names = axes.ravel()[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=len(names), fontsize=8)
    fig.suptitle(f"MELD text: a held-out emotion learned from few labels ({setting} "
                 "few-shot sets; mean ± std over seeds)", fontsize=10)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
