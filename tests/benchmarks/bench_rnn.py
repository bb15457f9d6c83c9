"""The 256-step GRU forward pass: numpy loop (`neurotic.rnn.scan`) against jitted `jax.lax.scan`.

Also prints the numpy vanilla RNN on the same sequence. Sizes are the notebook's example
(hidden 16, embedding 128, 256 steps, seed 10). The jitted scan gets its inputs as JAX arrays,
put on the device once before timing, as a training loop would hold them.

    python tests/benchmarks/bench_rnn.py [--strict]
"""
import jax

from harness import finish, header, measure, report
from neurotic.rnn import forward_GRU, forward_vanilla_RNN, random_weights_and_inputs, scan, scan_GRU_jax

TARGET_SPEEDUP = 10  # the jitted scan should take at most a tenth of the numpy loop's time


def main() -> None:
    header("RNN forward, 256 steps, hidden 16, embedding 128 (neurotic.rnn)")
    weights, inputs = random_weights_and_inputs()
    X, h_0 = inputs.X, inputs.hidden_state
    X_jax, weights_jax, h_0_jax = jax.device_put((X, weights, h_0))

    rnn_numpy = measure(lambda: scan(forward_vanilla_RNN, X, weights, h_0), warmup=2, repeats=15)
    gru_numpy = measure(lambda: scan(forward_GRU, X, weights, h_0), warmup=2, repeats=15)
    gru_jax = measure(lambda: scan_GRU_jax(X_jax, weights_jax, h_0_jax), warmup=3, repeats=50)

    print(f"{'vanilla RNN, numpy loop':<34} {rnn_numpy}")  # for scale: one product per step instead of three
    met = report("GRU, jitted lax.scan", gru_jax, gru_numpy, "GRU, numpy loop", target=1 / TARGET_SPEEDUP)
    finish([met])


if __name__ == "__main__":
    main()
