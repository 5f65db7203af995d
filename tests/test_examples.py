"""Every example runs in quick mode, in a fresh process; gallery conventions hold.

Quick mode (``SKMEMO_QUICK=1``, or ``--quick`` for the ``plot_*`` scripts)
shrinks data and training to a smoke run of seconds. An example without a
quick mode is skipped, not run in full: full runs take minutes. The examples
run one after the other in one subprocess, so that the imports (most of a
quick run) are paid once; each test then checks its example's outcome.
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


# Runs the examples given on its command line one after the other, in one
# process (the imports of torch and matplotlib are paid once), each from a
# fresh namespace, in its own working folder, with its output captured.
RUNNER = """
import contextlib, io, json, os, runpy, sys, traceback
from pathlib import Path
import matplotlib.pyplot as plt
out = Path(sys.argv[1])
results = {}
for script in sys.argv[2:]:
    name = Path(script).name
    folder = out / Path(script).stem
    folder.mkdir()
    os.chdir(folder)
    sys.argv = [script] + (["--save", str(folder)] if name.startswith("plot_") else [])
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
    done = subprocess.run([sys.executable, "-c", RUNNER, str(out), *scripts], env=env,
                          capture_output=True, text=True, timeout=1800)
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
    stdout, error, folder = quick_runs[path.name]
    assert error is None, f"{path.name} failed:\n{stdout[-2000:]}\n{error}"
    assert re.search(r"\d\.\d", stdout), "an example prints its numbers"
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
