"""A generated class for the grading tests and the timing by hand: a problem set with a vector
and a scalar network, and students whose answers mix correct forms, the usual mistakes and
hostile inputs (exponent towers, 50 000-character answers, unreadable LaTeX, wrong shapes).

    python -m tests.grading_class_data DIR 1000
    derive grade DIR/key.yaml DIR/answers/*.yaml -o book.csv
"""

from __future__ import annotations

import random
import shutil
import sys
from pathlib import Path

from derive.examples import example_path

KEY = """\
title: Homework 4
problems:
  - id: hw-1
    kind: network
    network: two_layer.yaml
  - id: hw-2
    kind: network
    network: seed_problem1.yaml
"""

DELTA = "(y - t) sigmoid(z) (1 - sigmoid(z))"
HIDDEN = f"{DELTA} W2^T .* sigmoid(s) .* (1 - sigmoid(s))"
SCALAR_HIDDEN = f"{DELTA} W2 sigmoid(s) (1 - sigmoid(s))"

# part -> answers a student may give: correct forms first, then mistakes
ANSWERS: dict[str, list[str]] = {
    "hw-1.W2": [
        f"{DELTA} h^T",
        "y (1 - y) (y - t) h^T",
        r"'(y - t)\,\sigma(z)\left(1 - \sigma(z)\right) h^{\top}'",
        f"-{DELTA} h^T",
        f"{DELTA} h",  # transposed
    ],
    "hw-1.b2": [DELTA, "(y - t) y (1 - y)", f"2 {DELTA}", "sigmoid(z) (1 - sigmoid(z))"],
    "hw-1.b1": [HIDDEN, f"({DELTA}) W2^T .* h .* (1 - h)", f"{DELTA} W2^T"],
    "hw-1.W1": [f"({HIDDEN}) x^T", f"{DELTA} x^T", f"({HIDDEN}) x"],
    "hw-2.W2": [
        f"{DELTA} h",
        r"'(y - t) \sigma(z) (1 - \sigma(z)) h'",
        "-sigmoid(z) (1 - sigmoid(z)) h",
    ],
    "hw-2.b1": [SCALAR_HIDDEN, f"{DELTA} W2 h (1 - h)", f"{DELTA} W2"],
    "hw-2-skip.W1": [
        f"{DELTA} (W2 sigmoid(s) (1 - sigmoid(s)) + 1) x",
        f"{SCALAR_HIDDEN} x",  # the path through the skip left out
        f"{DELTA} (W2 sigmoid(s) (1 - sigmoid(s)) - 1) x",
    ],
    "hw-2-skip.b2": [DELTA, f"-{DELTA}", "(y - t)"],
}

HOSTILE = [
    "x^(10^(10^10))",  # an exponent tower
    "x + " * 12_500 + "x",  # 50 000 characters
    r"'\frac{(y - t}{\sigma(z)'",  # unreadable LaTeX
    r"'\input{/etc/passwd} \write18{rm -rf /}'",
    "W1",  # a matrix where a row is asked: the wrong shape
    "((((((((((((((((((((((((((((((((((((((((x))))))))))))))))))))))))))))))))))))))))",
    "log(-1) h",
    "q h",  # an undefined symbol
]


def write_class(directory: Path, students: int, *, seed: int = 7, hostile: float = 0.05) -> Path:
    """The key (key.yaml) and ``students`` answer files (answers/s0000.yaml, ...) in
    ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("two-layer", "seed-problem-1"):
        source = Path(example_path(name))
        shutil.copy(source, directory / source.name)
    (directory / "key.yaml").write_text(KEY, encoding="utf-8")
    rng = random.Random(seed)
    (directory / "answers").mkdir(exist_ok=True)
    for number in range(students):
        lines = [f"student: s{number:04d}"]
        for part, choices in ANSWERS.items():
            answer = rng.choice(HOSTILE) if rng.random() < hostile else rng.choice(choices)
            if not answer.startswith("'"):
                answer = f"'{answer}'"
            lines.append(f"{part}: {answer}")
        path = directory / "answers" / f"s{number:04d}.yaml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return directory / "key.yaml"


if __name__ == "__main__":
    write_class(Path(sys.argv[1]), int(sys.argv[2]))
