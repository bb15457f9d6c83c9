"""The Trax 1.4.1 side of the same-run baselines: run under an interpreter that has Trax, never neurotic's.

    NEUROTIC_TRAX_PYTHON=/tmp/traxvenv/bin/python python tests/benchmarks/bench_training.py
    NEUROTIC_TRAX_PYTHON=/tmp/traxvenv/bin/python python tests/benchmarks/bench_layers.py

The benchmarks start this file as a worker (`harness.Worker`), `python trax_side.py WORKLOAD`, and it answers
timing requests (`harness.serve`). The side venv is made by `tools/trax_reference/make_trax_venv.sh`.
Workloads, the same model, optimizer, batch shapes and code path as neurotic's side:

- `sentiment`: the seed's classifier, Serial(Embedding(9164, 256), Mean(axis=1), Dense(2), LogSoftmax()),
  CrossEntropyLoss, Adam(0.01) (Trax's defaults otherwise), batches of 16 x 16 tokens, through
  `trax.supervised.training.Loop` with a `TrainTask` (no evals, no checkpoints). A request `N` runs
  `loop.run(N)` and answers one (wall, cpu) pair of seconds per step.
- `gru`: the GRU language model of bench_layers (ShiftRight, Embedding(256, 512), two GRU(512), Dense(256),
  LogSoftmax; batch 32 x 64), one training step jitted by hand as neurotic's side is: mean cross-entropy,
  `jax.value_and_grad`, Trax's Adam(0.001) `tree_update`. A request `N` answers N (wall, cpu) pairs.
- `lm DATA`: the seed's GRU language model trained to a held-out perplexity (bench_time_to_perplexity.py).
  DATA is a folder the benchmark wrote: `setup.json` (recipe), `weights.npz` (neurotic's initial weights,
  leaves in tree order, which is Trax's order too) and `held_out.npz` (evaluation batches). Requests are
  JSON objects: `{"train": N, "batches": PATH}` runs `loop.run(N)` of Trax's Loop on the N training
  batches in PATH and answers its wall seconds; `{"evaluate": true}` answers the held-out
  (sum of log-probabilities, count of non-padding characters).
"""
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import serve, serve_requests, timed  # noqa: E402


def version() -> str:
    "Trax's and JAX's versions, as the benchmark prints them."
    from importlib.metadata import version as of
    return f"Trax {of('trax')} (jax {of('jax')})"


def block(tree):
    import jax
    return jax.block_until_ready(tree)


def sentiment():
    "Requests run `loop.run(N)` of Trax's Loop on the seed's sentiment classifier."
    import trax
    from trax import layers as tl
    from trax.supervised import training
    from bench_training import SENTIMENT_VOCAB, endless, sentiment_batches

    model = tl.Serial(tl.Embedding(SENTIMENT_VOCAB, 256), tl.Mean(axis=1), tl.Dense(2), tl.LogSoftmax())
    task = training.TrainTask(endless(sentiment_batches()), tl.CrossEntropyLoss(), trax.optimizers.Adam(0.01))
    never = lambda step: False
    loop = training.Loop(model, [task], eval_at=never, checkpoint_at=never, random_seed=0)

    def run(n):
        wall, cpu = timed(lambda: (loop.run(n), block(loop.model.weights)))
        return [(wall / n, cpu / n)]

    return f"{version()}, training.Loop", run


def gru():
    "Requests run N hand-jitted training steps of the GRU language model with Trax's layers and Adam."
    import jax
    import jax.numpy as jnp
    import trax
    from trax import layers as tl
    from trax import shapes
    from bench_layers import BATCH, D_MODEL, LENGTH, N_LAYERS, VOCAB

    model = tl.Serial(tl.ShiftRight(mode="train"), tl.Embedding(VOCAB, D_MODEL),
                      [tl.GRU(n_units=D_MODEL) for _ in range(N_LAYERS)], tl.Dense(VOCAB), tl.LogSoftmax())
    tokens = jax.random.randint(jax.random.PRNGKey(1), (BATCH, LENGTH), 0, VOCAB)
    weights, state = model.init(shapes.signature(tokens), rng=trax.fastmath.random.get_prng(0))
    rng = trax.fastmath.random.get_prng(1)
    optimizer = trax.optimizers.Adam(0.001)
    slots, opt_params = optimizer.tree_init(weights)

    def loss_fn(weights, tokens):
        log_probs, _ = model.pure_fn(tokens, weights, state, rng)
        return -jnp.mean(jnp.take_along_axis(log_probs, tokens[..., None], axis=-1))

    @jax.jit
    def train_step(step, weights, slots, tokens):
        loss, grads = jax.value_and_grad(loss_fn)(weights, tokens)
        weights, slots, _ = optimizer.tree_update(step, grads, weights, slots, opt_params)
        return weights, slots, loss

    carry = [weights, slots, 0]

    def step():
        carry[0], carry[1], loss = train_step(jnp.asarray(carry[2]), carry[0], carry[1], tokens)
        carry[2] += 1
        return block(loss)

    for _ in range(3):  # compile and warm up before announcing readiness
        step()
    return f"{version()}, step jitted by hand with Trax's Adam", lambda n: [timed(step) for _ in range(n)]


def lm(data):
    "Trax's Loop training the GRU language model from neurotic's initial weights, on batches the benchmark sends."
    import collections
    import json
    import time
    import jax
    import jax.numpy as jnp
    import numpy as np
    import trax
    from trax import layers as tl
    from trax.supervised import training

    data = Path(data)
    setup = json.loads((data / "setup.json").read_text())
    d_model, vocab, pad = setup["d_model"], setup["vocab_size"], setup["pad_id"]
    model = tl.Serial(tl.ShiftRight(mode="train"), tl.Embedding(vocab, d_model),
                      [tl.GRU(n_units=d_model) for _ in range(setup["n_layers"])], tl.Dense(vocab), tl.LogSoftmax())
    with np.load(data / "weights.npz") as saved:
        leaves = [jnp.asarray(saved[f"leaf_{i}"]) for i in range(len(saved.files))]
    labeled = lambda ids: (ids, ids, (ids != pad).astype(np.float32))
    with np.load(data / "first_batch.npz") as first:
        sample = labeled(first["ids"])
    model.init(trax.shapes.signature(sample[0]))
    treedef = jax.tree_util.tree_structure(model.weights)
    shapes = [tuple(w.shape) for w in jax.tree_util.tree_leaves(model.weights)]
    if shapes != [tuple(w.shape) for w in leaves]:
        raise ValueError(f"neurotic's weights {[w.shape for w in leaves]} do not fit Trax's tree {shapes}")
    model.weights = jax.tree_util.tree_unflatten(treedef, leaves)
    queue = collections.deque()

    def batches():  # what the benchmark sent, in its order
        while True:
            yield queue.popleft()

    optimizer = trax.optimizers.Adam(setup["learning_rate"], clip_grad_norm=setup["clip_grad_norm"])
    task = training.TrainTask(batches(), tl.CrossEntropyLoss(), optimizer, sample_batch=sample,
                              lr_schedule=trax.lr.warmup(setup["warmup_steps"], setup["learning_rate"]))
    never = lambda step: False
    loop = training.Loop(model, [task], eval_at=never, checkpoint_at=never, random_seed=setup["seed"])
    state, rng = model.state, trax.fastmath.random.get_prng(0)
    forward = jax.jit(lambda weights, ids: model.pure_fn(ids, weights, state, rng)[0])
    with np.load(data / "held_out.npz") as saved:
        held_out = [saved[f"ids_{i}"] for i in range(len(saved.files))]

    def handle(request):
        if "train" in request:
            with np.load(request["batches"]) as saved:
                queue.extend(labeled(saved[f"ids_{i}"]) for i in range(request["train"]))
            start = time.perf_counter()
            loop.run(request["train"])
            block(loop.model.weights)
            return {"seconds": time.perf_counter() - start, "step": loop.step}
        total, count = 0.0, 0
        for ids in held_out:
            log_probs = np.asarray(forward(loop.model.weights, ids))
            picked = np.take_along_axis(log_probs, ids[..., None], axis=-1)[..., 0]
            total += float(np.sum(np.where(ids != pad, picked, 0.0), dtype=np.float64))
            count += int(np.sum(ids != pad))
        return {"total": total, "count": count}

    return f"{version()}, training.Loop", handle


if __name__ == "__main__":
    # Whatever Trax, TensorFlow or absl print goes to stderr; stdout carries only the answers.
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    if sys.argv[1] == "lm":
        serve_requests(*lm(sys.argv[2]), out=out)
    else:
        description, run = {"sentiment": sentiment, "gru": gru}[sys.argv[1]]()
        serve(description, run, out=out)
