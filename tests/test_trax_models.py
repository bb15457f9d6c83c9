"""Trax 1.4.1's Transformer models and `LSTMSeq2SeqAttn`, checked against outputs recorded from real Trax.

`tests/fixtures/trax/models.npz` and `models.json` were written by
`tools/trax_reference/record_model_fixtures.py` in a side environment with Trax 1.4.1
(`tools/trax_reference/make_trax_venv.sh`). For each model and mode the fixtures hold the arguments, the
inputs, Trax's flattened weights (one set per model, shared by its modes), the outputs, the repr and the
nesting and shapes of the weight and state trees. Here the same model is built with neurotic from the same
arguments and given Trax's weights by position; it must hold Trax's trees, print Trax's repr and give Trax's
outputs to 1e-5. In 'predict' mode the decoder is fed one token per call, as the recording script fed Trax.
"""
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import neurotic as trax
from neurotic.shapes import ShapeDtype

FIXTURES = Path(__file__).parent / "fixtures" / "trax"
ARRAYS = np.load(FIXTURES / "models.npz")
RECORDED = json.loads((FIXTURES / "models.json").read_text())
CASES = RECORDED["cases"]
MODELS = RECORDED["models"]  # name -> [Trax constructor, keyword arguments]


def _recorded(prefix, kind):
    "The arrays `<prefix>/<kind>0`, `<prefix>/<kind>1`, ... in order."
    found, i = [], 0
    while f"{prefix}/{kind}{i}" in ARRAYS.files:
        found.append(ARRAYS[f"{prefix}/{kind}{i}"])
        i += 1
    return found


def _shapes(tree):
    "The nesting of a weight or state tree with each array's shape, printed as the recording script printed Trax's."
    return str(jax.tree.map(np.shape, tree))


def _model_with_trax_weights(case):
    "Our model for `case`, initialised for the recorded inputs and given Trax's weights by position."
    record = CASES[case]
    constructor = MODELS[record["model"]][0]
    model = getattr(trax.models, constructor)(**record["arguments"])
    inputs = _recorded(case, "input")
    *fixed, decoded = inputs
    if record["arguments"]["mode"] == "predict":
        step = ShapeDtype((decoded.shape[0], 1), np.int32)
        signature = tuple(ShapeDtype(x.shape, x.dtype) for x in fixed) + (step,) if fixed else step
    else:
        signature = tuple(ShapeDtype(x.shape, x.dtype) for x in inputs) if fixed else ShapeDtype(decoded.shape, decoded.dtype)
    weights, state = model.init(signature)
    trax_weights = _recorded(record["model"], "weight")
    leaves, treedef = jax.tree.flatten(weights)
    assert [w.shape for w in leaves] == [w.shape for w in trax_weights]  # Trax's arrays, in Trax's order
    model.weights = jax.tree.unflatten(treedef, [jnp.asarray(w) for w in trax_weights])
    return model, weights, state, inputs


RECORDED_CASES = sorted(case for case, record in CASES.items() if "trax_error" not in record)


def test_every_model_and_mode_was_recorded():
    "Trax 1.4.1 ran every case on its JAX; a case it failed would be listed here with Trax's error."
    assert {case: record["trax_error"] for case, record in CASES.items() if "trax_error" in record} == {}
    assert len(RECORDED_CASES) == 16


def _run(model, inputs, predict):
    "The model's outputs on the recorded inputs; in 'predict' mode the last input one token per call."
    *fixed, decoded = inputs
    if not predict:
        outputs = model(tuple(inputs) if fixed else decoded)
        return outputs if isinstance(outputs, (tuple, list)) else (outputs,)
    steps = []
    for t in range(decoded.shape[1]):
        out = model(tuple(fixed) + (decoded[:, t:t + 1],) if fixed else decoded[:, t:t + 1])
        steps.append(np.asarray(out[0] if isinstance(out, (tuple, list)) else out))
    return [np.concatenate(steps, axis=1)]


@pytest.mark.parametrize("case", RECORDED_CASES)
def test_model_matches_trax(case):
    "Trax's weight and state trees, Trax's repr, and Trax's outputs to 1e-5."
    model, weights, state, inputs = _model_with_trax_weights(case)
    assert _shapes(weights) == CASES[case]["weights_tree"]
    assert _shapes(state) == CASES[case]["state_tree"]
    assert repr(model) == CASES[case]["repr"]
    outputs = _run(model, inputs, predict=CASES[case]["arguments"]["mode"] == "predict")
    expected = _recorded(case, "output")
    assert len(outputs) == len(expected)
    for got, want in zip(outputs, expected):
        assert got.shape == want.shape
        np.testing.assert_allclose(np.asarray(got), want, atol=1e-5, rtol=0)


@pytest.mark.parametrize("constructor", sorted(RECORDED["default_reprs"]))
def test_reprs_with_trax_defaults(constructor):
    arguments = {"TransformerLM": dict(vocab_size=33), "Transformer": dict(input_vocab_size=33),
                 "TransformerEncoder": dict(vocab_size=33), "TransformerDecoder": dict(vocab_size=33),
                 "LSTMSeq2SeqAttn": {}}[constructor]
    assert repr(getattr(trax.models, constructor)(**arguments)) == RECORDED["default_reprs"][constructor]


def test_trax_module_paths():
    import neurotic.models.rnn
    import neurotic.models.transformer

    assert neurotic.models.transformer.TransformerLM is trax.models.TransformerLM
    assert neurotic.models.rnn.LSTMSeq2SeqAttn is trax.models.LSTMSeq2SeqAttn
    assert trax.models.rnn.GRULM is trax.models.GRULM
