"""Collect benchmarks/results/<topic>.md into benchmarks/RESULTS.md.

    python tools/collect_results.py
"""

from pathlib import Path

ORDER = ["quality", "zero_shot", "continual", "continual_meld", "datasets", "sklearn",
         "beyond_paper", "performance", "missing_modalities", "feature_extraction"]
HEADER = """# Benchmark results

Every figure below was measured in this repository with the command shown
beside it; each section is kept in `benchmarks/results/<topic>.md` and
collected here by `python tools/collect_results.py`. Machine unless stated:
2 CPU cores, no GPU.

Figures taken before commit 1a77ac6 (each section names its command and, where
recorded, its commit) trained through packed sequences on the CPU. The model and
its outputs for given weights are unchanged since, but the dropout between the
recurrent layers draws its masks differently, so re-running a seed now takes
another training path: expect figures within the seed-to-seed spread shown, not
identical ones.
"""


def main():
    root = Path(__file__).resolve().parents[1] / "benchmarks"
    files = {p.stem: p for p in (root / "results").glob("*.md")}
    names = [n for n in ORDER if n in files] + sorted(set(files) - set(ORDER))
    parts = [HEADER]
    for name in names:
        # demote every heading one level under the page title
        lines = ["#" + line if line.startswith("#") else line
                 for line in files[name].read_text().strip().splitlines()]
        parts.append("\n".join(lines) + "\n")
    (root / "RESULTS.md").write_text("\n".join(parts))
    print(f"wrote {root / 'RESULTS.md'} from {names}")


if __name__ == "__main__":
    main()
