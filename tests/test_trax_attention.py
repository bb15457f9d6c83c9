"""The attention layers checked against outputs recorded from real Trax 1.4.1.

`tests/fixtures/trax/attention.npz` and `attention_reprs.json` were written by
`tools/trax_reference/record_attention_fixtures.py` in a side environment with Trax 1.4.1. Each case is one
layer: Trax's repr, the shapes of its weights and state trees, its flattened weights, and the inputs and
outputs of one or more calls (several in 'predict' mode, where the state carries over), followed by the final
state. Here the same layer is built with neurotic and initialised with Trax's key: it must have the same repr,
the same trees and the same initial weights; it is then given Trax's weights by position (so the outputs do not
rest on the initialisation) and Trax's random key, and must give the same outputs and final state, to 1e-5.
Dropout in 'train' mode is included: the same key drops the same entries.
"""
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import neurotic as trax
import neurotic.layers as tl
from neurotic.layers import attention
from neurotic.shapes import signature

FIXTURES = Path(__file__).parent / "fixtures" / "trax"
REFERENCE = np.load(FIXTURES / "attention.npz")
RECORDED = json.loads((FIXTURES / "attention_reprs.json").read_text())


def _accelerated():
    "Trax's `Accelerate` is given an initialised layer; the test initialises the sublayer the same way."
    return tl.Accelerate(tl.Serial(tl.Dense(4), tl.Relu()))


CASES = {
    "attention": lambda: tl.Attention(8, n_heads=2, mode="eval"),
    "attention_dropout_train": lambda: tl.Attention(8, n_heads=2, dropout=0.5, mode="train"),
    "attention_qkv": lambda: tl.AttentionQKV(8, n_heads=4, mode="eval"),
    "pure_attention": lambda: tl.PureAttention(n_heads=2, mode="eval"),
    "dot_product_attention": lambda: attention.DotProductAttention(mode="eval"),
    "dot_product_causal_attention": lambda: tl.DotProductCausalAttention(mode="eval"),
    "causal_attention": lambda: tl.CausalAttention(8, n_heads=2, mode="eval"),
    "causal_attention_train": lambda: tl.CausalAttention(8, n_heads=4, dropout=0.0, mode="train"),
    "padding_mask": lambda: tl.PaddingMask(),
    "padding_mask_pad": lambda: tl.PaddingMask(pad=3),
    "encoder_decoder_mask": lambda: tl.EncoderDecoderMask(),
    "positional_encoding": lambda: tl.PositionalEncoding(max_len=16, mode="eval"),
    "positional_encoding_d_feature": lambda: tl.PositionalEncoding(max_len=16, d_feature=4, mode="eval"),
    "positional_encoding_dropout_train": lambda: tl.PositionalEncoding(max_len=16, dropout=0.5, mode="train"),
    "positional_encoding_offset_train": lambda: tl.PositionalEncoding(max_len=16, start_from_zero_prob=0.0,
                                                                      max_offset_to_add=8, mode="train"),
    "feed_forward_block": lambda: tl.Serial(tl.FeedForwardBlock(8, 16, 0.0, (-2,), "eval", tl.Relu)),
    "causal_attention_predict": lambda: tl.CausalAttention(8, n_heads=2, max_inference_length=8, mode="predict"),
    "dot_product_causal_attention_predict": lambda: tl.DotProductCausalAttention(max_inference_length=4,
                                                                                 mode="predict"),
    "positional_encoding_predict": lambda: tl.PositionalEncoding(max_len=8, mode="predict"),
    "attention_qkv_cache_predict": lambda: tl.AttentionQKV(8, n_heads=2, mode="predict", cache_KV_in_predict=True),
    "self_attention": lambda: tl.SelfAttention(n_heads=2, d_qk=4, d_v=4, mode="eval"),
    "self_attention_causal_chunked": lambda: tl.SelfAttention(n_heads=2, d_qk=4, d_v=3, causal=True, chunk_len=4,
                                                              n_chunks_before=1, mode="eval"),
    "self_attention_masked_bias": lambda: tl.SelfAttention(n_heads=2, d_qk=4, d_v=4, masked=True, bias=True,
                                                           mode="eval"),
    "self_attention_share_qk": lambda: tl.SelfAttention(n_heads=1, d_qk=4, d_v=4, share_qk=True, causal=True,
                                                        chunk_len=2, n_chunks_before=1, n_chunks_after=1, mode="eval"),
    "self_attention_predict": lambda: tl.SelfAttention(n_heads=2, d_qk=4, d_v=4, causal=True, chunk_len=4,
                                                       n_chunks_before=1, mode="predict"),
    "accelerate": _accelerated,
}


def _numbered(prefix):
    "The arrays `<prefix>0`, `<prefix>1`, ... in order."
    found = []
    while f"{prefix}{len(found)}" in REFERENCE.files:
        found.append(REFERENCE[f"{prefix}{len(found)}"])
    return found


def _packed(arrays):
    return arrays[0] if len(arrays) == 1 else tuple(arrays)


def _shapes(tree):
    "The tree of shapes, printed as Trax's `nested_map(np.shape, tree)` prints it."
    return str(jax.tree.map(np.shape, tree))


def _built(case):
    "The neurotic layer of `case`, initialised on the first step's inputs."
    layer = CASES[case]()
    first = _packed(_numbered(f"{case}/step0/input"))
    key = trax.fastmath.random.get_prng(RECORDED[case]["seed"])
    if isinstance(layer, tl.Accelerate):
        layer.sublayer.init(signature(first), rng=key)
        layer.init(signature(first))
    else:
        layer.init(signature(first), rng=key)
    return layer


def test_every_case_is_recorded_and_tested():
    assert sorted(RECORDED) == sorted(CASES)
    assert not [case for case in RECORDED if "error" in RECORDED[case]]  # Trax 1.4.1 ran every case


@pytest.mark.parametrize("case", sorted(CASES))
def test_layer_matches_trax(case):
    "Trax's repr and trees, then Trax's outputs and final state from Trax's weights and keys."
    layer = _built(case)
    assert repr(layer) == RECORDED[case]["repr"]
    assert _shapes(layer.weights) == RECORDED[case]["weights"]
    assert _shapes(layer.state) == RECORDED[case]["state"]
    leaves, treedef = jax.tree.flatten(layer.weights)
    trax_weights = _numbered(f"{case}/weight")
    assert [w.shape for w in trax_weights] == [np.shape(w) for w in leaves]
    for mine, theirs in zip(leaves, trax_weights):  # initialised from the same key, the weights are Trax's too
        np.testing.assert_allclose(np.asarray(mine), theirs, atol=1e-6, rtol=0)
    layer.weights = jax.tree.unflatten(treedef, [jnp.asarray(w) for w in trax_weights])
    key = trax.fastmath.random.get_prng(RECORDED[case]["seed"] + 1)
    step = 0
    while f"{case}/step{step}/input0" in REFERENCE.files:
        outputs = layer(_packed(_numbered(f"{case}/step{step}/input")), rng=key)
        outputs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
        expected = _numbered(f"{case}/step{step}/output")
        assert len(outputs) == len(expected)
        for got, want in zip(outputs, expected):
            assert np.shape(got) == want.shape
            np.testing.assert_allclose(np.asarray(got, dtype=np.float64), want.astype(np.float64), atol=1e-5, rtol=0,
                                       err_msg=f"{case} step {step}")
        step += 1
    assert _shapes(layer.state) == RECORDED[case]["final_state"]
    state_leaves = jax.tree.leaves(layer.state)
    for got, want in zip(state_leaves, _numbered(f"{case}/state"), strict=True):
        np.testing.assert_allclose(np.asarray(got, dtype=np.float64), want.astype(np.float64), atol=1e-5, rtol=0)
