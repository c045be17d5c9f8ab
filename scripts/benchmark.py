"""Benchmark derive against plain SymPy in the same run, on deep chains, and as a command.

Run: python scripts/benchmark.py [--quick] [--only help,grade,seed,sympy,chains] [--json PATH]
(`make benchmark`). Prints one table per section and writes every number to JSON (default
./benchmark.json). On a shared machine absolute times drift with the load; the ratios against
plain SymPy measured in the same run are what count.

Sections:
  help    `derive --help`, wall time of the subprocess.
  grade   `derive grade derive/examples/answer_sheet_000.yaml --json`: answers per second, as one
          subprocess and in-process (derive.grade.grade repeated after one warm-up call, SymPy's
          cache kept, as a grader looping over submissions would).
  seed    `derive solve` with no FILE (the key to both seed documents) to PDF, TeX and JSON, each
          a subprocess in a temporary directory.
  sympy   The scalar chains below at depth 12, 16, 20. derive = parse + derive.engine.backward,
          and separately parse + derive.solve.solve (numeric check included) + to_json. Plain
          SymPy = build the composed expression from Symbols with σ(x) = 1/(1 + exp(−x)) and call
          sympy.diff once per w_l and b_l, as a user of SymPy alone would. Ratio = SymPy / derive;
          when SymPy runs over --sympy-budget the table shows "> budget" and the ratio is a lower
          bound (≥).
  chains  Depth 10, 50, 100, 200 of the vector residual tanh chain (tests/conftest.py) and both
          scalar chains: parse, backward, solve (with the numeric check at 3 points, as `derive
          solve`), to_latex, to_json. Total = parse + solve + TeX + JSON (solve runs its own
          backward pass); growth = total / total at the previous depth, k = the exponent in
          time ∝ depth^k between the two. After a chain runs over --budget, its deeper runs are
          skipped.

The scalar chains (loss e = h_{L+1}^2 / 2, gradients with respect to every w_l and b_l):
  two-back  h_{l+1} = σ(w_l h_l + b_l) + h_{l−1}, l = 1..L, givens h0, h1
  one-back  h_{l+1} = σ(w_l h_l + b_l) + h_l,     l = 1..L, given h1

Every timed case runs in a subprocess of its own (a fresh SymPy cache and a time limit), after
an untimed warm-up at depth 1; a stage faster than 2 s is run 3 times with SymPy's cache cleared
before each and its median reported. A worker is stopped 15 s past its budget (start-up and
warm-up); one that finishes in that grace shows its time. Each worker's address space is capped
(--memory, default a quarter of the machine's memory, at most 8 GiB), so a case that explodes
fails with MemoryError instead of waking the machine's OOM killer. Subprocesses run this
checkout's code (PYTHONPATH).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECTIONS = ("help", "grade", "seed", "sympy", "chains")
SCALAR_CHAINS = ("two-back", "one-back")
CHEAP = 2.0  # seconds: a run faster than this is repeated and the median kept
STARTUP = 15.0  # seconds a worker may take to start (imports, warm-up) on top of its budget
PHYSICAL_GB = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
MEMORY_GB = round(min(8.0, PHYSICAL_GB / 4), 1)  # address space per worker: a shared machine
SHEET = ROOT / "derive" / "examples" / "answer_sheet_000.yaml"
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
}
T = TypeVar("T")


@dataclass
class Measured:
    """One timed thing: its runs in seconds, or why there is no number."""

    runs: list[float] = field(default_factory=list)
    status: str = "ok"  # ok, over budget, error, skipped
    detail: str = ""
    budget: float | None = None

    @property
    def seconds(self) -> float | None:
        return statistics.median(self.runs) if self.runs and self.status == "ok" else None

    def cell(self) -> str:
        if self.status == "ok":
            return seconds_text(self.seconds)
        if self.status == "over budget":
            return f"> {self.budget:g} s"
        return self.status

    def to_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {"seconds": self.seconds, "runs": self.runs, "status": self.status}
        if self.detail:
            record["detail"] = self.detail
        if self.budget is not None:
            record["budget_s"] = self.budget
        return record


def seconds_text(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f} ms" if value < 0.9995 else f"{value:.3g} s"


def total(parts: list[Measured], budget: float | None) -> Measured:
    """The sum of medians; over budget (or the first error) when any part is."""
    for part in parts:
        if part.status != "ok":
            return Measured(status=part.status, detail=part.detail, budget=budget)
    return Measured([sum(p.seconds or 0.0 for p in parts)])


def ratio(sympy: Measured, derive: Measured) -> tuple[float | None, str]:
    """SymPy / derive, and what it is: "=" exact, "≥" SymPy over budget, "≤" derive over budget."""
    if sympy.seconds is not None and derive.seconds:
        return sympy.seconds / derive.seconds, "="
    if sympy.status == "over budget" and sympy.budget and derive.seconds:
        return sympy.budget / derive.seconds, "≥"
    if derive.status == "over budget" and derive.budget and sympy.seconds is not None:
        return sympy.seconds / derive.budget, "≤"
    return None, "?"


def ratio_cell(value: float | None, kind: str) -> str:
    if value is None:
        return "?"
    shown = f"{value:.0f}" if value >= 100 else f"{value:.3g}"
    return f"{'' if kind == '=' else kind + ' '}{shown}×"


# ---------------------------------------------------------------- the networks and the workers


def chain_yaml(shape: str, depth: int) -> str:
    """The network file of a chain: residual-tanh (vector), two-back or one-back (scalars)."""
    if shape == "residual-tanh":
        from tests.conftest import residual_chain_yaml

        return residual_chain_yaml(depth)
    back = {"two-back": 1, "one-back": 0}[shape]
    givens = ["h0", "h1"] if back else ["h1"]
    givens += [f"{p}{layer}" for layer in range(1, depth + 1) for p in ("w", "b")]
    forward = [
        f"  - h{layer + 1} = sigmoid(w{layer} h{layer} + b{layer}) + h{layer - back}"
        for layer in range(1, depth + 1)
    ]
    wrt = ", ".join(f"w{layer}, b{layer}" for layer in range(1, depth + 1))
    return "\n".join(
        [
            f"title: {shape} scalar chain of depth {depth}",
            "given:",
            *[f"  {name}: scalar" for name in givens],
            "forward:",
            *forward,
            f"loss: e = h{depth + 1}^2 / 2",
            f"wrt: [{wrt}]",
        ]
    )


def plain_sympy(shape: str, depth: int) -> list[Any]:
    """What a user of SymPy alone writes: compose the chain, then diff by every w_l and b_l."""
    import sympy as sp

    back = {"two-back": 1, "one-back": 0}[shape]
    h = [sp.Symbol("h0"), sp.Symbol("h1")]
    parameters = []
    for layer in range(1, depth + 1):
        w, b = sp.symbols(f"w{layer} b{layer}")
        parameters += [w, b]
        h.append(1 / (1 + sp.exp(-(w * h[layer] + b))) + h[layer - back])
    loss = h[-1] ** 2 / 2
    return [sp.diff(loss, p) for p in parameters]


def worker(spec: dict[str, Any]) -> None:
    """Run one case and print a JSON line per stage: {"stage", "runs"} or {"stage", "error"}."""
    import resource

    import sympy as sp

    limit = int(spec["memory_gb"] * 2**30)  # MemoryError here, not the machine's OOM killer
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    repeats: int = spec["repeats"]

    def stage(name: str, run: Callable[[], T], *, clear: bool = True) -> T:
        runs: list[float] = []
        try:
            while True:
                if clear:
                    sp.core.cache.clear_cache()
                start = time.perf_counter()
                result = run()
                runs.append(time.perf_counter() - start)
                if len(runs) >= repeats or runs[-1] >= CHEAP:
                    break
        except Exception as error:
            print(json.dumps({"stage": name, "error": one_line(error)}), flush=True)
            raise SystemExit(0) from None
        print(json.dumps({"stage": name, "runs": runs}), flush=True)
        return result

    if spec["kind"] == "sympy":
        plain_sympy(spec["shape"], 1)
        stage("sympy", lambda: plain_sympy(spec["shape"], spec["depth"]))
    elif spec["kind"] == "derive":
        from derive.engine import backward
        from derive.load import parse_network_text
        from derive.solve import solve

        warm = solve(parse_network_text(chain_yaml(spec["shape"], 1)))
        warm.to_latex(), warm.to_json()
        text = chain_yaml(spec["shape"], spec["depth"])
        network = stage("parse", lambda: parse_network_text(text))
        stage("backward", lambda: backward(network))
        solution = stage("solve", lambda: solve(network))
        if "tex" in spec["stages"]:
            stage("tex", solution.to_latex)
        stage("json", solution.to_json)
    elif spec["kind"] == "grade":
        from derive.grade import grade, load_submission

        count = len(grade(load_submission(SHEET)))
        print(json.dumps({"stage": "answers", "count": count}), flush=True)
        stage("grade", lambda: grade(load_submission(SHEET)), clear=False)


def one_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return type(error).__name__ + (f": {lines[0][:160]}" if lines else "")


def run_worker(
    spec: dict[str, Any],
    stages: list[str],
    budget: float,
    *,
    memory_gb: float = MEMORY_GB,
    startup: float = STARTUP,
) -> tuple[dict[str, Measured], dict[str, Any]]:
    """Run ``worker(spec)`` in a subprocess; each stage's Measured, plus any other lines."""
    spec = spec | {"memory_gb": memory_gb}
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)]
    timed_out = False
    failure: list[str] = []
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=budget + startup, env=ENV
        )
        output = done.stdout
        if done.returncode:  # a crash the worker could not report itself
            killed = f"killed by signal {-done.returncode}" if done.returncode < 0 else ""
            failure = done.stderr.strip().splitlines()[-1:] or [killed or "exit status"]
    except subprocess.TimeoutExpired as expired:
        raw = expired.stdout or ""
        output = raw.decode() if isinstance(raw, bytes) else raw
        timed_out = True
    found: dict[str, Measured] = {}
    extra: dict[str, Any] = {}
    for line in output.splitlines():
        record = json.loads(line)
        if "runs" in record:
            found[record["stage"]] = Measured(record["runs"])
        elif "error" in record:
            found[record["stage"]] = Measured(status="error", detail=record["error"])
        else:
            extra[record["stage"]] = record
    stopped = any(m.status != "ok" for m in found.values())
    for name in stages:
        if name in found:
            continue
        if timed_out and not stopped:
            found[name] = Measured(status="over budget", budget=budget)
        elif failure and not stopped:
            found[name] = Measured(status="error", detail=failure[0])
        else:
            found[name] = Measured(status="skipped", detail="not reached")
        stopped = True
    return found, extra


# ---------------------------------------------------------------- the sections


def derive_command() -> list[str]:
    found = shutil.which("derive")
    return (
        [found]
        if found
        else [sys.executable, "-c", "import sys; from cli import main; sys.exit(main())"]
    )


def time_command(
    args: list[str],
    *,
    cwd: Path,
    repeats: int,
    budget: float,
    env: dict[str, str] | None = None,
) -> tuple[Measured, str]:
    """Wall time of ``derive ARGS`` (median of up to ``repeats`` runs while cheap) and stdout."""
    runs: list[float] = []
    stdout = ""
    while len(runs) < repeats:
        start = time.perf_counter()
        try:
            done = subprocess.run(
                derive_command() + args,
                cwd=cwd,
                capture_output=True,
                text=True,
                timeout=budget,
                env=ENV if env is None else env,
            )
        except subprocess.TimeoutExpired:
            return Measured(status="over budget", budget=budget), ""
        runs.append(time.perf_counter() - start)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["exit status"])[-1]
            return Measured(status="error", detail=f"exit {done.returncode}: {last}"), ""
        stdout = done.stdout
        if runs[-1] >= CHEAP:
            break
    return Measured(runs), stdout


def section_help(options: argparse.Namespace) -> dict[str, Any]:
    measured, _ = time_command(
        ["--help"], cwd=ROOT, repeats=5 if options.repeats > 1 else 3, budget=60
    )
    print_table(
        "derive --help (subprocess, wall time)",
        ["command", "time", "runs"],
        [["derive --help", measured.cell(), str(len(measured.runs))]],
    )
    return {"command": "derive --help", "time": measured.to_json()}


def section_grade(options: argparse.Namespace) -> dict[str, Any]:
    command = ["grade", str(SHEET), "--json"]
    once, stdout = time_command(command, cwd=ROOT, repeats=options.repeats, budget=options.budget)
    counted = len(json.loads(stdout)["rows"]) if stdout else 0  # a row per graded answer
    found, extra = run_worker(
        {"kind": "grade", "repeats": options.repeats}, ["grade"], 120.0, memory_gb=options.memory
    )
    in_process = (found["grade"], extra.get("answers", {}).get("count", 0))
    rows, report = [], {}
    for label, key, (timing, count) in (
        ("one subprocess", "subprocess", (once, counted)),
        ("in-process, repeated", "in_process", in_process),
    ):
        rate = count / timing.seconds if timing.seconds else None
        rows.append([label, timing.cell(), str(count), "-" if rate is None else f"{rate:.3g}"])
        report[key] = {"time": timing.to_json(), "answers": count, "answers_per_s": rate}
    title = f"derive grade {SHEET.relative_to(ROOT)}"
    print_table(title, ["how", "time", "answers", "answers/s"], rows)
    return report


def section_seed(options: argparse.Namespace) -> dict[str, Any]:
    outputs = [("tex", ["solve", "-o", "key.tex"]), ("json", ["solve", "-o", "key.json"])]
    if not options.quick:
        outputs.insert(0, ("pdf", ["solve"]))
    rows, report = [], []
    with tempfile.TemporaryDirectory(prefix="derive-benchmark-") as directory:
        cache = {**ENV, "DERIVE_CACHE_DIR": str(Path(directory) / "cache")}  # this run's own
        for name, args in outputs:
            for state, extra, env in (("cold", ["--no-cache"], ENV), ("warm", [], cache)):
                if name == "pdf" and not (shutil.which("pdflatex") or shutil.which("latexmk")):
                    measured = Measured(status="skipped", detail="no pdflatex")
                else:
                    if state == "warm":  # fill the cache once, untimed
                        subprocess.run(
                            derive_command() + args,
                            cwd=directory,
                            env=env,
                            check=False,
                            capture_output=True,
                        )
                    measured, _ = time_command(
                        args + extra,
                        cwd=Path(directory),
                        repeats=options.repeats,
                        budget=options.budget,
                        env=env,
                    )
                command = " ".join(["derive", *args, *extra])
                rows.append([name, state, command, measured.cell()])
                if measured.status == "error":
                    rows.append(["", "", f"  {measured.detail}"])
                report.append(
                    {"output": name, "cache": state, "command": command, "time": measured.to_json()}
                )
    print_table(
        "The seed key (subprocess in a temporary directory; warm: its own cache, filled first)",
        ["output", "cache", "command", "time"],
        rows,
        left=3,
    )
    return {"rows": report}


def derive_case(
    shape: str, depth: int, options: argparse.Namespace, *, tex: bool
) -> dict[str, Measured]:
    """One chain through derive's stages, in a worker under ``--budget``."""
    stages = ["parse", "backward", "solve", *(["tex"] if tex else []), "json"]
    spec = {"kind": "derive", "shape": shape, "depth": depth, "repeats": options.repeats}
    return run_worker(spec | {"stages": stages}, stages, options.budget, memory_gb=options.memory)[
        0
    ]


def section_sympy(options: argparse.Namespace) -> dict[str, Any]:
    rows, report = [], []
    for shape in SCALAR_CHAINS:
        for depth in (6, 8) if options.quick else (12, 16, 20):
            progress(f"sympy: {shape} depth {depth}")
            stages = derive_case(shape, depth, options, tex=False)
            backward = total([stages["parse"], stages["backward"]], options.budget)
            solved = total([stages["parse"], stages["solve"], stages["json"]], options.budget)
            spec = {"kind": "sympy", "shape": shape, "depth": depth, "repeats": options.repeats}
            limits = {"memory_gb": options.memory}
            sympy = run_worker(spec, ["sympy"], options.sympy_budget, **limits)[0]["sympy"]
            by_backward, by_solve = ratio(sympy, backward), ratio(sympy, solved)
            cells = [backward.cell(), solved.cell(), sympy.cell()]
            rows.append(
                [shape, str(depth), *cells, ratio_cell(*by_backward), ratio_cell(*by_solve)]
            )
            report.append(
                {
                    "chain": shape,
                    "depth": depth,
                    "derive_parse_backward": backward.to_json(),
                    "derive_parse_solve_json": solved.to_json(),
                    "derive_stages": {k: v.to_json() for k, v in stages.items()},
                    "sympy_diff": sympy.to_json(),
                    "ratio_sympy_over_backward": {"value": by_backward[0], "kind": by_backward[1]},
                    "ratio_sympy_over_solve_json": {"value": by_solve[0], "kind": by_solve[1]},
                }
            )
    headers = ["chain", "depth", "derive backward", "derive solve+JSON", "sympy.diff"]
    headers += ["SymPy/backward", "SymPy/solve"]
    print_table("Scalar chains: derive against plain sympy.diff (same run)", headers, rows)
    return {"rows": report}


def section_chains(options: argparse.Namespace) -> dict[str, Any]:
    names = ["parse", "backward", "solve", "tex", "json"]
    rows, report = [], []
    for shape in ("residual-tanh", *SCALAR_CHAINS):
        previous: tuple[int, float] | None = None
        too_slow: int | None = None  # the depth that ran over budget: deeper ones are skipped
        for depth in (5, 10) if options.quick else (10, 50, 100, 200):
            if too_slow is not None:
                skipped = Measured(status="skipped", detail=f"over budget at depth {too_slow}")
                stages = dict.fromkeys(names, skipped)
            else:
                progress(f"chains: {shape} depth {depth}")
                stages = derive_case(shape, depth, options, tex=True)
                if any(m.status == "over budget" for m in stages.values()):
                    too_slow = depth
            summed = total([stages[n] for n in ("parse", "solve", "tex", "json")], options.budget)
            growth = order = None
            if summed.seconds is not None and previous is not None:
                growth = summed.seconds / previous[1]
                order = math.log(growth) / math.log(depth / previous[0])
            previous = None if summed.seconds is None else (depth, summed.seconds)
            trend = [
                "-" if growth is None else f"{growth:.3g}×",
                "-" if order is None else f"{order:.2f}",
            ]
            rows.append(
                [shape, str(depth), *(stages[n].cell() for n in names), summed.cell(), *trend]
            )
            errors = [f"{n}: {m.detail}" for n, m in stages.items() if m.status == "error"]
            if errors:
                rows.append(["", "", "  " + "; ".join(errors)])
            report.append(
                {
                    "chain": shape,
                    "depth": depth,
                    "stages": {n: stages[n].to_json() for n in names},
                    "total": summed.to_json(),
                    "growth": growth,
                    "order": order,
                }
            )
    headers = ["chain", "depth", *names, "total", "growth", "k"]
    print_table("Chains: seconds per stage (total = parse + solve + tex + json)", headers, rows)
    return {"rows": report}


RUNNERS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "help": section_help,
    "grade": section_grade,
    "seed": section_seed,
    "sympy": section_sympy,
    "chains": section_chains,
}


# ---------------------------------------------------------------- output


def print_table(title: str, headers: list[str], rows: list[list[str]], *, left: int = 1) -> None:
    """A plain-text table, the first ``left`` columns flush left; a short row is a note."""
    full = [r for r in rows if len(r) == len(headers)]
    widths = [max(len(r[i]) for r in [headers, *full]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        placed = [
            c.ljust(w) if i < left else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(placed).rstrip()

    print(f"\n{title}\n{line(headers)}\n{line(['-' * w for w in widths])}")
    for row in rows:
        print(line(row) if len(row) == len(headers) else "  ".join(row).rstrip())
    sys.stdout.flush()


def progress(message: str) -> None:
    print(f"... {message}", file=sys.stderr, flush=True)


def meta(options: argparse.Namespace) -> dict[str, Any]:
    import sympy

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    changed = git("status", "--porcelain", "--", "derive", "cli.py")
    return {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "commit": git("rev-parse", "HEAD"),
        "uncommitted_changes": None if changed is None else bool(changed),
        "python": platform.python_version(),
        "sympy": sympy.__version__,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "quick": options.quick,
        "repeats": options.repeats,
        "budget_s": options.budget,
        "sympy_budget_s": options.sympy_budget,
        "memory_gb": options.memory,
        "derive_command": derive_command(),
    }


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--quick", action="store_true", help="small depths, one run each: a smoke test"
    )
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"sections to run: {','.join(SECTIONS)}"
    )
    parser.add_argument(
        "--json", type=Path, default=Path("benchmark.json"), help="where to write the numbers"
    )
    parser.add_argument("--budget", type=float, default=300.0, help="seconds for one derive case")
    parser.add_argument(
        "--sympy-budget", type=float, default=60.0, help="seconds for plain SymPy at one depth"
    )
    parser.add_argument(
        "--memory", type=float, default=MEMORY_GB, help="GiB of address space per timed case"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    options.sections = [s.strip() for s in options.only.split(",") if s.strip()]
    unknown = sorted(set(options.sections) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    options.repeats = 1 if options.quick else 3
    return options


def main(argv: list[str] | None = None) -> None:
    options = parse_arguments(argv)
    if options.worker:
        worker(json.loads(options.worker))
        return
    report: dict[str, Any] = {"meta": meta(options), "sections": {}}
    started = time.perf_counter()
    for name in SECTIONS:
        if name in options.sections:
            report["sections"][name] = RUNNERS[name](options)
    report["meta"]["wall_s"] = time.perf_counter() - started
    options.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nWrote {options.json.resolve()} ({report['meta']['wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
