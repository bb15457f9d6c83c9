"""The package as a user first meets it: a light import, and a README that matches its notebook."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FRAMEWORKS = ("jax", "tensorflow", "torch", "trax")


def test_import_neurotic_loads_no_framework():
    probe = "import sys, neurotic; print(' '.join(m for m in %r if m in sys.modules))" % (FRAMEWORKS,)
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.strip() == "", f"`import neurotic` imported {result.stdout.strip()}"


def test_neurotic_rnn_loads_jax_but_no_other_framework():
    probe = "import sys, neurotic.rnn; print(' '.join(m for m in %r if m in sys.modules))" % (FRAMEWORKS,)
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.split() == ["jax"]


def test_command_help_loads_no_framework_and_no_nltk():
    "Both commands import their heavy modules only when a subcommand runs, so `--help` answers at once."
    for module in ("neurotic.nlp.twitter.cli", "neurotic.nlp.lm_cli"):
        probe = (f"import sys; from {module} import build_parser; build_parser().format_help(); "
                 f"print(' '.join(m for m in {FRAMEWORKS + ('nltk',)!r} if m in sys.modules))")
        result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
        assert result.stdout.strip() == "", f"{module}'s parser imported {result.stdout.strip()}"


def test_readme_is_in_sync_with_the_index_notebook():
    "The README check of tools/check_sync.py: README.md is what tools/make_readme.py writes."
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "make_readme.py"), "--check"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
