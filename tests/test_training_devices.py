"""Data-parallel training over two CPU devices, in a subprocess started with
XLA_FLAGS=--xla_force_host_platform_device_count=2 (the flag must be set before JAX starts)."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np

SCRIPT = textwrap.dedent("""
    import contextlib, io, json
    import jax
    import numpy as np
    from neurotic import layers as tl
    from neurotic import optimizers
    from neurotic.supervised import training

    def batches(seed, batch_size=16):
        rng = np.random.default_rng(seed)
        while True:
            labels = rng.integers(0, 2, batch_size)
            ids = rng.integers(2, 11, (batch_size, 8)) + 9 * (rng.random((batch_size, 8)) < np.where(labels, 0.8, 0.2)[:, None])
            yield ids.astype(np.int32), labels.astype(np.int32), np.ones(batch_size, np.float32)

    def train(n_devices, batch_size=16):
        model = tl.Serial(tl.Embedding(20, 16), tl.Mean(axis=1), tl.Dense(2), tl.LogSoftmax())
        task = training.TrainTask(batches(0, batch_size), tl.CrossEntropyLoss(), optimizers.Adam(0.01),
                                  n_steps_per_checkpoint=5)
        evals = training.EvalTask(batches(1, batch_size), [tl.CrossEntropyLoss(), tl.Accuracy()])
        loop = training.Loop(model, task, eval_tasks=evals, n_devices=n_devices, random_seed=0)
        with contextlib.redirect_stdout(io.StringIO()):
            loop.run(40)
        history = {f"{mode} {metric}": [v for _, v in loop.history.get(mode, "metrics/" + metric)]
                   for mode, metric in [("train", "CrossEntropyLoss"), ("eval", "CrossEntropyLoss"), ("eval", "Accuracy")]}
        sharding = str(jax.tree.leaves(loop._weights)[0].sharding)
        return {"n_devices": loop.n_devices, "history": history, "sharding": sharding,
                "weights": [np.asarray(w).ravel().tolist() for w in jax.tree.leaves(loop.model.weights)]}

    result = {"devices": len(jax.local_devices()), "one": train(1), "two": train(2)}
    try:
        train(2, batch_size=15)
    except ValueError as error:
        result["odd_batch_error"] = str(error)
    print(json.dumps(result))
""")


def run_two_devices():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2", JAX_PLATFORMS="cpu")
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_two_devices_match_one_device():
    result = run_two_devices()
    assert result["devices"] == 2
    one, two = result["one"], result["two"]
    assert (one["n_devices"], two["n_devices"]) == (1, 2)
    assert "NamedSharding" in two["sharding"]  # replicated over the two-device mesh
    for name, values in one["history"].items():
        assert len(values) == 9, name  # steps 1, 5, 10, ..., 40
        np.testing.assert_allclose(two["history"][name], values, rtol=1e-4, atol=1e-5, err_msg=name)
    assert one["history"]["train CrossEntropyLoss"][-1] < one["history"]["train CrossEntropyLoss"][0]
    for w1, w2 in zip(one["weights"], two["weights"]):
        np.testing.assert_allclose(w2, w1, rtol=1e-4, atol=1e-5)
    assert "batch size 15 is not divisible by the 2 devices" in result["odd_batch_error"]
