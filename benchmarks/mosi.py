"""Real-data benchmark: CMU-MOSI utterance features, binary sentiment.

The data are the utterance-level CMU-MOSI features published with bc-LSTM
(Poria et al., ACL 2017): one 100-d text vector (a CNN over word vectors), one
73-d openSMILE audio vector and one 100-d 3D-CNN visual vector per utterance,
1447 train / 752 test utterances from disjoint speakers. The three modality
files correspond row by row. Each utterance is a sequence of length 1.

skmemo is trained with the two "emotions" ``["positive", "negative"]``
(``y = [label, 1 - label]``), on all three modalities and on every subset of
them (one fit per subset), for several seeds. Features are standardised per
modality (scikit-learn's ``StandardScaler`` fitted on the training rows). The
text features are not word vectors, so the text encoder's hidden size (100)
differs from the word-vector dimension (50, the bundled GloVe): the model adds a
projection from the text representation to the word space.

Reported on the test split, mean and standard deviation over seeds:

- ``acc``: accuracy of the decision ``P(positive) > P(negative)`` (the argmax
  over the two columns);
- ``acc@0.5``: accuracy of ``P(positive) > 0.5`` alone;
- ``W-Acc``: weighted (balanced) accuracy of the argmax decision;
- ``AUC``: ROC AUC of ``P(positive)``.

Published on this split: about 80% accuracy for bc-LSTM with all three
modalities, a model that reads the neighbouring utterances of the same video
(utterance context); here every utterance is classified alone.

Run::

    python benchmarks/mosi.py                       # default data folder
    python benchmarks/mosi.py --data DIR --seeds 0 1 2 3 4
    python benchmarks/mosi.py --quick               # seed 0, T and TAV, 3 epochs

The default data folder is ``../shared/datasets/cmu-mosi-utterance`` relative
to the repository root; the script says so and exits when it is absent.
"""

import sys
from pathlib import Path

import numpy as np
from _common import MOSI_DATA, Timer, evaluate, have_files, make_parser
from sklearn.preprocessing import StandardScaler

from skmemo import MultimodalData, MultimodalEmotionClassifier
from skmemo.datasets import MOSI_UTTERANCE_FILES, load_cmu_mosi_utterance

DEFAULT_DATA = MOSI_DATA
FILES = MOSI_UTTERANCE_FILES
SUBSETS = {"T": ("text",), "A": ("audio",), "V": ("visual",), "TA": ("text", "audio"),
           "TV": ("text", "visual"), "AV": ("audio", "visual"),
           "TAV": ("text", "audio", "visual")}


def load_mosi(folder):
    """Both splits as ``{split: (features (n, d) per modality, labels)}``."""
    mosi = load_cmu_mosi_utterance(folder)
    return {split: ({m: mosi[split].data[m][:, 0, :] for m in FILES},
                    mosi[split].sentiment) for split in ("train", "test")}


def standardise(data):
    """StandardScaler per modality, fitted on the training rows; (n, 1, d) float32."""
    (train, y_train), (test, y_test) = data["train"], data["test"]
    X_train, X_test = {}, {}
    for m in FILES:
        scaler = StandardScaler().fit(train[m])
        X_train[m] = scaler.transform(train[m]).astype(np.float32)[:, None, :]
        X_test[m] = scaler.transform(test[m]).astype(np.float32)[:, None, :]
    return X_train, y_train, X_test, y_test


def have_mosi(folder, option="--data"):
    """True when ``folder`` holds both splits of the three files; else say so."""
    names = [n.format(s) for s in ("train", "test") for n in FILES.values()]
    return have_files(folder, names, "CMU-MOSI utterance", option=option)


def scores(clf, X, labels):
    """acc, acc@0.5, W-Acc (argmax decision) and AUC of ``P(positive)``."""
    s = evaluate(clf, X, np.stack([labels, 1 - labels], axis=1), decision="argmax")
    return {
        "acc": float(s["accuracy"][0]),
        "acc@0.5": float(np.mean((s["proba"][:, 0] > 0.5) == labels)),
        "W-Acc": float(s["wacc"][0]),
        "AUC": float(s["auc"][0]),
    }


def main(argv=None):
    parser = make_parser(__doc__, quick={"seeds": [0], "subsets": ["T", "TAV"], "epochs": 3})
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="folder of the CMU-MOSI utterance CSV files")
    parser.add_argument("--subsets", nargs="+", default=list(SUBSETS), choices=list(SUBSETS))
    parser.add_argument("--epochs", type=int, default=60)
    args = parser.parse_args(argv)

    folder = args.data.resolve()
    if not have_mosi(folder):
        return 0
    X_train, y_train, X_test, y_test = standardise(load_mosi(folder))
    Y_train = np.stack([y_train, 1 - y_train], axis=1)
    print(f"CMU-MOSI: {len(y_train)} train / {len(y_test)} test utterances, "
          f"{np.mean(y_test):.3f} positive in test; seeds {args.seeds}")

    rows = {}
    for subset in args.subsets:
        modalities = SUBSETS[subset]
        runs = []
        for seed in args.seeds:
            clf = MultimodalEmotionClassifier(
                ["positive", "negative"], hidden_sizes={"text": 100, "audio": 64, "visual": 64},
                lr=1e-3, batch_size=64, max_epochs=args.epochs, validation_fraction=0.1,
                early_stopping_patience=8, random_state=seed, device="cpu")
            with Timer() as t:
                clf.fit(MultimodalData(**{m: X_train[m] for m in modalities}), Y_train)
            X_sub = MultimodalData(**{m: X_test[m] for m in modalities})
            result = scores(clf, X_sub, y_test) | {"epochs": len(clf.history_), "s": t.wall}
            runs.append(result)
            print(f"  {subset:4s} seed {seed}: " + ", ".join(
                f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                for k, v in result.items()), flush=True)
        rows[subset] = runs

    print("\n| modalities | acc | acc@0.5 | W-Acc | AUC | epochs |")
    print("|---|---|---|---|---|---|")
    for subset, runs in rows.items():
        cells = []
        for key in ("acc", "acc@0.5", "W-Acc", "AUC"):
            values = 100 * np.array([r[key] for r in runs])
            cells.append(f"{values.mean():.1f} ± {values.std():.1f}")
        epochs = np.mean([r["epochs"] for r in runs])
        print(f"| {subset} | " + " | ".join(cells) + f" | {epochs:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
