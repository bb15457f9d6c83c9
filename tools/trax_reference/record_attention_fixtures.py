"""Records reference outputs of Trax 1.4.1's attention layers, for tests/test_trax_attention.py.

Run it with the side environment that make_trax_venv.sh builds (never with the project's own):

    bash tools/trax_reference/make_trax_venv.sh /tmp/traxvenv
    /tmp/traxvenv/bin/python tools/trax_reference/record_attention_fixtures.py [OUTPUT_DIR]   # default tests/fixtures/trax

It writes `attention.npz` and `attention_reprs.json`. Each case is one layer, initialised with Trax's key
`seed` on the first step's inputs, then called once per step (one step outside 'predict'; several in
'predict', where the state carries over) with Trax's key `seed + 1`. The npz holds, keyed `<case>/...`,
the inputs and outputs of every step (`step<j>/input<i>`, `step<j>/output<i>`), Trax's flattened weights
(`weight<i>`) and the flattened state after the last step (`state<i>`); the json holds each case's repr and
the shapes of its weights and state trees as Trax prints them. Everything is seeded, so a rerun writes the
same numbers.
"""
import json
import os
import sys

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import trax  # noqa: E402
from trax import layers as tl  # noqa: E402
from trax import shapes  # noqa: E402
from trax.layers import attention  # noqa: E402

RNG = np.random.default_rng(2024)
records, reprs = {}, {}


def _leaves(tree):
    "Trax's own flattening: the leaves in order, empty tuples left out."
    flat, _ = tl.flatten_weights_and_state(tree, ())
    return [np.asarray(w) for w in flat]


def _shapes(tree):
    return str(trax.fastmath.nested_map(np.shape, tree))


def record(case, layer, steps, seed=0, initialised=False):
    "Initialise `layer` on the first step's inputs with key `seed`, then run every step with key `seed + 1`."
    steps = [s if isinstance(s, tuple) else (s,) for s in steps]
    first = steps[0] if len(steps[0]) > 1 else steps[0][0]
    if not initialised:
        layer.init(shapes.signature(first), rng=trax.fastmath.random.get_prng(seed))
    reprs[case] = {"repr": repr(layer), "weights": _shapes(layer.weights), "state": _shapes(layer.state), "seed": seed}
    for i, w in enumerate(_leaves(layer.weights)):
        records[f"{case}/weight{i}"] = w
    for j, inputs in enumerate(steps):
        outputs = layer(inputs if len(inputs) > 1 else inputs[0], rng=trax.fastmath.random.get_prng(seed + 1))
        outputs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
        for i, x in enumerate(inputs):
            records[f"{case}/step{j}/input{i}"] = np.asarray(x)
        for i, y in enumerate(outputs):
            records[f"{case}/step{j}/output{i}"] = np.asarray(y)
    for i, s in enumerate(_leaves(layer.state)):
        records[f"{case}/state{i}"] = s
    reprs[case]["final_state"] = _shapes(layer.state)
    print(f"{case}: {len(steps)} step(s), outputs {[np.shape(y) for y in outputs]}")


def floats(*shape):
    return RNG.normal(size=shape).astype(np.float32)


def tokens(*shape, vocab=10):
    return RNG.integers(1, vocab, size=shape).astype(np.int32)


def padding_mask(batch, length, n_real):
    "A (batch, 1, 1, length) mask with `n_real[b]` real positions in row b."
    return (np.arange(length)[None, :] < np.asarray(n_real)[:, None]).reshape(batch, 1, 1, length)


def record_attention():
    x, memory = floats(2, 5, 8), floats(2, 7, 8)
    record("attention", tl.Attention(8, n_heads=2, mode="eval"), [(x, padding_mask(2, 5, [3, 5]))], seed=1)
    record("attention_dropout_train", tl.Attention(8, n_heads=2, dropout=0.5, mode="train"),
           [(x, padding_mask(2, 5, [5, 4]))], seed=2)
    record("attention_qkv", tl.AttentionQKV(8, n_heads=4, mode="eval"),
           [(x, memory, memory, padding_mask(2, 7, [7, 2]))], seed=3)
    record("pure_attention", tl.PureAttention(n_heads=2, mode="eval"), [(x, memory, memory, padding_mask(2, 7, [6, 7]))])
    heads = floats(4, 5, 4)
    record("dot_product_attention", attention.DotProductAttention(mode="eval"),
           [(heads, floats(4, 6, 4), floats(4, 6, 4), padding_mask(4, 6, [6, 5, 4, 3])[:, 0])])
    record("dot_product_causal_attention", tl.DotProductCausalAttention(mode="eval"), [(heads, heads, floats(4, 5, 4))])
    record("causal_attention", tl.CausalAttention(8, n_heads=2, mode="eval"), [x], seed=4)
    record("causal_attention_train", tl.CausalAttention(8, n_heads=4, dropout=0.0, mode="train"), [floats(3, 6, 8)], seed=5)


def record_masks_and_encodings():
    ids = tokens(2, 6)
    ids[0, 4:] = 0
    record("padding_mask", tl.PaddingMask(), [ids])
    record("padding_mask_pad", tl.PaddingMask(pad=3), [ids])
    record("encoder_decoder_mask", tl.EncoderDecoderMask(), [(floats(2, 3, 8), padding_mask(2, 6, [4, 6]))])
    record("positional_encoding", tl.PositionalEncoding(max_len=16, mode="eval"), [floats(2, 5, 8)])
    record("positional_encoding_d_feature", tl.PositionalEncoding(max_len=16, d_feature=4, mode="eval"),
           [floats(2, 5, 8)], seed=6)
    record("positional_encoding_dropout_train", tl.PositionalEncoding(max_len=16, dropout=0.5, mode="train"),
           [floats(2, 5, 8)], seed=7)
    record("positional_encoding_offset_train", tl.PositionalEncoding(
        max_len=16, start_from_zero_prob=0.0, max_offset_to_add=8, mode="train"), [floats(2, 5, 8)], seed=8)
    record("feed_forward_block", tl.Serial(tl.FeedForwardBlock(8, 16, 0.0, (-2,), "eval", tl.Relu)),
           [floats(2, 5, 8)], seed=9)


def record_predict():
    "Predict mode: the state carries over from step to step."
    x = floats(2, 6, 8)
    record("causal_attention_predict", tl.CausalAttention(8, n_heads=2, max_inference_length=8, mode="predict"),
           [x[:, :3], x[:, 3:4], x[:, 4:5], x[:, 5:6]], seed=10)
    heads = floats(4, 3, 4)
    record("dot_product_causal_attention_predict", tl.DotProductCausalAttention(max_inference_length=4, mode="predict"),
           [(heads[:, :1],) * 3, (heads[:, 1:],) * 3])
    record("positional_encoding_predict", tl.PositionalEncoding(max_len=8, mode="predict"),
           [x[:, :2], x[:, 2:3], x[:, 3:5]])
    memory = floats(2, 7, 8)
    mask = padding_mask(2, 7, [7, 5])
    record("attention_qkv_cache_predict", tl.AttentionQKV(8, n_heads=2, mode="predict", cache_KV_in_predict=True),
           [(x[:, :1], memory, memory, mask), (x[:, 1:2], memory * 0, memory * 0, mask)], seed=11)


def record_self_attention():
    "Trax's research `SelfAttention` (chunked, causal, masked, shared QK, bias) and its 'predict' memory."
    x = floats(2, 8, 8)
    mask = padding_mask(2, 8, [8, 6])[:, 0, 0]
    cases = {
        "self_attention": (tl.SelfAttention(n_heads=2, d_qk=4, d_v=4, mode="eval"), [x]),
        "self_attention_causal_chunked": (tl.SelfAttention(n_heads=2, d_qk=4, d_v=3, causal=True, chunk_len=4,
                                                           n_chunks_before=1, mode="eval"), [x]),
        "self_attention_masked_bias": (tl.SelfAttention(n_heads=2, d_qk=4, d_v=4, masked=True, bias=True,
                                                        mode="eval"), [(x, mask)]),
        "self_attention_share_qk": (tl.SelfAttention(n_heads=1, d_qk=4, d_v=4, share_qk=True, causal=True,
                                                     chunk_len=2, n_chunks_before=1, n_chunks_after=1,
                                                     mode="eval"), [x]),
        "self_attention_predict": (tl.SelfAttention(n_heads=2, d_qk=4, d_v=4, causal=True, chunk_len=4,
                                                    n_chunks_before=1, mode="predict"),
                                   [x[:, :4], x[:, 4:5], x[:, 5:6], x[:, 6:7], x[:, 7:8]]),
    }
    for seed, (case, (layer, steps)) in enumerate(cases.items(), start=20):
        try:
            record(case, layer, steps, seed=seed)
        except Exception as error:  # say so, and keep the other cases
            reprs[case] = {"error": f"{type(error).__name__}: {error}"}
            print(f"{case}: Trax 1.4.1 fails: {type(error).__name__}: {error}")


def record_accelerate():
    "Trax's `Accelerate.init` takes no key: the sublayer is initialised first, as Trax's docstring shows."
    x = floats(3, 5)
    inner = tl.Serial(tl.Dense(4), tl.Relu())
    inner.init(shapes.signature(x), rng=trax.fastmath.random.get_prng(30))
    record("accelerate", tl.Accelerate(inner), [x], seed=30, initialised=True)


def main(output_dir="tests/fixtures/trax"):
    os.makedirs(output_dir, exist_ok=True)
    record_attention()
    record_masks_and_encodings()
    record_predict()
    record_self_attention()
    record_accelerate()
    np.savez_compressed(os.path.join(output_dir, "attention.npz"), **records)
    with open(os.path.join(output_dir, "attention_reprs.json"), "w") as f:
        json.dump(reprs, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote", os.path.join(output_dir, "attention.npz"), len(records), "arrays and", len(reprs), "reprs")


if __name__ == "__main__":
    main(*sys.argv[1:])
