#!/usr/bin/env bash
# Builds a side virtual environment with real Trax 1.4.1, used only to record the reference
# fixtures in tests/fixtures/trax/ (tools/trax_reference/record_fixtures.py). It is never a
# dependency of neurotic or of its tests.
#   bash tools/trax_reference/make_trax_venv.sh [VENV_DIR]   (default /tmp/traxvenv)
# Trax 1.4.1 (2021) needs a JAX that still has jax.ops.index_add and friends, and a
# TensorFlow / tensorflow-text pair for the same Python; Python 3.10 with the pins below works.
set -euo pipefail
VENV=${1:-/tmp/traxvenv}
PY=${TRAX_PYTHON:-}
if [ -z "$PY" ]; then
  for candidate in python3.10 /root/.pyenv/versions/3.10.*/bin/python3.10; do
    if "$candidate" --version >/dev/null 2>&1; then PY=$candidate; break; fi
  done
fi
[ -n "$PY" ] || { echo "make_trax_venv.sh: no python3.10 found (set TRAX_PYTHON)" >&2; exit 1; }
"$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade "pip<24" "setuptools<66" wheel
"$VENV/bin/pip" install -q \
  "trax==1.4.1" "jax==0.4.13" "jaxlib==0.4.13" \
  "tensorflow==2.12.1" "tensorflow-text==2.12.1" "tensorflow-datasets==4.9.2" \
  "numpy==1.23.5" "protobuf==3.20.3" "gym==0.26.2" "scipy==1.10.1" "ml-dtypes==0.2.0"
"$VENV/bin/python" -c "import trax, jax; print('trax', trax.__version__ if hasattr(trax, '__version__') else '1.4.1', 'jax', jax.__version__)"
