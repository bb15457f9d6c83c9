"""`neurotic.supervised.decoding` against Trax 1.4.1's own `autoregressive_sample`, recorded with fixed weights.

`tests/fixtures/trax/decoding.npz` was written by `tools/trax_reference/record_decoding_fixtures.py` in the side
environment with Trax 1.4.1: a `GRULM(12, d_model=6, n_layers=2)` in predict mode with seeded weights, its
greedy and sampled token ids and their dtypes. Here the same model is built with neurotic, given Trax's weights
by position, and must decode to the same ids.
"""
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import neurotic as trax
from neurotic.shapes import ShapeDtype
from neurotic.supervised import decoding

FIXTURE = np.load(Path(__file__).parent / "fixtures" / "trax" / "decoding.npz")
PROMPTS = FIXTURE["prompts"]


def predict_model(batch_size=2):
    "neurotic's GRULM in predict mode holding the recorded weights, at the start of a sequence."
    model = trax.models.GRULM(12, d_model=6, n_layers=2, mode="predict")
    model.init(ShapeDtype((batch_size, 1), np.int32))
    leaves = [jnp.asarray(FIXTURE[f"weight{i}"]) for i in range(len(jax.tree.leaves(model.weights)))]
    assert [leaf.shape for leaf in leaves] == [leaf.shape for leaf in jax.tree.leaves(model.weights)]
    model.weights = jax.tree.unflatten(jax.tree.structure(model.weights), leaves)
    return model


def test_greedy_decoding_gives_traxs_ids_and_dtype():
    greedy = decoding.autoregressive_sample(predict_model(), PROMPTS, batch_size=2, temperature=0.0, eos_id=-1,
                                            max_length=12)
    assert greedy.tolist() == FIXTURE["greedy"].tolist()
    assert (type(greedy), str(greedy.dtype)) == (np.ndarray, str(FIXTURE["greedy_dtype"]))


def test_greedy_decoding_without_a_prompt():
    ids = decoding.autoregressive_sample(predict_model(1), temperature=0.0, eos_id=-1, max_length=8)
    assert ids.tolist() == FIXTURE["greedy_no_prompt"].tolist()


def test_the_end_token_stops_as_in_trax():
    ids = decoding.autoregressive_sample(predict_model(1), PROMPTS[1:], temperature=0.0,
                                         eos_id=int(FIXTURE["eos_id"]), max_length=12)
    assert ids.tolist() == FIXTURE["greedy_eos"].tolist()
    assert ids.shape[1] < 12


def test_the_stream_yields_what_trax_yields():
    first = next(decoding.autoregressive_sample_stream(predict_model(), PROMPTS, batch_size=2, temperature=0.0))
    assert np.asarray(first).tolist() == FIXTURE["stream_first"].tolist()
    assert str(first.dtype) == str(FIXTURE["stream_first_dtype"]) and first.shape == (2,)
    assert isinstance(first, jax.Array) and str(FIXTURE["stream_first_type"]) == "jaxlib"


@pytest.mark.parametrize("accelerate", [True, False])
def test_sampling_after_numpy_seed_gives_traxs_ids(accelerate):
    # Trax draws its Gumbel noise from NumPy's global generator; with the same seed the same tokens come out
    np.random.seed(5)
    ids = decoding.autoregressive_sample(predict_model(), PROMPTS, batch_size=2, temperature=0.8, eos_id=-1,
                                         max_length=12, accelerate=accelerate)
    assert ids.tolist() == FIXTURE["sampled_seed5"].tolist()
