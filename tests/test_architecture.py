"""The architecture holds: the import contract of `.importlinter` (layers that point one way), and functions
small and simple enough to read (docs/architecture.md)."""
import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
PACKAGES = ("gateway", "transforms", "schemas", "corrections", "console")
MAX_FUNCTION_LINES = 80


def test_the_import_contract_is_kept():
    """Stages import no Beam, no driver and no app; the stages are layered; shared types import no stage."""
    linter = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(linter), "--config", str(ROOT / ".importlinter"), "--no-cache"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_no_function_is_longer_than_80_lines():
    long = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    lines = node.end_lineno - node.lineno + 1
                    if lines > MAX_FUNCTION_LINES:
                        long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    assert long == []


# The parser's index passes (one state machine over a file's lines; the plan of a big declaration's parts),
# their speed measured in bench/, are the functions allowed to stay branchy: splitting them costs a call per
# line or per piece.
BRANCHY_ALLOWED = {"gateway/parse/index.py:index_envois", "gateway/parse/windows.py:plan_parts"}
MAX_COMPLEXITY = 20                 # radon's grade C ends at 20


def test_no_function_is_more_complex_than_grade_c():
    """Cyclomatic complexity (radon) of every function and method at most 20, the parser's index passes aside."""
    from radon.complexity import cc_visit
    complex_ = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for block in cc_visit(path.read_text(encoding="utf-8")):
                name = f"{path.relative_to(ROOT)}:{block.name}"
                if block.complexity > MAX_COMPLEXITY and name not in BRANCHY_ALLOWED:
                    complex_.append(f"{name} ({block.complexity})")
    assert complex_ == []


def test_the_architecture_page_names_every_module_of_the_gateway():
    """docs/architecture.md stays true: each module and package of gateway/ has its place on the page."""
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    names = sorted(p.stem if p.is_file() else p.name for p in (ROOT / "gateway").iterdir()
                   if (p.suffix == ".py" and not p.name.startswith("_")) or (p / "__init__.py").exists())
    assert [name for name in names if f"gateway.{name}" not in page] == []
