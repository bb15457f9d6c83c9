"""Kill a training run with SIGKILL at random moments and check that nothing is lost.

A small model with a large embedding table trains in a child process, writing a checkpoint at every step, so
that most of its time goes into checkpoint writes. The child is killed with SIGKILL (no clean-up code runs)
at `--kills` random moments, and after each kill this script checks that

* the folder holds a checkpoint that reads back whole (every array matches its checksum), at a step no
  earlier than the one before the kill;
* the next run takes the folder (the dead process's lock is gone), removes the temporaries the kill left,
  and resumes from that checkpoint's step;

and at the end, that the run resumed to completion has exactly the weights and optimizer slots of a run that
was never interrupted.

    python tests/kill_training.py              # 20 kills (about four minutes on a busy two-core machine)
    python tests/kill_training.py --kills 3    # the reduced version that tests/test_checkpoint_robustness.py runs

`--worker FOLDER` is the child's side: train to `--steps` steps in FOLDER, resuming from its checkpoint.
"""
import argparse
import contextlib
import io
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

VOCAB, WIDTH, BATCH = 8000, 64, 16  # the embedding table: 512k weights, so a checkpoint is about 6 MB
TEMPORARY_SUFFIX = ".neurotic-tmp"


def worker(folder, steps):
    "Train to `steps` steps in `folder`, resuming from its checkpoint; print when training starts and ends."
    from neurotic import layers as tl
    from neurotic import optimizers
    from neurotic.supervised import training

    def batches():
        rng = np.random.default_rng(0)
        while True:
            ids = rng.integers(1, VOCAB, (BATCH, 8)).astype(np.int32)
            yield ids, (ids[:, 0] % 2).astype(np.int32), np.ones(BATCH, np.float32)

    model = tl.Serial(tl.Embedding(VOCAB, WIDTH), tl.Mean(axis=1), tl.Dense(2), tl.LogSoftmax())
    task = training.TrainTask(batches(), tl.CrossEntropyLoss(), optimizers.Adam(0.01))
    loop = training.Loop(model, task, output_dir=folder, random_seed=0, progress_bar=False,
                         checkpoint_at=lambda step: True, eval_at=lambda step: False)
    print(f"training from step {loop.step}", flush=True)
    first = loop.step
    if loop.step < steps:
        loop.run(1)  # compiles the step
    start = time.perf_counter()
    if loop.step < steps:
        loop.run(steps - loop.step)
    per_step = (time.perf_counter() - start) / max(1, loop.step - first - 1)
    print(f"done at step {loop.step}; seconds per step after the first: {per_step:.4f}", flush=True)


def start_worker(folder, steps):
    "A child process training in `folder`, and the step it resumed from (read from its first line)."
    child = subprocess.Popen([sys.executable, __file__, "--worker", str(folder), "--steps", str(steps)],
                             stdout=subprocess.PIPE, text=True, env=dict(os.environ, JAX_PLATFORMS="cpu"))
    line = child.stdout.readline()
    if not line.startswith("training from step "):
        child.kill()
        raise AssertionError(f"the worker did not start: {line!r}, exit status {child.wait()}")
    return child, int(line.split()[-1])


def finish(child):
    "Wait for a worker to end by itself; returns its last line."
    out, _ = child.communicate(timeout=600)
    assert child.returncode == 0, f"the worker failed with status {child.returncode}"
    return out.strip().splitlines()[-1]


def checkpoint_state(folder):
    "The step and arrays of the folder's checkpoint, or None if there is none; raises if it is damaged."
    from neurotic.supervised import checkpoint as ckpt
    path = Path(folder) / "model.ckpt.npz"
    if not path.exists():
        return None
    manifest, trees = ckpt.read_checkpoint(path)  # verifies every array's checksum
    return manifest["metadata"]["step"], trees


def temporaries(folder):
    return sorted(p.name for p in Path(folder).iterdir() if p.name.endswith(TEMPORARY_SUFFIX))


def identity(path):
    "What changes with every write of `path` (a new inode each time): None while it does not exist."
    try:
        found = path.stat()
    except FileNotFoundError:
        return None
    return found.st_ino, found.st_mtime_ns


def wait_for_a_new_checkpoint(path, child, timeout=120):
    "Wait until the worker has written a checkpoint, i.e. it has compiled its step and trains at full speed."
    before, deadline = identity(path), time.monotonic() + timeout
    while identity(path) == before and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)


def run(kills=20, steps=150, seed=0, log=print):
    "Kill a run `kills` times, checking after each kill; returns a summary dict."
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as scratch:
        reference, folder = Path(scratch) / "reference", Path(scratch) / "killed"
        with contextlib.redirect_stdout(io.StringIO()) as printed:  # in this process: one start fewer
            worker(reference, steps)
        per_step = float(printed.getvalue().split()[-1])
        log(f"uninterrupted run: {steps} steps, {per_step:.4f} s per step with its checkpoint")
        # most kills come while the run trains at full speed, on average 0.7 * steps / kills steps after it
        # wrote its first checkpoint; every fifth comes soon after the start, while the worker resumes
        spread = 1.4 * per_step * steps / kills
        summary = {"kills": 0, "during_writes": 0, "steps_at_kills": []}
        last_step, left_behind = 0, []
        for kill in range(kills):
            child, resumed_from = start_worker(folder, steps)
            assert resumed_from == last_step, f"resumed from step {resumed_from}, the checkpoint had {last_step}"
            assert not set(left_behind) & set(temporaries(folder)), "stale temporaries were not removed"
            if kill % 5 == 4:
                time.sleep(rng.uniform(0, 0.5))
            else:
                wait_for_a_new_checkpoint(folder / "model.ckpt.npz", child)
                time.sleep(rng.uniform(0, spread))
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=60)
            child.stdout.close()
            left_behind = temporaries(folder)
            state = checkpoint_state(folder)
            step = 0 if state is None else state[0]
            assert step >= last_step, f"the checkpoint went back from step {last_step} to {step}"
            assert state is not None or last_step == 0, "the checkpoint disappeared"
            last_step = step
            summary["kills"] += 1
            summary["during_writes"] += bool(left_behind)
            summary["steps_at_kills"].append(step)
            log(f"kill {kill + 1:2d}: checkpoint at step {step:3d}"
                + (f", killed during a write ({left_behind[0]})" if left_behind else ""))
        child, resumed_from = start_worker(folder, steps)
        assert resumed_from == last_step and not set(left_behind) & set(temporaries(folder))
        log(finish(child))
        (got_step, got), (want_step, want) = checkpoint_state(folder), checkpoint_state(reference)
        assert got_step == want_step == steps
        for name in ("weights", "slots_0", "rng"):
            assert all(np.array_equal(a, b) for a, b in zip(got[name], want[name])), f"{name} differ"
        summary["same_final_weights"] = True
        log(f"resumed to step {steps} with the same weights and optimizer slots as the uninterrupted run")
        return summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20, help="how many times to kill the run (default 20)")
    parser.add_argument("--steps", type=int, default=150, help="steps of the whole run (default 150)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the moments of the kills")
    parser.add_argument("--worker", metavar="FOLDER", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.steps)
        return
    summary = run(args.kills, args.steps, args.seed)
    print(json.dumps(summary))
    if args.kills >= 10 and summary["during_writes"] == 0:
        sys.exit("no kill landed during a checkpoint write; the check proved less than it should")


if __name__ == "__main__":
    main()
