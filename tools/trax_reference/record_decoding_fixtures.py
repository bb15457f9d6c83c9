"""Records Trax 1.4.1's autoregressive decoding of a small GRU language model, for tests/test_trax_decoding.py.

Run it with the side environment that make_trax_venv.sh builds (never with the project's own):

    /tmp/traxvenv/bin/python tools/trax_reference/record_decoding_fixtures.py [OUTPUT_FILE]
    # default tests/fixtures/trax/decoding.npz

The model is `trax.models.GRULM(vocab_size=12, d_model=6, n_layers=2, mode='predict')` with weights drawn from
a seeded normal distribution (Trax's own start is so small that every position predicts nearly the same
token). The file holds those weights in Trax's flattened order, the prompts, and the token ids Trax's
`autoregressive_sample` returns: greedy (temperature 0) with and without a prompt, with an end-of-sequence id
that stops a sequence early, and sampled at temperature 0.8 after `np.random.seed(5)`, since Trax's
`logsoftmax_sample` draws its Gumbel noise from NumPy's global generator. The dtypes and shapes of Trax's
outputs are recorded too. Everything is seeded, so a rerun writes the same numbers.
"""
import os
import sys

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import trax  # noqa: E402
from trax import layers as tl  # noqa: E402
from trax import shapes  # noqa: E402
from trax.fastmath import numpy as jnp  # noqa: E402
from trax.supervised import decoding  # noqa: E402

VOCAB, D_MODEL, N_LAYERS = 12, 6, 2


def predict_model(weights, batch_size=2):
    "A fresh predict-mode GRULM holding `weights` (its state: the start of a sequence)."
    model = trax.models.GRULM(VOCAB, d_model=D_MODEL, n_layers=N_LAYERS, mode="predict")
    model.init(shapes.ShapeDtype((batch_size, 1), np.int32), rng=trax.fastmath.random.get_prng(0))
    model.weights = weights
    return model


def main(output_file="tests/fixtures/trax/decoding.npz"):
    model = trax.models.GRULM(VOCAB, d_model=D_MODEL, n_layers=N_LAYERS, mode="predict")
    model.init(shapes.ShapeDtype((2, 1), np.int32), rng=trax.fastmath.random.get_prng(0))
    rng = np.random.default_rng(7)
    weights = trax.fastmath.nested_map(
        lambda w: jnp.asarray(rng.normal(scale=2.5, size=w.shape).astype(np.float32)), model.weights)
    flat, _ = tl.flatten_weights_and_state(weights, ())
    records = {f"weight{i}": np.asarray(w) for i, w in enumerate(flat)}
    prompts = np.array([[3, 5, 7], [2, 9, 4]], np.int32)
    records["prompts"] = prompts

    greedy = decoding.autoregressive_sample(predict_model(weights), prompts, batch_size=2, temperature=0.0,
                                            eos_id=-1, max_length=12)
    records["greedy"] = greedy
    records["greedy_dtype"] = np.array(str(greedy.dtype))
    no_prompt = decoding.autoregressive_sample(predict_model(weights, 1), temperature=0.0, eos_id=-1, max_length=8)
    records["greedy_no_prompt"] = no_prompt
    stream = decoding.autoregressive_sample_stream(predict_model(weights), prompts, batch_size=2, temperature=0.0)
    first = next(stream)
    records["stream_first"] = np.asarray(first)
    records["stream_first_dtype"] = np.array(str(np.asarray(first).dtype))
    records["stream_first_type"] = np.array(type(first).__module__.split(".")[0])  # 'jaxlib': a JAX array
    # the end-of-sequence id: the last greedy token of the second row, which first turns up in the middle
    eos = int(greedy[1, -1])
    records["eos_id"] = np.array(eos)
    records["greedy_eos"] = decoding.autoregressive_sample(predict_model(weights, 1), prompts[1:], batch_size=1,
                                                           temperature=0.0, eos_id=eos, max_length=12)
    np.random.seed(5)
    records["sampled_seed5"] = decoding.autoregressive_sample(predict_model(weights), prompts, batch_size=2,
                                                              temperature=0.8, eos_id=-1, max_length=12)
    for name in ("greedy", "greedy_no_prompt", "greedy_eos", "sampled_seed5"):
        print(f"{name}: {records[name].tolist()} ({records[name].dtype})")
    print("stream_first:", records["stream_first"].tolist(), records["stream_first_dtype"], "eos_id", eos)
    np.savez_compressed(output_file, **records)
    print("wrote", output_file, len(records), "arrays")


if __name__ == "__main__":
    main(*sys.argv[1:])
