"""Checks of the layers API that need a fresh interpreter or many random cases."""
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy
import pytest
from hypothesis import given, settings, strategies as st

from neurotic import fastmath
from neurotic import layers as tl
from neurotic.shapes import ShapeDtype

SEED_DRAW = [[0.957307, -0.9699291, 1.0070664], [0.36619022, 0.17294823, 0.29092228]]


def run_python(code):
    "Run `code` in a fresh interpreter and return its stdout."
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_importing_layers_loads_neither_tensorflow_nor_torch():
    out = run_python("import sys, neurotic.layers, neurotic.fastmath.numpy\n"
                     "print(sorted(m for m in ('tensorflow', 'torch') if m in sys.modules))")
    assert out.strip() == "[]"


@pytest.mark.parametrize("flag", [True, False])
def test_trax_stream_whatever_the_global_flag(flag):
    code = ("import jax, numpy\n"
            f"jax.config.update('jax_threefry_partitionable', {flag})\n"
            "from neurotic.fastmath import random\n"
            "draw = random.normal(random.get_prng(1), (2, 3))\n"
            f"assert numpy.allclose(draw, {SEED_DRAW}, atol=1e-6), draw\n"
            "print(jax.config.jax_threefry_partitionable)\n")
    assert run_python(code).strip() == str(flag)


def test_weights_move_between_models_of_the_same_definition():
    def build():
        return tl.Serial(tl.Embedding(20, 8), tl.Mean(axis=1), tl.Dense(3), tl.Relu(), tl.LogSoftmax())
    ids = numpy.arange(12, dtype=numpy.int32).reshape(3, 4)
    first, second = build(), build()
    first.init(ShapeDtype(ids.shape, numpy.int32), rng=fastmath.random.get_prng(1))
    second.init(ShapeDtype(ids.shape, numpy.int32), rng=fastmath.random.get_prng(2))
    assert not numpy.allclose(first(ids), second(ids))
    second.weights = first.weights
    numpy.testing.assert_allclose(first(ids), second(ids), atol=1e-6)


def test_jitted_pure_fn_matches_eager_call():
    model = tl.Serial(tl.Dense(5), tl.Tanh(), tl.Dense(2), tl.LogSoftmax())
    x = numpy.random.default_rng(0).normal(size=(3, 4)).astype(numpy.float32)
    weights, state = model.init(x, rng=fastmath.random.get_prng(0))
    eager = model(x)
    jitted, new_state = jax.jit(model.pure_fn)(x, weights, state, fastmath.random.get_prng(0))
    numpy.testing.assert_allclose(eager, jitted, atol=1e-6)
    assert jax.tree_util.tree_structure(new_state) == jax.tree_util.tree_structure(state)


def test_shared_encoder_trains_as_one_layer():
    "`Parallel(encoder, encoder)`: one set of weights, a jitted step updates it, and the tree keeps Trax's marker."
    encoder = tl.Serial(tl.Embedding(20, 4), tl.Mean(axis=1), tl.Dense(3))
    siamese = tl.Parallel(encoder, encoder)
    ids = numpy.arange(12, dtype=numpy.int32).reshape(3, 4)
    weights, state = siamese.init((ids, ids), rng=fastmath.random.get_prng(0))
    assert weights[1] == tl.GET_WEIGHTS_FROM_CACHE and state[1] == tl.GET_STATE_FROM_CACHE

    def loss(w):
        (left, right), _ = siamese.pure_fn((ids, ids[::-1]), w, state, fastmath.random.get_prng(0))
        return jnp.sum(left * right)

    @jax.jit
    def step(w):
        return jax.tree.map(lambda p, g: p - 0.1 * g, w, jax.grad(loss)(w))

    new_weights = step(weights)
    assert jax.tree.structure(new_weights) == jax.tree.structure(weights)
    siamese.weights = new_weights
    left, right = siamese((ids, ids))
    numpy.testing.assert_allclose(left, right, atol=1e-6)  # both branches read the one updated encoder
    numpy.testing.assert_allclose(encoder.weights[0], new_weights[0][0])
    assert not numpy.allclose(new_weights[0][0], weights[0][0])


# Lists of (n_in, n_out) pairs describing a sequence of layers.
stack_programs = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=6)


def make_layer(index, n_in, n_out):
    "An Fn layer taking n_in values and returning n_out values that record what it saw."
    def f(*xs):
        total = sum(xs) if xs else jnp.array(0.0)
        outs = tuple(total * 10 + index + k for k in range(n_out))
        return outs[0] if n_out == 1 else outs
    args = ", ".join(f"x{i}" for i in range(n_in))
    g = eval(f"lambda {args}: f({args})", {"f": f})
    return tl.Fn(f"L{index}", g, n_out=n_out)


@settings(max_examples=40, deadline=None)
@given(stack_programs)
def test_serial_follows_stack_semantics(shapes):
    layers = [make_layer(i, n_in, n_out) for i, (n_in, n_out) in enumerate(shapes)]
    serial = tl.Serial(layers)
    # Run the layers one by one on an explicit stack, as Serial should.
    inputs = tuple(jnp.array(float(i + 1)) for i in range(max(serial.n_in, 1)))
    stack = list(inputs)
    for layer, (n_in, n_out) in zip(layers, shapes):
        args = tuple(stack[:n_in])
        out = layer(args if n_in != 1 else args[0])
        outs = [out] if n_out == 1 else list(out)
        stack = outs + stack[n_in:]
    got = serial(inputs if serial.n_in != 1 else inputs[0])
    got = [got] if not isinstance(got, tuple) else list(got)
    assert len(got) >= serial.n_out
    assert [float(v) for v in got[:serial.n_out]] == [float(v) for v in stack[:serial.n_out]]


def test_trax_module_paths_import_first_in_a_fresh_interpreter():
    out = run_python("import sys\n"
                     "from neurotic.data.inputs import add_loss_weights\n"
                     "from neurotic.supervised.trainer_lib import init_random_number_generators\n"
                     "print('jax' in sys.modules)\n"
                     "from neurotic.optimizers.adam import Adam\n"
                     "from neurotic.layers.normalization import LayerNorm\n"
                     "import neurotic as trax\n"
                     "print(Adam is trax.optimizers.Adam, LayerNorm is trax.layers.LayerNorm,\n"
                     "      add_loss_weights is trax.data.add_loss_weights, trax.models.GRULM.__module__)\n")
    assert out.split("\n")[:2] == ["False", "True True True neurotic.models"]


@settings(max_examples=20, deadline=None)
@given(st.integers(-3, 2))
def test_dropout_shared_axis_int_equals_one_axis_list(axis):
    x = jnp.ones((4, 5, 6))
    masks = []
    for shared_axes in (axis, [axis]):
        layer = tl.Dropout(0.5, shared_axes=shared_axes)
        layer.init(ShapeDtype(x.shape))
        masks.append(numpy.asarray(layer(x, rng=fastmath.random.get_prng(3))))
    assert masks[0].tolist() == masks[1].tolist()
    assert (masks[0] == numpy.take(masks[0], [0], axis=axis)).all()  # constant along the shared axis
