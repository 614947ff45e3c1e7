"""Run every notebook under numeric set-ups unlike this machine's default, and see what moves.

    python scripts/numerics.py run [SETUP ...]      # nbval over every notebook under each set-up (all by default)
    python scripts/numerics.py compare [SETUP ...]  # execute, then list cells whose text output differs from the committed one
    python scripts/numerics.py list                 # the set-ups

Training and gradient ascent amplify the last bit of float rounding: another CPU, thread count,
kernel or GPU prints other digits. The notebooks' claims are checked by their asserts, whose
margins must hold under all of these set-ups; nbval compares only cells tagged
``nbval-check-output``, whose output must not move at all. ``run`` checks both (it is nbval, as
``make test`` runs it, under other numerics) and prints each notebook's time. ``compare`` shows a
contributor which cells' printed output depends on the numerics (those must stay untagged).
Options: ``--notebooks PATH ...`` restricts either to some notebooks.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from configparser import ConfigParser
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import course_env  # noqa: E402

#: name -> (what it changes, environment variables). Each differs from a plain run on this machine.
SETUPS: dict[str, tuple[str, dict[str, str]]] = {
    "aten-default": ("PyTorch's own CPU kernels without SIMD (ATEN_CPU_CAPABILITY=default)",
                     {"ATEN_CPU_CAPABILITY": "default"}),
    "one-thread": ("1 thread: reductions and matrix products add in another order",
                   {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}),
    "three-threads": ("3 threads (more than this machine's cores on a 2-core CPU)",
                      {"OMP_NUM_THREADS": "3", "MKL_NUM_THREADS": "3"}),
    "onednn-sse41": ("oneDNN convolutions capped at SSE4.1, MKL in its compatible code path",
                     {"ONEDNN_MAX_CPU_ISA": "SSE41", "MKL_CBWR": "COMPATIBLE"}),
    "cuda": ("the GPU, TF32 convolutions at PyTorch's default (only where CUDA is available)",
             {"COURSE_DEVICE": "cuda"}),
}


def notebooks(paths: list[str] | None) -> list[Path]:
    if paths:
        return [Path(p).resolve() for p in paths]
    return sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


#: the set-ups above, plus this machine as it is ("plain": for ``compare`` against outputs made elsewhere)
KNOWN = {**SETUPS, "plain": ("this machine's defaults", {})}


def _chosen(names: list[str]) -> list[str]:
    names = names or [n for n in SETUPS if n != "cuda" or _cuda_available()]
    unknown = [n for n in names if n not in KNOWN]
    if unknown:
        sys.exit(f"unknown set-up(s) {unknown}; choose from {', '.join(KNOWN)}")
    return names


def run(setups: list[str], paths: list[Path]) -> int:
    """nbval over each notebook under each set-up; a table of seconds (FAILED where a cell failed)."""
    seconds: dict[tuple[str, str], float] = {}
    failed = set()
    for setup in setups:
        what, changes = KNOWN[setup]
        print(f"== {setup}: {what}", flush=True)
        for path in paths:
            start = time.perf_counter()
            result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path)],
                                    cwd=ROOT, env={**os.environ, **changes}, capture_output=True, text=True)
            seconds[setup, path.name] = time.perf_counter() - start
            ok = result.returncode == 0
            print(f"   {path.name:45s} {seconds[setup, path.name]:6.1f} s {'ok' if ok else 'FAILED'}", flush=True)
            if not ok:
                failed.add((setup, path.name))
                print(result.stdout[-6000:] + result.stderr[-2000:])

    def cell(setup, name):
        return f"{'FAILED':>15s}" if (setup, name) in failed else f"{seconds[setup, name]:15.1f}"

    print("\nseconds per notebook (nbval, including kernel start)")
    print(f"{'notebook':45s}" + "".join(f"{s:>15s}" for s in setups))
    for path in paths:
        print(f"{path.name:45s}" + "".join(cell(s, path.name) for s in setups))
    totals = [sum(seconds[s, p.name] for p in paths if (s, p.name) not in failed) for s in setups]
    print(f"{'total':45s}" + "".join(f"{t:15.1f}" for t in totals))
    print(f"{len(setups) * len(paths) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


def _sanitizers() -> list[tuple[re.Pattern, str]]:
    config = ConfigParser(interpolation=None)
    config.read(ROOT / "tests" / "nbval_sanitize.cfg")
    return [(re.compile(config[s]["regex"]), config[s]["replace"]) for s in config.sections()]


def cell_text(cell, sanitizers) -> str:
    """A code cell's text outputs (streams and text/plain results), sanitized as nbval sanitizes them."""
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type in ("execute_result", "display_data") and "text/plain" in output.get("data", {}):
            if not any(k.startswith("image/") for k in output["data"]):
                parts.append(output["data"]["text/plain"])
        elif output.output_type == "error":
            parts.append(f"ERROR {output.ename}: {output.evalue}")
    text = "".join(parts)
    for pattern, replacement in sanitizers:
        text = pattern.sub(replacement, text)
    return text


def is_checked(cell) -> bool:
    return "nbval-check-output" in cell.get("metadata", {}).get("tags", [])


def compare(setups: list[str], paths: list[Path]) -> int:
    """Execute each notebook under each set-up and list the cells whose text differs from the committed run."""
    import nbformat
    from nbclient import NotebookClient

    sanitizers = _sanitizers()
    moved_checked = 0
    for path in paths:
        committed = nbformat.read(path, as_version=4)
        for setup in setups:
            notebook = nbformat.read(path, as_version=4)
            with mock.patch.dict(os.environ, KNOWN[setup][1]), tempfile.TemporaryDirectory() as scratch:
                NotebookClient(notebook, timeout=600, kernel_name="python3", allow_errors=True,
                               resources={"metadata": {"path": scratch}}).execute()
            for index, (old, new) in enumerate(zip(committed.cells, notebook.cells)):
                if old.cell_type != "code":
                    continue
                before, after = cell_text(old, sanitizers), cell_text(new, sanitizers)
                if before != after:
                    moved_checked += is_checked(old)
                    first = next((a for a, b in zip(after.splitlines() + [""], before.splitlines() + [""]) if a != b), "")
                    print(f"{path.name} cell {index} ({'CHECKED' if is_checked(old) else 'unchecked'}) "
                          f"under {setup}: {first[:100]!r}", flush=True)
    print(f"{moved_checked} checked cell(s) moved")
    return 1 if moved_checked else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("run", "compare", "list"))
    parser.add_argument("setups", nargs="*", help=f"any of {', '.join(SETUPS)} (default: all available)")
    parser.add_argument("--notebooks", nargs="*", help="notebook paths (default: every notebook)")
    args = parser.parse_args(argv)
    if args.command == "list":
        for name, (what, env) in SETUPS.items():
            print(f"{name:15s} {what}: {' '.join(f'{k}={v}' for k, v in env.items())}")
        return 0
    course_env.apply()
    setups, paths = _chosen(args.setups), notebooks(args.notebooks)
    return run(setups, paths) if args.command == "run" else compare(setups, paths)


if __name__ == "__main__":
    sys.exit(main())
