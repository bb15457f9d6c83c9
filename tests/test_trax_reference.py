"""The Trax API added for the later chapters, checked against outputs recorded from real Trax 1.4.1.

`tests/fixtures/trax/` was written by `tools/trax_reference/record_fixtures.py` in a side environment
with Trax 1.4.1 (`tools/trax_reference/make_trax_venv.sh`). Each case there holds Trax's inputs, its
flattened weights, its outputs and its repr; here the same layer is built with neurotic, given Trax's
weights by position, and must give the same outputs (to 1e-5) and the same repr.
"""
import functools
import gzip
import io
import os
import pickle
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import neurotic as trax
import neurotic.layers as tl
from neurotic.shapes import ShapeDtype
from neurotic.supervised.checkpoint import CheckpointError
from neurotic.supervised.trax_checkpoint import (RefusedPickleError, init_from_trax_file, load_trax_checkpoint,
                                                 read_trax_pickle)

FIXTURES = Path(__file__).parent / "fixtures" / "trax"
REFERENCE = np.load(FIXTURES / "reference.npz")
CHECKPOINT = FIXTURES / "checkpoint" / "model.pkl.gz"


def triplet_like(v1, v2, margin=0.25):
    "The two-input loss with a keyword parameter that the recording script binds with `functools.partial`."
    return jnp.mean(jnp.maximum(0.0, margin - jnp.sum(v1 * v2, axis=-1)))


def _shared_dense():
    "`Serial(dense, dense)`: one layer object at two places."
    dense = tl.Dense(3)
    return tl.Serial(dense, dense)


def _siamese_encoders():
    "`Parallel(encoder, encoder)`, the Siamese pattern: one encoder for both inputs."
    encoder = tl.Serial(tl.Embedding(10, 4), tl.LSTM(4), tl.Mean(axis=1))
    return tl.Parallel(encoder, encoder)


CASES = {
    "bidirectional_lstm": lambda: tl.Bidirectional(tl.LSTM(3)),
    "bidirectional_gru_add": lambda: tl.Bidirectional(tl.GRU(4), merge_layer=tl.Add()),
    "layer_norm": lambda: tl.LayerNorm(),
    "layer_norm_set": lambda: tl.LayerNorm(epsilon=1e-3),
    "layer_norm_uncentred": lambda: tl.LayerNorm(center=False),
    "mean_axis1": lambda: tl.Mean(axis=1),
    "mean_keepdims": lambda: tl.Mean(keepdims=True),
    "fn_partial": lambda: tl.Fn("TripletLoss", functools.partial(triplet_like, margin=0.5)),
    "serial_with_side_outputs": lambda: tl.SerialWithSideOutputs([tl.LSTMCell(3), tl.LSTMCell(3)]),
    "rnnlm": lambda: trax.models.RNNLM(10, d_model=4, mode="eval"),
    "rnnlm_gru": lambda: trax.models.RNNLM(10, d_model=4, rnn_cell=tl.GRUCell, rnn_cell_d_state_multiplier=1,
                                           mode="eval"),
    "grulm": lambda: trax.models.GRULM(10, d_model=4, n_layers=2),
    "serial_shared_dense": _shared_dense,
    "parallel_shared_encoder": _siamese_encoders,
}


def _recorded(case, kind):
    "The arrays `<case>/<kind>0`, `<case>/<kind>1`, ... in order."
    found, i = [], 0
    while f"{case}/{kind}{i}" in REFERENCE.files:
        found.append(REFERENCE[f"{case}/{kind}{i}"])
        i += 1
    return found


@pytest.mark.parametrize("case", sorted(CASES))
def test_layer_matches_trax(case):
    layer = CASES[case]()
    inputs = _recorded(case, "input")
    inputs = inputs[0] if len(inputs) == 1 else tuple(inputs)
    weights, _ = layer.init(jax.tree.map(lambda x: ShapeDtype(x.shape, x.dtype), inputs))
    leaves, treedef = jax.tree.flatten(weights)
    trax_weights = _recorded(case, "weight")
    assert [w.shape for w in trax_weights] == [w.shape for w in leaves]  # Trax's weight layout, in Trax's order
    layer.weights = jax.tree.unflatten(treedef, [jnp.asarray(w) for w in trax_weights])
    outputs = layer(inputs)
    outputs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
    expected = _recorded(case, "output")
    assert len(outputs) == len(expected)
    for got, want in zip(outputs, expected):
        assert got.shape == want.shape
        np.testing.assert_allclose(np.asarray(got), want, atol=1e-5, rtol=0)
    assert repr(layer) == str(REFERENCE[f"{case}/repr"])


@pytest.mark.parametrize("case", ["serial_shared_dense", "parallel_shared_encoder"])
def test_shared_layer_weight_tree_matches_trax(case):
    "A repeated layer has one entry of weights; its second place holds Trax's `GET_WEIGHTS_FROM_CACHE`."
    layer = CASES[case]()
    inputs = _recorded(case, "input")
    inputs = inputs[0] if len(inputs) == 1 else tuple(inputs)
    weights, state = layer.init(jax.tree.map(lambda x: ShapeDtype(x.shape, x.dtype), inputs))
    assert str(jax.tree.map(np.shape, weights)) == str(REFERENCE[f"{case}/weights_tree"])
    assert weights[1] == tl.GET_WEIGHTS_FROM_CACHE and state[1] == tl.GET_STATE_FROM_CACHE


def test_model_reprs_with_trax_defaults():
    assert repr(trax.models.RNNLM(33)) == str(REFERENCE["rnnlm_default/repr"])
    assert repr(trax.models.GRULM()) == str(REFERENCE["grulm_default/repr"])


def test_trax_module_paths():
    import neurotic.data.inputs
    import neurotic.layers.normalization
    import neurotic.optimizers.adam
    import neurotic.supervised.trainer_lib

    assert neurotic.optimizers.adam.Adam is trax.optimizers.Adam
    assert trax.optimizers.momentum.Momentum is trax.optimizers.Momentum
    assert trax.optimizers.rms_prop.RMSProp is trax.optimizers.RMSProp
    assert trax.optimizers.adafactor.Adafactor is trax.optimizers.Adafactor
    assert trax.optimizers.base.SGD is trax.optimizers.SGD
    assert neurotic.layers.normalization.LayerNorm is tl.LayerNorm
    assert neurotic.data.inputs.add_loss_weights is trax.data.add_loss_weights
    key = neurotic.supervised.trainer_lib.init_random_number_generators(7)
    assert np.asarray(key).tolist() == np.asarray(trax.fastmath.random.get_prng(7)).tolist()


def _classifier():
    "The model of the recorded checkpoint, in 'eval' mode."
    return tl.Serial(tl.Embedding(12, 4), tl.Dropout(0.1, mode="eval"), tl.LSTM(4), tl.Mean(axis=1), tl.Dense(2),
                     tl.LogSoftmax())


def test_load_trax_checkpoint():
    weights, state, metadata = load_trax_checkpoint(CHECKPOINT)
    assert [w.shape for w in weights] == [(12, 4), (8, 16), (16,), (4, 2), (2,)]
    assert [float(s) for s in state] == [pytest.approx(0.1)]
    assert metadata["step"] == int(REFERENCE["checkpoint/step"]) == 3
    assert metadata["input_signature"] == (ShapeDtype((4, 5), np.int32),)
    assert [w.shape for w in metadata["slots"][0]] == [w.shape for w in weights for _ in range(2)]


def test_init_from_trax_checkpoint_gives_trax_outputs():
    model = _classifier()
    init_from_trax_file(model, CHECKPOINT)
    assert repr(model) == str(REFERENCE["checkpoint/repr"])
    np.testing.assert_allclose(np.asarray(model(REFERENCE["checkpoint/probe"])), REFERENCE["checkpoint/output0"],
                               atol=1e-5, rtol=0)
    wrong = tl.Serial(tl.Embedding(10, 4), tl.Dropout(0.1), tl.LSTM(4), tl.Mean(axis=1), tl.Dense(2))
    with pytest.raises(CheckpointError, match=r"weight array 0 has shape \(12, 4\), but the model's has shape \(10, 4\)"):
        init_from_trax_file(wrong, CHECKPOINT)


def test_layer_init_from_file_reads_trax_checkpoint():
    model = _classifier()
    model.init_from_file(str(CHECKPOINT))
    np.testing.assert_allclose(np.asarray(model(REFERENCE["checkpoint/probe"])), REFERENCE["checkpoint/output0"],
                               atol=1e-5, rtol=0)


class _CreatesFile:
    "A pickle payload whose loading would create a file."

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (io.open, (self.path, "w"))


class _RunsCommand:
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


@pytest.mark.parametrize("payload_class, refused", [(_CreatesFile, "io.open"),
                                                    (_RunsCommand, f"{os.system.__module__}.system")])
def test_malicious_checkpoint_is_refused_without_running(tmp_path, payload_class, refused):
    marker = tmp_path / "created"
    bad = tmp_path / "model.pkl.gz"
    with gzip.open(bad, "wb") as f:
        pickle.dump({"step": 1, "flat_weights": [payload_class(marker)], "flat_state": []}, f)
    with pytest.raises(RefusedPickleError, match=f"refusing to load {refused}"):
        load_trax_checkpoint(bad)
    with pytest.raises(RefusedPickleError):
        init_from_trax_file(_classifier(), bad)
    assert not marker.exists()
    pickle.loads(gzip.decompress(bad.read_bytes()))  # the same bytes through a plain unpickler do run the payload
    assert marker.exists()


def test_plain_data_pickle_round_trip(tmp_path):
    data = {"a": [np.arange(3, dtype=np.int16), (1.5, "x")], "b": {np.float32(2.0).item(): None}, "c": {3, 4}}
    path = tmp_path / "plain.pkl.gz"
    with gzip.open(path, "wb") as f:
        pickle.dump(data, f)
    back = read_trax_pickle(path)
    assert back["a"][0].tolist() == [0, 1, 2] and back["a"][0].dtype == np.int16
    assert (back["a"][1], back["b"], back["c"]) == ((1.5, "x"), {2.0: None}, {3, 4})
