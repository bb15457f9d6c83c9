"""Run pytest over tests/; "no tests collected" (exit 5) is not a failure."""
import sys

import pytest

if __name__ == "__main__":
    code = pytest.main(["tests", *sys.argv[1:]])
    sys.exit(0 if code == pytest.ExitCode.NO_TESTS_COLLECTED else int(code))
