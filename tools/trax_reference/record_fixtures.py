"""Records reference outputs and a tiny checkpoint from real Trax 1.4.1, for tests/test_trax_reference.py.

Run it with the side environment that make_trax_venv.sh builds (never with the project's own):

    bash tools/trax_reference/make_trax_venv.sh /tmp/traxvenv
    /tmp/traxvenv/bin/python tools/trax_reference/record_fixtures.py [OUTPUT_DIR]   # default tests/fixtures/trax

It writes `reference.npz` (inputs, Trax's flattened weights, outputs and reprs of each layer and model, keyed
`<case>/...`) and `checkpoint/model.pkl.gz` with `model.weights.npy.gz` and `model.opt_slots0.npy.gz`, as
Trax's `Loop` writes them after a few training steps of a small model. Everything is seeded, so a rerun
writes the same numbers.
"""
import functools
import os
import shutil
import sys

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import trax  # noqa: E402
from trax import layers as tl  # noqa: E402
from trax import shapes  # noqa: E402
from trax.fastmath import numpy as jnp  # noqa: E402
from trax.supervised import training  # noqa: E402

RNG = np.random.default_rng(1234)
records = {}


def _flat(weights):
    "Trax's own flattening: the leaves in order, empty tuples left out."
    flat, _ = tl.flatten_weights_and_state(weights, ())
    return [np.asarray(w) for w in flat]


def record(case, layer, inputs, seed=0, mode_note=None):
    "Initialise `layer` with Trax's key `seed`, run it on `inputs`, and store weights, outputs and repr."
    inputs_tuple = inputs if isinstance(inputs, tuple) else (inputs,)
    layer.init(shapes.signature(inputs), rng=trax.fastmath.random.get_prng(seed))
    outputs = layer(inputs, rng=trax.fastmath.random.get_prng(seed + 1))
    outputs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
    for i, x in enumerate(inputs_tuple):
        records[f"{case}/input{i}"] = np.asarray(x)
    for i, w in enumerate(_flat(layer.weights)):
        records[f"{case}/weight{i}"] = w
    for i, y in enumerate(outputs):
        records[f"{case}/output{i}"] = np.asarray(y)
    records[f"{case}/repr"] = np.array(repr(layer))
    print(f"{case}: {len(_flat(layer.weights))} weights, outputs {[np.shape(y) for y in outputs]}")


def floats(*shape):
    return RNG.normal(size=shape).astype(np.float32)


def tokens(*shape, vocab=10):
    return RNG.integers(1, vocab, size=shape).astype(np.int32)


def triplet_like(v1, v2, margin=0.25):
    "A two-input loss with a keyword parameter, bound with `functools.partial` as Trax code does."
    return jnp.mean(jnp.maximum(0.0, margin - jnp.sum(v1 * v2, axis=-1)))


def record_layers():
    record("bidirectional_lstm", tl.Bidirectional(tl.LSTM(3)), floats(2, 5, 3))
    record("bidirectional_gru_add", tl.Bidirectional(tl.GRU(4), merge_layer=tl.Add()), floats(2, 6, 4), seed=3)
    norm = tl.LayerNorm()
    record("layer_norm", norm, floats(2, 3, 5))
    # Trax initialises (ones, zeros); set other weights so that both take part in the output.
    x = floats(2, 3, 5)
    for case, layer in (("layer_norm_set", tl.LayerNorm(epsilon=1e-3)), ("layer_norm_uncentred", tl.LayerNorm(center=False))):
        layer.init(shapes.signature(x))
        layer.weights = (jnp.asarray(floats(5)), jnp.asarray(floats(5)))
        records[f"{case}/input0"] = x
        records[f"{case}/weight0"], records[f"{case}/weight1"] = (np.asarray(w) for w in layer.weights)
        records[f"{case}/output0"] = np.asarray(layer(x))
        records[f"{case}/repr"] = np.array(repr(layer))
    record("mean_axis1", tl.Mean(axis=1), floats(2, 4, 3))
    record("mean_keepdims", tl.Mean(keepdims=True), floats(2, 4, 3))
    record("fn_partial", tl.Fn("TripletLoss", functools.partial(triplet_like, margin=0.5)), (floats(4, 3), floats(4, 3)))
    record("serial_with_side_outputs", tl.SerialWithSideOutputs([tl.LSTMCell(3), tl.LSTMCell(3)]),
           (floats(2, 3), floats(2, 6), floats(2, 6)))


def record_models():
    record("rnnlm", trax.models.RNNLM(10, d_model=4, mode="eval"), tokens(2, 7), seed=5)
    record("rnnlm_gru", trax.models.RNNLM(10, d_model=4, rnn_cell=tl.GRUCell, rnn_cell_d_state_multiplier=1,
                                          mode="eval"), tokens(2, 7), seed=6)
    record("grulm", trax.models.GRULM(10, d_model=4, n_layers=2), tokens(2, 7), seed=7)
    for name, model in (("rnnlm_default", trax.models.RNNLM(33)), ("grulm_default", trax.models.GRULM())):
        records[f"{name}/repr"] = np.array(repr(model))


def record_shared_layers():
    "One layer object placed twice is one layer: Trax's trees hold `GET_*_FROM_CACHE` at the second place."
    dense = tl.Dense(3)
    encoder = tl.Serial(tl.Embedding(10, 4), tl.LSTM(4), tl.Mean(axis=1))
    cases = (("serial_shared_dense", tl.Serial(dense, dense), floats(2, 3)),
             ("parallel_shared_encoder", tl.Parallel(encoder, encoder), (tokens(2, 5), tokens(2, 6))))
    for seed, (case, layer, inputs) in enumerate(cases, start=8):
        record(case, layer, inputs, seed=seed)
        records[f"{case}/weights_tree"] = np.array(str(trax.fastmath.nested_map(np.shape, layer.weights)))
        print(f"{case}: weights tree {records[f'{case}/weights_tree']}")


def data_stream(batch_size=4, length=5, vocab=12):
    "Token sequences labelled 1 when they hold more even than odd ids."
    rng = np.random.default_rng(7)
    while True:
        x = rng.integers(1, vocab, size=(batch_size, length)).astype(np.int32)
        y = ((x % 2 == 0).sum(axis=1) > length // 2).astype(np.int32)
        yield x, y, np.ones_like(y, dtype=np.float32)


def record_checkpoint(output_dir):
    "A few Adam steps of a small classifier with dropout (so the checkpoint holds state too)."
    directory = os.path.join(output_dir, "checkpoint")
    shutil.rmtree(directory, ignore_errors=True)
    model = tl.Serial(tl.Embedding(12, 4), tl.Dropout(0.1), tl.LSTM(4), tl.Mean(axis=1), tl.Dense(2), tl.LogSoftmax())
    task = training.TrainTask(data_stream(), tl.WeightedCategoryCrossEntropy(), trax.optimizers.Adam(0.01))
    loop = training.Loop(model, [task], output_dir=directory, random_seed=0)
    loop.run(3)
    loop.save_checkpoint("model")  # Trax checkpoints at step 1 by default; this one holds the weights after step 3
    for name in sorted(os.listdir(directory)):  # keep only the checkpoint files (Trax also writes logs)
        path = os.path.join(directory, name)
        if name.startswith("model.") and not name.endswith("._tmp_"):
            continue
        if os.path.isdir(path):
            shutil.rmtree(path)
        else:
            os.remove(path)
    probe = np.array([[2, 4, 6, 1, 3], [1, 3, 5, 7, 2]], np.int32)
    eval_model = tl.Serial(tl.Embedding(12, 4), tl.Dropout(0.1, mode="eval"), tl.LSTM(4), tl.Mean(axis=1), tl.Dense(2),
                           tl.LogSoftmax())
    eval_model.init_from_file(os.path.join(directory, "model.pkl.gz"), weights_only=True)
    records["checkpoint/probe"] = probe
    records["checkpoint/output0"] = np.asarray(eval_model(probe))
    records["checkpoint/step"] = np.array(loop.step)
    records["checkpoint/repr"] = np.array(repr(model))
    print("checkpoint:", sorted(os.listdir(directory)), "step", loop.step)


def main(output_dir="tests/fixtures/trax"):
    os.makedirs(output_dir, exist_ok=True)
    record_layers()
    record_models()
    record_shared_layers()  # after the cases above, so their inputs stay as they were
    record_checkpoint(output_dir)
    np.savez_compressed(os.path.join(output_dir, "reference.npz"), **records)
    print("wrote", os.path.join(output_dir, "reference.npz"), len(records), "arrays")


if __name__ == "__main__":
    main(*sys.argv[1:])
