"""Records Trax 1.4.1's Transformer models and `LSTMSeq2SeqAttn`, for tests/test_trax_models.py.

Run it with the side environment that make_trax_venv.sh builds (never with the project's own):

    bash tools/trax_reference/make_trax_venv.sh /tmp/traxvenv
    /tmp/traxvenv/bin/python tools/trax_reference/record_model_fixtures.py [OUTPUT_DIR]   # default tests/fixtures/trax

It writes `models.npz` (per model: Trax's flattened weights, `<model>/weight<i>`, drawn once and given to
all its modes; per case `<model>_<mode>`: inputs and outputs) and `models.json` (per case: the model's
arguments, its repr, and the nesting and shapes of its weight and state trees; per model, the constructor
and arguments; and the reprs of the models with Trax's defaults). The models are small (vocabulary 20,
d_model 16, d_ff 32, 2 layers, 2 heads, max_len 16). 'train' runs with dropout 0 so that its outputs are
deterministic; 'eval' runs with dropout 0.1, which 'eval' mode switches off; 'predict' feeds the decoder
(the last input) one token per call, the other inputs whole, and records the outputs of all calls stacked
along axis 1. A case on which Trax itself fails is recorded as its error message (none does on Trax
1.4.1 with JAX 0.4.13). Everything is seeded, so a rerun writes the same numbers.
"""
import json
import os
import sys
import traceback

import jax
import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import trax  # noqa: E402
from trax import layers as tl  # noqa: E402
from trax import shapes  # noqa: E402

RNG = np.random.default_rng(2024)
SMALL = dict(d_model=16, d_ff=32, n_heads=2, max_len=16)
arrays, cases = {}, {}

MODELS = {  # name -> (Trax constructor, keyword arguments); the test builds ours from the same entries
    "transformer_lm": ("TransformerLM", dict(vocab_size=20, n_layers=2, **SMALL)),
    "transformer": ("Transformer", dict(input_vocab_size=20, n_encoder_layers=2, n_decoder_layers=2, **SMALL)),
    "transformer_two_vocabs": ("Transformer", dict(input_vocab_size=20, output_vocab_size=12, n_encoder_layers=1,
                                                   n_decoder_layers=2, **SMALL)),
    "transformer_encoder": ("TransformerEncoder", dict(vocab_size=20, n_classes=3, n_layers=2, **SMALL)),
    "transformer_decoder": ("TransformerDecoder", dict(vocab_size=20, n_layers=2, **SMALL)),
    "lstm_seq2seq_attn": ("LSTMSeq2SeqAttn", dict(input_vocab_size=20, target_vocab_size=12, d_model=16,
                                                  n_encoder_layers=2, n_decoder_layers=2, n_attention_heads=2)),
}
DEFAULT_REPRS = {"TransformerLM": dict(vocab_size=33), "Transformer": dict(input_vocab_size=33),
                 "TransformerEncoder": dict(vocab_size=33), "TransformerDecoder": dict(vocab_size=33),
                 "LSTMSeq2SeqAttn": {}}


def _flat(weights):
    "Trax's own flattening: the leaves in order, empty tuples and cache markers left out."
    flat, _ = tl.flatten_weights_and_state(weights, ())
    return [np.asarray(w) for w in flat]


def _tree(tree):
    "The nesting of a weight or state tree, with the shape of each array."
    return str(trax.fastmath.nested_map(np.shape, tree))


def tokens(*shape, vocab=20, n_pad=0):
    "Token ids in [1, vocab), with the last `n_pad` positions of the second row set to the padding id 0."
    x = RNG.integers(1, vocab, size=shape).astype(np.int32)
    if n_pad:
        x[-1, -n_pad:] = 0
    return x


def build(name, mode, dropout):
    constructor, kwargs = MODELS[name]
    extra = {"attention_dropout": dropout} if constructor == "LSTMSeq2SeqAttn" else {"dropout": dropout}
    return getattr(trax.models, constructor)(mode=mode, **kwargs, **extra), dict(kwargs, mode=mode, **extra)


def run_case(name, mode, inputs, seed):
    """Build `name` in `mode`, give it the model's recorded weights (by position), and run it on `inputs`.

    'train' and 'eval' make one call on whole sequences; 'predict' feeds the decoder (the last input) one
    token per call, the other inputs whole, and stacks the outputs of all calls along axis 1."""
    model, arguments = build(name, mode, dropout={"train": 0.0, "eval": 0.1, "predict": 0.0}[mode])
    *fixed, decoded = inputs
    if mode == "predict":
        step = shapes.ShapeDtype((decoded.shape[0], 1), np.int32)
        signature = tuple(shapes.signature(x) for x in fixed) + (step,) if fixed else step
    else:
        signature = shapes.signature(inputs if fixed else decoded)
    model.init(signature, rng=trax.fastmath.random.get_prng(seed))
    if f"{name}/weight0" not in arrays:  # the first mode recorded initialises the weights all modes share
        for i, w in enumerate(_flat(model.weights)):
            arrays[f"{name}/weight{i}"] = w
    shared = [arrays[f"{name}/weight{i}"] for i in range(len(_flat(model.weights)))]
    model.weights = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(model.weights), shared)
    weights_tree, state_tree = _tree(model.weights), _tree(model.state)
    if mode == "predict":
        steps = []
        for t in range(decoded.shape[1]):
            out = model(tuple(fixed) + (decoded[:, t:t + 1],) if fixed else decoded[:, t:t + 1])
            steps.append(np.asarray(out[0] if isinstance(out, (tuple, list)) else out))
        outputs = [np.concatenate(steps, axis=1)]
    else:
        outputs = model(inputs if fixed else decoded, rng=trax.fastmath.random.get_prng(seed + 1))
        outputs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
    case = f"{name}_{mode}"
    for i, x in enumerate(inputs):
        arrays[f"{case}/input{i}"] = np.asarray(x)
    for i, y in enumerate(outputs):
        arrays[f"{case}/output{i}"] = np.asarray(y)
    cases[case] = {"model": name, "arguments": arguments, "repr": repr(model), "weights_tree": weights_tree,
                   "state_tree": state_tree}
    print(f"{case}: {len(shared)} weights, outputs {[np.shape(y) for y in outputs]}")


def attempt(name, mode, inputs, seed):
    "Record one case; where Trax 1.4.1 itself fails on this JAX, note the error instead."
    try:
        run_case(name, mode, inputs, seed)
    except Exception as error:  # noqa: BLE001 (any failure of Trax is what gets recorded)
        cases[f"{name}_{mode}"] = {"model": name, "trax_error": f"{type(error).__name__}: {error}"}
        traceback.print_exc()
        print(f"{name}_{mode}: Trax fails: {type(error).__name__}: {error}")


def main(output_dir="tests/fixtures/trax"):
    os.makedirs(output_dir, exist_ok=True)
    lm_tokens = tokens(2, 7)
    source, target = tokens(2, 6, n_pad=2), tokens(2, 5, vocab=12)
    inputs = {"transformer_lm": (lm_tokens,), "transformer": (source, tokens(2, 5, n_pad=1)),
              "transformer_two_vocabs": (source, target), "transformer_encoder": (tokens(2, 6, n_pad=3),),
              "transformer_decoder": (tokens(2, 7),), "lstm_seq2seq_attn": (source, target)}
    for seed, name in enumerate(MODELS, start=11):
        for mode in ("eval", "train", "predict"):
            if mode == "predict" and name in ("transformer_encoder", "transformer_decoder"):
                continue  # an encoder has no decoding to run step by step; Trax's decoder has no predict mode
            attempt(name, mode, inputs[name], seed)
    defaults = {name: repr(getattr(trax.models, name)(**kwargs)) for name, kwargs in DEFAULT_REPRS.items()}
    np.savez_compressed(os.path.join(output_dir, "models.npz"), **arrays)
    with open(os.path.join(output_dir, "models.json"), "w") as f:
        json.dump({"models": {name: list(entry) for name, entry in MODELS.items()}, "cases": cases,
                   "default_reprs": defaults}, f, indent=1, sort_keys=True)
    print("wrote", output_dir, len(arrays), "arrays,", len(cases), "cases")


if __name__ == "__main__":
    main(*sys.argv[1:])
