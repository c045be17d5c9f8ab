"""Rendering hand-built Solutions to LaTeX, Markdown, JSON and PDF."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import sympy as sp
from sympy.core.symbol import Str
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.hadamard import HadamardProduct

from derive.errors import RenderError, ToolMissingError
from derive.functions import SREPR_NAMESPACE, sigmoid
from derive.model import Answer, Line, Part, Solution, Step, Tex, Verification
from derive.render import (
    format_for_path,
    render_json,
    render_latex,
    render_latex_fragment,
    render_markdown,
    render_questions_latex,
    render_questions_markdown,
    write_output,
    write_pdf,
)
from derive.render import pdf as pdf_module
from derive.render.environment import escape_latex, escape_markdown, math
from derive.render.pdf import log_errors

n, k = sp.symbols("n k", integer=True, positive=True)
i, j = sp.symbols("i j", integer=True)
W1 = sp.MatrixSymbol("W1", k, n)
x = sp.MatrixSymbol("x", n, 1)
b1 = sp.MatrixSymbol("b1", k, 1)
s = sp.MatrixSymbol("s", k, 1)
w2 = sp.MatrixSymbol("w2", k, 1)
delta_s = sp.MatrixSymbol("delta_s", k, 1)
delta_h = sp.MatrixSymbol("delta_h", k, 1)
t, y = sp.symbols("t y")
delta_y = sp.Symbol("delta_y")
ones = sp.OneMatrix(k, 1)

NASTY = "a_b & c % $ # { } ~ ^ \\"  # every character that means something to TeX


def _sigma(v: sp.MatrixExpr) -> sp.MatrixExpr:
    return ElementwiseApplyFunction(sigmoid, v)


GRADIENT = (y - t) * HadamardProduct(w2, _sigma(W1 * x + b1), ones - _sigma(W1 * x + b1)) * x.T
DW1 = Tex(r"\frac{\partial e}{\partial W_{1}}")


def two_layer(
    *, title: str = "Two-layer network", ok: bool = True, verified: bool = True
) -> Solution:
    """The gradient of a sigmoid two-layer net's squared error with respect to W1."""
    part = Part(
        name="main",
        heading="Gradient with respect to W1",
        statement="Find the gradient of e with respect to W1.",
        assumptions=["Denominator layout.", Tex(r"x \in \mathbb{R}^{n}")],
        setup=[Line(s, W1 * x + b1), Line(y, (w2.T * _sigma(s))[0, 0])],
        steps=[
            Step(
                "Backpropagate into y",
                (Line(delta_y, Tex(r"\frac{\partial e}{\partial y}")), Line("", y - t)),
                rule="derivative of a square",
            ),
            Step(
                "Backpropagate into s",
                (Line(delta_s, HadamardProduct(delta_h, _sigma(s), ones - _sigma(s))),),
                rule="elementwise sigmoid",
                rule_math=Tex(r"\sigma'(x) = \sigma(x)\,(1 - \sigma(x))"),
            ),
            Step("Read off the gradient", (Line(DW1, delta_s * x.T), Line("", GRADIENT))),
        ],
        answers={
            "W1": Answer(
                "W1",
                DW1,
                GRADIENT,
                shape=("k", "n"),
                compact=delta_s * x.T,
                index_form=Line(
                    Tex(r"\frac{\partial e}{\partial (W_{1})_{ij}}"), delta_s[i, 0] * x[j, 0]
                ),
            ),
            "t": Answer("t", Tex(r"\frac{\partial e}{\partial t}"), t - y),
            "c": Answer("c", "c", sp.Rational(-5, 3)),
        },
        verification=Verification(points=5, max_rel_error=3.1e-10, ok=ok) if verified else None,
    )
    return Solution(title=title, parts=[part])


def nasty_text_everywhere() -> Solution:
    """A solution whose every piece of user text is NASTY."""
    part = Part(
        name="main",
        heading=NASTY,
        statement=NASTY,
        assumptions=[NASTY],
        steps=[Step(NASTY, (Line(NASTY, t - y),), rule=NASTY)],
        answers={"c": Answer("c", NASTY, sp.Integer(2))},
        verification=Verification(points=1, max_rel_error=0.0, ok=True),
    )
    return Solution(title=NASTY, parts=[part], subtitle=NASTY)


# --- escaping and the math filter --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a_b", r"a\_b"),
        ("&", r"\&"),
        ("100%", r"100\%"),
        ("$5", r"\$5"),
        ("#1", r"\#1"),
        ("{x}", r"\{x\}"),
        ("~", r"\textasciitilde{}"),
        ("^", r"\textasciicircum{}"),
        ("\\", r"\textbackslash{}"),
        ("a<b>c", r"a\textless{}b\textgreater{}c"),
        ("σ", r"\ensuremath{\sigma}"),
        ("plain text", "plain text"),
    ],
    ids=["underscore", "ampersand", "percent", "dollar", "hash", "braces", "tilde", "caret",
         "backslash", "angle", "greek", "plain"],
)  # fmt: skip
def test_escape_latex(text: str, expected: str) -> None:
    assert escape_latex(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a_b *c*", r"a\_b \*c\*"),
        ("$x$ & #", r"\$x\$ \& \#"),
        ("- not a list", r"\- not a list"),
        ("1. not a list", r"1\. not a list"),
        ("[link](url)", r"\[link\](url)"),
    ],
    ids=["emphasis", "math-and-entities", "list", "numbered-list", "link"],
)
def test_escape_markdown(text: str, expected: str) -> None:
    assert escape_markdown(text) == expected


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (delta_s * x.T, r"\delta_{s} x^{\top}"),
        (Tex(r"\frac{\partial e}{\partial t}"), r"\frac{\partial e}{\partial t}"),
        ("a_b & c", r"\text{a\_b \& c}"),
        ("", ""),
        (None, ""),
    ],
    ids=["sympy", "tex", "text", "empty", "none"],
)
def test_math_filter(item: object, expected: str) -> None:
    assert math(item) == expected  # type: ignore[arg-type]


def test_math_filter_rejects_other_types() -> None:
    with pytest.raises(TypeError, match="float"):
        math(1.5)  # type: ignore[arg-type]


# --- LaTeX -------------------------------------------------------------------------------------


def test_latex_document_lays_out_the_solution() -> None:
    document = render_latex(two_layer())
    assert document.startswith(r"\documentclass")
    assert document.rstrip().endswith(r"\end{document}")
    for piece in [
        r"\section*{Gradient with respect to W1}",
        "Find the gradient of e with respect to W1.",
        r"\item Denominator layout.",
        r"\item $x \in \mathbb{R}^{n}$",
        r"s &= W_{1} x + b_{1}",  # a setup line, aligned
        r"\paragraph{Step 1. Backpropagate into y.}",
        r"\delta_{y} &= \frac{\partial e}{\partial y} \\",
        r" &= y - t",  # a continuation line
        r"\deriverule{elementwise sigmoid\quad $\sigma'(x) = \sigma(x)\,(1 - \sigma(x))$}",
        r"\delta_{s} &= \delta_{h} \odot \sigma(s) \odot (\mathbf{1} - \sigma(s))",
        "\\deriveanswer{\\begin{aligned}\n  \\frac{\\partial e}{\\partial W_{1}} &= (y - t) ",
        r"In terms of the adjoints: $\frac{\partial e}{\partial W_{1}} = \delta_{s} x^{\top}$",
        r"Shape: $k \times n$",
        r"= \delta_{s,i} x_{j}$",
        r"\text{c} &= - \frac{5}{3}",  # boxed, in an aligned block like every answer
        "Shape: scalar",
        "Checked numerically at 5 points against complex-step derivatives (float64):"
        " max relative error 3.1e-10.",
    ]:
        assert piece in document
    assert r"\begin{align*}" in document  # lines are set in align*
    assert r"\[\boxed{#1}\]" in document  # answers are boxed displays


def test_latex_escapes_all_user_text() -> None:
    document = render_latex(nasty_text_everywhere())
    escaped = escape_latex(NASTY)
    body = document.split(r"\begin{document}")[1]
    as_math = rf"\text{{{escaped}}}"
    assert body.count(as_math) == 2  # the line's lhs and the label
    as_text = body.replace(as_math, "")
    assert (
        as_text.count(escaped) == 7
    )  # title, subtitle, heading, statement, assumption, step, rule
    assert NASTY not in document


def test_failed_and_missing_checks_are_stated() -> None:
    assert "Numerical check FAILED" in render_latex(two_layer(ok=False))
    assert "Do not use these answers." in render_latex(two_layer(ok=False))
    assert "Not checked numerically." in render_latex(two_layer(verified=False))


def test_step_title_punctuation_is_not_doubled() -> None:
    solution = two_layer()
    solution.parts[0].steps[0] = Step("Why?", (Line(t, y),))
    assert r"\paragraph{Step 1. Why?}" in render_latex(solution)


def test_fragment_is_the_answers_in_one_aligned_block() -> None:
    fragment = render_latex_fragment(two_layer())
    assert fragment.startswith(r"$$\begin{aligned}")
    assert fragment.endswith(r"\end{aligned}$$")
    assert r"\frac{\partial e}{\partial t} &= t - y \\" in fragment
    assert fragment.count(r"\\") == 2  # three answers, no trailing row break
    assert two_layer()._repr_latex_() == fragment


def test_fragment_tags_answers_with_their_part_when_there_are_several() -> None:
    solution = two_layer()
    second = Part(name="v", heading="Variant & co", answers={"t": solution.parts[0].answers["t"]})
    solution.parts.append(second)
    assert r"&&\text{(Variant \& co)}" in render_latex_fragment(solution)


# --- Markdown ----------------------------------------------------------------------------------


def test_markdown_lays_out_the_solution() -> None:
    markdown = render_markdown(two_layer(title="Net_1 & *friends*"))
    for piece in [
        r"# Net\_1 \& \*friends\*",
        "## Gradient with respect to W1",
        r"- $x \in \mathbb{R}^{n}$",
        "$$\n\\begin{aligned}\ns &= W_{1} x + b_{1} \\\\\n",
        "**Step 1. Backpropagate into y.**",
        r"*elementwise sigmoid* $\sigma'(x) = \sigma(x)\,(1 - \sigma(x))$",
        "$$\n\\boxed{\\frac{\\partial e}{\\partial t} = t - y}\n$$",
        r"- In terms of the adjoints: $\frac{\partial e}{\partial W_{1}} = \delta_{s} x^{\top}$",
        r"- Shape: $k \times n$",
        "max relative error 3.1e-10.",
    ]:
        assert piece in markdown
    assert "\n\n\n" not in markdown


def test_markdown_escapes_all_user_text() -> None:
    markdown = render_markdown(nasty_text_everywhere())
    assert markdown.count(escape_markdown(NASTY)) == 7
    assert NASTY not in markdown


# --- the problem sheet -------------------------------------------------------------------------


def test_questions_show_the_problem_without_the_solution() -> None:
    document = render_questions_latex(two_layer())
    markdown = render_questions_markdown(two_layer())
    for text in (document, markdown):
        assert "Find the gradient of e with respect to W1." in text
        assert r"s &= W_{1} x + b_{1}" in text  # the setup
        assert r"\frac{\partial e}{\partial W_{1}}$" in text  # what to find
        assert r"\delta_{s}" not in text
        assert "Checked numerically" not in text
    assert r"\item $\displaystyle \frac{\partial e}{\partial t}$ \hfill (scalar)" in document
    assert r"1. $\frac{\partial e}{\partial W_{1}}$ ($k \times n$)" in markdown


def test_questions_are_not_written_as_json(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="problem sheet can be written as tex, md or pdf"):
        write_output(two_layer(), tmp_path / "q.json", questions=True)
    write_output(two_layer(), tmp_path / "q.md", questions=True)
    assert "## Gradient with respect to W1" in (tmp_path / "q.md").read_text(encoding="utf-8")


# --- JSON --------------------------------------------------------------------------------------


def _rebuild(srepr: str) -> sp.Basic:
    namespace: dict[str, object] = {**vars(sp), **SREPR_NAMESPACE}
    namespace.update(Str=Str, ElementwiseApplyFunction=ElementwiseApplyFunction)
    return eval(srepr, namespace)  # tests only: srepr strings come from our own output


def test_json_contract() -> None:
    document = json.loads(render_json(two_layer()))
    assert set(document) == {"title", "parts"}
    assert document["title"] == "Two-layer network"
    (part,) = document["parts"]
    assert {"name", "answers", "verification"} <= set(part)
    assert part["name"] == "main"
    assert part["heading"] == "Gradient with respect to W1"
    assert part["verification"] == {"points": 5, "max_rel_error": 3.1e-10, "ok": True}
    assert list(part["answers"]) == ["W1", "t", "c"]
    gradient = part["answers"]["W1"]
    assert set(gradient) == {"shape", "latex", "sympy"}
    assert gradient["shape"] == ["k", "n"]
    assert gradient["latex"].startswith("(y - t) (")
    assert part["answers"]["t"] == {
        "shape": [],
        "latex": "t - y",
        "sympy": "Add(Symbol('t'), Mul(Integer(-1), Symbol('y')))",
    }
    assert part["answers"]["c"]["value"] == "-5/3"
    assert part["answers"]["c"]["float"] == pytest.approx(-5 / 3)


def test_json_sympy_strings_rebuild_the_answers() -> None:
    solution = two_layer()
    document = json.loads(render_json(solution))
    for name, entry in document["parts"][0]["answers"].items():
        original = solution.parts[0].answers[name].value
        rebuilt = _rebuild(entry["sympy"])
        assert rebuilt == original, name
        assert sp.srepr(rebuilt) == entry["sympy"]


def test_json_without_verification_is_null() -> None:
    document = json.loads(render_json(two_layer(verified=False)))
    assert document["parts"][0]["verification"] is None


def test_json_is_indented_and_keeps_key_order() -> None:
    text = render_json(two_layer())
    assert text.startswith('{\n  "title": "Two-layer network",\n  "parts": [')


# --- writing files -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file_name", "fmt", "marker"),
    [
        ("key.tex", None, r"\documentclass"),
        ("key.out", "latex", r"\documentclass"),
        ("key.md", None, "# Two-layer network"),
        ("key.txt", "markdown", "# Two-layer network"),
        ("key.json", None, '"title": "Two-layer network"'),
    ],
    ids=["tex", "latex-alias", "md", "markdown-alias", "json"],
)
def test_write_output(tmp_path: Path, file_name: str, fmt: str | None, marker: str) -> None:
    target = tmp_path / file_name
    write_output(two_layer(), target, fmt)
    assert marker in target.read_text(encoding="utf-8")


def test_write_output_rejects_unknown_formats(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="unknown output format 'docx'"):
        write_output(two_layer(), tmp_path / "key.docx", "docx")
    with pytest.raises(RenderError, match="cannot tell the output format"):
        format_for_path(tmp_path / "key.docx")
    assert format_for_path("KEY.PDF") == "pdf"


def test_write_output_reports_unwritable_paths(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="cannot write"):
        write_output(two_layer(), tmp_path / "missing-dir" / "key.md")


# --- PDF ---------------------------------------------------------------------------------------


def test_missing_tex_is_a_tool_missing_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(pdf_module.shutil, "which", lambda name: None)
    with pytest.raises(ToolMissingError, match=r"texlive-latex-base .*latexmk"):
        write_pdf(two_layer(), tmp_path / "key.pdf")
    assert not (tmp_path / "key.pdf").exists()


def test_timeout_is_a_render_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def hang(command: list[str], **kwargs: object) -> None:
        raise subprocess.TimeoutExpired(command, pdf_module.TIMEOUT_SECONDS)

    monkeypatch.setattr(pdf_module.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(pdf_module.subprocess, "run", hang)
    with pytest.raises(RenderError, match="did not finish within 120 s"):
        write_pdf(two_layer(), tmp_path / "key.pdf")


def test_log_errors_picks_the_error_lines() -> None:
    log = "\n".join(
        [
            "(./solution.tex",
            "LaTeX2e <2022-11-01>",
            "! Undefined control sequence.",
            "<argument> \\nosuchmacro",
            "                          ",
            "l.42   \\item $\\nosuchmacro$",
            "Here is how much of TeX's memory you used:",
        ]
    )
    assert log_errors(log) == [
        "! Undefined control sequence.",
        "<argument> \\nosuchmacro",
        "                          ",
        "l.42   \\item $\\nosuchmacro$",
    ]


def _require(*programs: str) -> None:
    """Skip when a TeX program is missing, except under CI where that is a failure."""
    missing = [p for p in programs if shutil.which(p) is None]
    if missing and os.environ.get("CI"):
        pytest.fail(f"CI needs {', '.join(missing)} (apt-get install latexmk poppler-utils)")
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")


def _pdf_text(path: Path) -> str:
    completed = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return completed.stdout


@pytest.mark.slow
def test_pdf_compiles_and_reads_back(tmp_path: Path) -> None:
    _require("latexmk", "pdftotext")
    target = tmp_path / "key.pdf"
    write_pdf(two_layer(title="Two-layer network & friends: 100%"), target)
    assert target.read_bytes().startswith(b"%PDF")
    text = _pdf_text(target)
    assert "Two-layer network & friends: 100%" in text
    assert "Gradient with respect to W1" in text
    assert "Checked numerically at 5 points" in text
    assert "∂e" in text and "∂t" in text  # the answer labels
    assert "Shape: scalar" in text


@pytest.mark.slow
def test_pdf_with_nasty_text_and_long_answer_compiles(tmp_path: Path) -> None:
    _require("latexmk", "pdftotext")
    solution = nasty_text_everywhere()
    long_value = sum(sp.Symbol(f"w{index}") * sp.Symbol(f"x{index}") for index in range(60))
    solution.parts[0].answers["long"] = Answer(
        "long", Tex(r"\frac{\partial e}{\partial b}"), long_value
    )
    target = tmp_path / "key.pdf"
    write_pdf(solution, target)
    text = _pdf_text(target)
    # Computer Modern draws _ as a rule and ~ ^ as accents: pdftotext reads them as " ˜ ˆ".
    assert "b & c % $ # { }" in text
    assert "w59 x59" in text  # the long answer was broken across lines, not cut off


@pytest.mark.slow
def test_pdflatex_fallback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _require("pdflatex", "pdftotext")
    real_which = shutil.which
    monkeypatch.setattr(
        pdf_module.shutil, "which", lambda name: None if name == "latexmk" else real_which(name)
    )
    target = tmp_path / "key.pdf"
    write_pdf(two_layer(), target)
    assert "Two-layer network" in _pdf_text(target)


@pytest.mark.slow
def test_latex_failure_is_a_render_error_with_the_log_lines(tmp_path: Path) -> None:
    _require("latexmk")
    solution = two_layer()
    solution.parts[0].assumptions.append(Tex(r"\nosuchmacro{x}"))
    with pytest.raises(RenderError) as failure:
        write_pdf(solution, tmp_path / "key.pdf")
    message = str(failure.value)
    assert "! Undefined control sequence." in message
    assert "nosuchmacro" in message
    assert "\n  l." in message  # log lines indented under the Error: line
    assert "Traceback" not in message
    assert not (tmp_path / "key.pdf").exists()


@pytest.mark.slow
def test_questions_pdf_compiles(tmp_path: Path) -> None:
    _require("latexmk", "pdftotext")
    target = tmp_path / "questions.pdf"
    write_output(two_layer(), target, questions=True)
    text = _pdf_text(target)
    assert "Find" in text
    assert "Checked numerically" not in text


@pytest.mark.slow
def test_course_unicode_in_user_text_compiles(tmp_path: Path) -> None:
    """Statements copied from course notes: primes, hats, norms, roots, subscripts, symbols."""
    if shutil.which("latexmk") is None:
        if os.environ.get("CI"):
            pytest.fail("TeX Live is required under CI")
        pytest.skip("TeX Live not installed")
    title = "tanh′(z) = 1 − tanh²(z); x̂ᵢ = (xᵢ − μ)/√(σ² + ε); ‖x‖ … ☃"
    solution = Solution(title=title, parts=[Part(name="main", heading=title, statement=title)])
    write_pdf(solution, tmp_path / "unicode.pdf")
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "unicode.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "tanh" in text and "?" in text
