"""Property checks of the recurrent kernels: the hoisted loops and the hand-written GRU gradient
agree with the plain per-position loop for any batch, length and widths."""
import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings, strategies as st

from neurotic.layers import rnn
from neurotic.layers.base import LayerError
from neurotic.shapes import ShapeDtype

# Few distinct shapes (each one compiles anew), many random values.
sizes = st.tuples(st.integers(1, 2), st.integers(1, 4), st.integers(1, 3), st.integers(1, 3), st.integers(0, 2**16))


def plain_gru(weights, xs, h0):
    "One `gru_step` on `[x, h]` per position: the reference the hoisted loop must match."
    step = lambda h, x: (rnn.gru_step(weights, x, h),) * 2
    last, hs = jax.lax.scan(step, h0, jnp.swapaxes(xs, 0, 1))
    return jnp.swapaxes(hs, 0, 1), last


def plain_lstm(weights, xs, state):
    step = lambda s, x: rnn.lstm_step(weights, x, s)[::-1]
    last, hs = jax.lax.scan(step, state, jnp.swapaxes(xs, 0, 1))
    return jnp.swapaxes(hs, 0, 1), last


def random_arrays(seed, *shapes):
    keys = jax.random.split(jax.random.PRNGKey(seed), len(shapes))
    return [jax.random.normal(k, s) for k, s in zip(keys, shapes)]


def assert_trees_close(a, b, atol):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        assert x.shape == y.shape
        np.testing.assert_allclose(x, y, atol=atol, rtol=0)


@settings(max_examples=3, deadline=None)
@given(sizes)
def test_gru_scan_matches_plain_loop_values_and_gradients(size):
    batch, length, d, n, seed = size
    w_g, b_g, w_c, b_c, xs, h0 = random_arrays(seed, (d + n, 2 * n), (2 * n,), (d + n, n), (n,),
                                               (batch, length, d), (batch, n))
    weights = (w_g, b_g, w_c, b_c)
    assert_trees_close(rnn.gru_scan(weights, xs, h0), plain_gru(weights, xs, h0), atol=1e-5)

    def loss(run):
        def f(weights, xs, h0):
            ys, last = run(weights, xs, h0)
            return jnp.sum(jnp.sin(ys)) + jnp.sum(jnp.cos(last))
        return jax.grad(f, argnums=(0, 1, 2))

    assert_trees_close(loss(rnn.gru_scan)(weights, xs, h0), loss(plain_gru)(weights, xs, h0), atol=1e-4)


@settings(max_examples=2, deadline=None)
@given(sizes)
def test_lstm_scan_matches_plain_loop(size):
    batch, length, d, n, seed = size
    w, b, xs, state = random_arrays(seed, (d + n, 4 * n), (4 * n,), (batch, length, d), (batch, 2 * n))
    assert_trees_close(rnn.lstm_scan((w, b), xs, state), plain_lstm((w, b), xs, state), atol=1e-5)
    grad = lambda run: jax.grad(lambda w, xs: jnp.sum(jnp.sin(run(w, xs, state)[0])), argnums=(0, 1))
    assert_trees_close(grad(rnn.lstm_scan)((w, b), xs), grad(plain_lstm)((w, b), xs), atol=1e-4)


def test_gru_gradient_under_jit_equals_eager():
    w_g, b_g, w_c, b_c, xs, h0 = random_arrays(7, (7, 8), (8,), (7, 4), (4,), (2, 5, 3), (2, 4))
    f = lambda w: jnp.sum(rnn.gru_scan(w, xs, h0)[0] ** 2)
    assert_trees_close(jax.jit(jax.grad(f))((w_g, b_g, w_c, b_c)), jax.grad(f)((w_g, b_g, w_c, b_c)), atol=1e-6)


def test_gru_layer_error_names_layer_and_shapes():
    gru = rnn.GRU(4)
    gru.init(ShapeDtype((2, 3, 4)))
    try:
        gru(np.ones((2, 3, 5), np.float32))
    except LayerError as error:
        message = str(error)
    else:
        raise AssertionError("a wrong feature size was accepted")
    assert "GRU_4 expects inputs with last dimension 4; got shape (2, 3, 5)" in message
    assert "test_layers_rnn.py" in message  # where the layer was created


def test_gru_and_lstm_hand_their_initializers_to_the_cell():
    from neurotic.fastmath import random
    from neurotic.layers.core import GlorotUniformInitializer, RandomNormalInitializer, RandomUniformInitializer
    key = random.get_prng(11)
    default = rnn.GRU(8).init(ShapeDtype((2, 3, 8)), rng=key)[0]
    explicit = rnn.GRU(8, kernel_initializer=RandomUniformInitializer(0.01),
                       bias_initializer=RandomNormalInitializer(1e-6)).init(ShapeDtype((2, 3, 8)), rng=key)[0]
    assert_trees_close(default, explicit, atol=0)
    w_gates = rnn.GRU(8, kernel_initializer=GlorotUniformInitializer()).init(ShapeDtype((2, 3, 8)), rng=key)[0][1][0][0]
    assert 0.01 < float(jnp.max(jnp.abs(w_gates))) <= (6 / 32) ** 0.5
    zeros = lambda shape, rng: jnp.zeros(shape)
    w, b = rnn.LSTM(4, bias_initializer=zeros).init(ShapeDtype((2, 3, 4)), rng=key)[0][1][0]
    assert w.shape == (8, 16) and b.tolist() == [1.0] * 16  # forget_bias is still added
    assert repr(rnn.GRU(8)) == "GRU_8" and repr(rnn.LSTM(8, return_state=True)) == "LSTM_8_out2"


def test_a_labelled_cell_names_the_label_in_its_errors():
    cell = rnn.GRUCell(2, label="MyGRU")
    cell.init((ShapeDtype((1, 3)), ShapeDtype((1, 2))))
    try:
        cell.forward_sequence(np.ones((1, 4, 5), np.float32), np.zeros((1, 2), np.float32))
    except ValueError as error:
        assert str(error) == "MyGRU expects inputs with last dimension 3; got shape (1, 4, 5)"
    else:
        raise AssertionError("a wrong feature size was accepted")


def test_gru_gradient_copies_no_activations_into_a_transposed_layout():
    """The weight gradients are products on (length * batch, k) matrices, so the compiled gradient holds no
    copy or transpose of a (batch, length, k) activation that puts its feature axis first (a contraction over
    the two leading axes at once makes XLA copy both operands that way)."""
    import re
    batch, length, d, n = 4, 5, 6, 7  # distinct sizes, so a shape tells which axes it holds
    w_g, b_g, w_c, b_c, xs, h0 = random_arrays(0, (d + n, 2 * n), (2 * n,), (d + n, n), (n,), (batch, length, d), (batch, n))
    loss = lambda weights, xs: jnp.sum(jnp.sin(rnn.gru_scan(weights, xs, h0)[0]))
    text = jax.jit(jax.grad(loss, argnums=(0, 1))).lower((w_g, b_g, w_c, b_c), xs).compile().as_text()
    moved = [tuple(map(int, s.split(","))) for s in re.findall(r"= f32\[([\d,]+)\]\{[\d,]+\} (?:transpose|copy)\(", text)]
    activations = [s for s in moved if len(s) == 3 and {batch, length} <= set(s)]
    assert activations, "the batch/time swaps at the layer's edges should still be there"
    assert [s for s in activations if s[0] not in (batch, length)] == []
