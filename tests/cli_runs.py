"""What the command-line test files share: a console script run the way a user runs it, in a new process.

`Command("neurotic.nlp.lm_cli")` runs that module's `main` under this test's interpreter (so the tests do
not depend on PATH), on the CPU, with the test's environment. The helpers below it cover what every
training command is checked for: a quick `--help` that imports no JAX, a copy of a shared run that a test may
damage, and the one line an interrupted run prints.
"""
import os
import shutil
import subprocess
import sys
import time

ENV = {"JAX_PLATFORMS": "cpu"}


class Command:
    "A console script's `main` in `module`, run in new processes."

    def __init__(self, module):  # e.g. "neurotic.nlp.lm_cli"
        self.module = module
        self.argv = [sys.executable, "-c", f"import sys; from {module} import main; sys.exit(main())"]

    def __call__(self, *args, stdin=None, env=None, cwd=None):
        "Run the command with `args` and wait; the completed process, with its text output."
        return subprocess.run([*self.argv, *map(str, args)], input=stdin, capture_output=True, text=True,
                              timeout=300, env={**os.environ, **ENV, **(env or {})}, cwd=cwd)

    def start(self, *args):
        "Start the command with `args` in the background; the `Popen`, its output piped as text."
        return subprocess.Popen([*self.argv, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env={**os.environ, **ENV})

    def check_help(self, subcommands):
        "`--help` is built without importing JAX, and lists every one of `subcommands`."
        probe = subprocess.run([sys.executable, "-c", f"import sys; from {self.module} import build_parser; "
                                "build_parser().format_help(); print('jax' in sys.modules)"],
                               capture_output=True, text=True, timeout=60)
        assert probe.stdout.strip() == "False", probe.stderr
        done = self("--help")
        assert done.returncode == 0, done.stderr
        for name in subcommands:
            assert name in done.stdout


def copy_of(run_dir, tmp_path):
    "A copy of a shared run that a test may damage."
    target = tmp_path / "copy"
    shutil.copytree(run_dir, target)
    return target


def wait_for(path, process, seconds=240):
    "Wait until `path` exists while `process` still runs; fails after `seconds`."
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.2)


def interrupted_step(stderr, program, checkpoint):
    "The step named by an interrupted run's last line, after checking that line word for word."
    line = stderr.strip().splitlines()[-1]
    step = int(line.split("Interrupted at step ")[1].split(";")[0])
    assert line == (f"{program}: Interrupted at step {step}; checkpoint saved to {checkpoint}. "
                    "Run the same command again to resume.")
    return step
