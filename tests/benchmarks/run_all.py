"""Run every benchmark script in this folder, one after the other, in one process each."""
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    failed = []
    for script in sorted(HERE.glob("bench_*.py")):
        code = subprocess.run([sys.executable, str(script), *sys.argv[1:]]).returncode
        if code: failed.append(script.name)
    if failed:
        print(f"\nbenchmarks with missed targets or errors: {', '.join(failed)}")
        sys.exit(1)
