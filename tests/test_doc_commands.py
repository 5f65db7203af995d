"""Every script command quoted in README.md and docs/*.rst exists and takes its flags.

The commands are read from the inline literals (``...`` in reStructuredText, `...`
in Markdown) and from every line that starts with ``python``; a command is a
script of the repository (``python benchmarks/perf.py --sweep``,
``benchmarks/perf.py --loading``). The scripts are not run: their ``argparse``
options are read from their source (every ``add_argument`` call, with its
``nargs``, ``action``, ``type`` and ``choices`` when they are literals; for a
benchmark that builds its parser with ``benchmarks/_common.py``, the shared
options of that file too) and the quoted arguments are checked against them, so
that a renamed flag, a flag that was never there, or a missing value fails here
instead of in a reader's shell.
"""

import ast
import re
import shlex
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.rst"))]
_SCRIPT = re.compile(r"(?:^|\s)((?:[\w.-]+/)*[\w.-]+\.py)(?=\s|$)")
_TYPES = {"int": int, "float": float}


def _fragments(text, markdown):
    """Candidate command texts: inline literals, and lines starting with python."""
    pattern = r"(?<!`)`([^`]+?)`(?!`)" if markdown else r"``(.+?)``"
    for match in re.finditer(pattern, text, flags=re.S):
        yield " ".join(match.group(1).split())
    for line in text.splitlines():
        line = line.strip()
        if re.match(r"(?:\w+=\S+\s+)*python3?\s", line):
            yield line


def _commands(path):
    """``(script, args, quoted text)`` of each script command quoted in ``path``."""
    text = path.read_text(encoding="utf-8")
    found = []
    for fragment in _fragments(text, markdown=path.suffix == ".md"):
        for part in re.split(r"&&|;|\|", fragment):
            try:
                tokens = shlex.split(part)
            except ValueError:  # prose with an apostrophe: not a command
                continue
            while tokens and re.match(r"^\w+=", tokens[0]):  # PYTHONPATH=. ...
                tokens = tokens[1:]
            if tokens and tokens[0] in ("python", "python3"):
                tokens = tokens[1:]
                if tokens and tokens[0] == "-m":
                    continue  # a module (pytest, sphinx, venv), not a script of ours
            if not tokens or not _SCRIPT.fullmatch(" " + tokens[0]):
                continue
            script = tokens[0]
            if not script.startswith(("benchmarks/", "examples/")):
                continue  # another project's file named in the prose
            args = [t.strip("[]") for t in tokens[1:]]
            found.append((script, [a for a in args if a], f"{path.name}: {part.strip()}"))
    return found


def _literal(node):
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


def _uses_common(tree):
    """Does the script import ``_common`` (the benchmarks' shared parser)?"""
    return any(
        isinstance(node, ast.ImportFrom) and node.module == "_common"
        or isinstance(node, ast.Import) and any(a.name == "_common" for a in node.names)
        for node in ast.walk(tree))


def _options(script):
    """``{flag: (nargs, action, type, choices)}`` of the script's add_argument calls."""
    tree = ast.parse((REPO / script).read_text(encoding="utf-8"))
    trees = [tree]
    if _uses_common(tree):
        trees.append(ast.parse((REPO / "benchmarks" / "_common.py").read_text("utf-8")))
    options, positionals = {}, 0
    for node in (n for t in trees for n in ast.walk(t)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "add_argument"):
            continue
        names = [_literal(a) for a in node.args]
        kw = {k.arg: k.value for k in node.keywords}
        spec = (
            _literal(kw["nargs"]) if "nargs" in kw else None,
            _literal(kw["action"]) if "action" in kw else "store",
            _TYPES.get(getattr(kw.get("type"), "id", None)),
            _literal(kw["choices"]) if "choices" in kw else None,
        )
        if names and all(isinstance(n, str) and n.startswith("-") for n in names):
            for name in names:
                options[name] = spec
        else:
            positionals += 1
    return options, positionals


def _check_value(flag, value, spec, where):
    _, _, kind, choices = spec
    if kind is not None:
        try:
            kind(value)
        except ValueError:
            pytest.fail(f"{where}: {flag} takes {kind.__name__} values; got {value!r}")
    if choices is not None and value not in choices:
        pytest.fail(f"{where}: {flag} accepts {choices}; got {value!r}")


def _check_args(script, args, where):
    options, positionals = _options(script)
    i = 0
    while i < len(args):
        flag = args[i]
        if not flag.startswith("-"):
            if positionals:
                positionals -= 1
                i += 1
                continue
            pytest.fail(f"{where}: {script} takes no positional argument {flag!r}")
        if flag not in options:
            pytest.fail(f"{where}: {script} has no option {flag}; its options: "
                        f"{sorted(options)}")
        nargs, action, _, _ = options[flag]
        values = []
        i += 1
        while i < len(args) and not args[i].startswith("--"):
            values.append(args[i])
            i += 1
        if action in ("store_true", "store_false", "count", "help"):
            expected_ok = not values
        elif nargs in ("+",):
            expected_ok = len(values) >= 1
        elif nargs in ("*",):
            expected_ok = True
        elif nargs == "?":
            expected_ok = len(values) <= 1
        else:
            expected_ok = len(values) == (1 if nargs is None else nargs)
        if not expected_ok:
            pytest.fail(f"{where}: {flag} of {script} (nargs={nargs!r}, action={action!r}) "
                        f"cannot take {values}")
        for value in values:
            _check_value(flag, value, options[flag], where)


COMMANDS = [c for path in DOCS for c in _commands(path)]


def test_commands_were_found():
    scripts = {script for script, _, _ in COMMANDS}
    assert len(COMMANDS) >= 15 and len(scripts) >= 8, sorted(scripts)
    assert any(args for _, args, _ in COMMANDS)


@pytest.mark.parametrize("script, args, where", COMMANDS,
                         ids=[f"{c[0]} {' '.join(c[1])}".strip() for c in COMMANDS])
def test_quoted_command_exists_and_takes_its_flags(script, args, where):
    assert (REPO / script).is_file(), f"{where}: {script} does not exist"
    _check_args(script, args, where)


def test_the_checker_catches_drift():
    # the checks themselves must fail on a wrong flag, a missing value, a wrong type
    for args in (["--no-such-flag"], ["--seeds"], ["--seeds", "zero"], ["positional"]):
        with pytest.raises(pytest.fail.Exception):
            _check_args("benchmarks/mosi.py", args, "test")
    _check_args("benchmarks/mosi.py", ["--seeds", "0", "1", "2", "3", "4"], "test")


def test_shared_benchmark_options_are_read():
    # mosi.py takes --seeds, --threads and --quick from benchmarks/_common.py
    assert _uses_common(ast.parse((REPO / "benchmarks/mosi.py").read_text("utf-8")))
    _check_args("benchmarks/mosi.py", ["--quick", "--threads", "2", "--seeds", "1"], "test")
    with pytest.raises(pytest.fail.Exception):
        _check_args("benchmarks/mosi.py", ["--quick", "yes"], "test")
