"""The training loop's promises that need files or long runs: exact resume, damaged checkpoints,
failed writes, non-finite losses and weights, Ctrl-C and SIGTERM, one run per folder, the progress bar
and the recompilation warning."""
import contextlib
import io
import os
import re
import signal
import subprocess
import sys
import threading

import jax
import numpy as np
import pytest

from neurotic import layers as tl
from neurotic import optimizers
from neurotic.data import pad_to_max_dims
from neurotic.shapes import signature
from neurotic.supervised import checkpoint as ckpt
from neurotic.supervised import training


def sentences(seed=0, batch_size=16, lengths=(5, 13)):
    "Endless toy sentiment batches: ids 2-10 lean negative, 11-19 positive; padded to a multiple of 8."
    rng = np.random.default_rng(seed)
    while True:
        length = rng.integers(*lengths, batch_size)
        labels = rng.integers(0, 2, batch_size)
        rows = [(rng.integers(2, 11, n) + 9 * (rng.random(n) < (0.8 if label else 0.2))).astype(np.int32)
                for n, label in zip(length, labels)]
        ids = pad_to_max_dims(rows, boundary=8, strict_pad_on_len=True)
        yield ids, labels.astype(np.int32), np.ones(batch_size, np.float32)


def classifier(d_feature=16):
    return tl.Serial(tl.Embedding(20, d_feature), tl.Mean(axis=1), tl.Dense(2), tl.LogSoftmax())


def make_loop(output_dir, every=10, d_feature=16, data=None, **kwargs):
    "A loop over generators with fixed seeds, so that it can be recreated exactly."
    task = training.TrainTask(sentences(0) if data is None else data, tl.CrossEntropyLoss(),
                              optimizers.Adam(0.01), n_steps_per_checkpoint=every)
    eval_task = training.EvalTask(sentences(1), [tl.CrossEntropyLoss(), tl.Accuracy()], n_eval_batches=2)
    return training.Loop(classifier(d_feature), task, eval_tasks=eval_task, output_dir=output_dir,
                         random_seed=3, **kwargs)


def run_logged(loop, n_steps):
    "Run and return the log with the timings blanked."
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        loop.run(n_steps)
    return re.sub(r"in \d+\.\d\d secs", "in - secs", out.getvalue())


def leaves_close(a, b):
    return all(np.allclose(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def test_resume_100_then_100_equals_200(tmp_path):
    first = run_logged(make_loop(tmp_path / "stopped"), 100)
    resumed = make_loop(tmp_path / "stopped")
    assert resumed.step == 100
    second = run_logged(resumed, 100)
    straight = make_loop(tmp_path / "straight")
    whole = run_logged(straight, 200)
    assert first + second == whole
    assert "Step    200: eval          Accuracy |" in whole
    assert leaves_close(resumed.model.weights, straight.model.weights)
    for mode in ("train", "eval"):
        for metric in straight.history.metrics_for_mode(mode):
            if metric.startswith("metrics/"):
                assert resumed.history.get(mode, metric) == straight.history.get(mode, metric)
    manifest, arrays = ckpt.read_checkpoint(tmp_path / "stopped" / training.CHECKPOINT_FILENAME)
    assert manifest["metadata"]["step"] == 200
    assert manifest["metadata"]["train_batches_drawn"] == [200]
    # the optimizer state is in the checkpoint too: Adam's update count
    assert "slots_0" in manifest["trees"]


def test_reused_tasks_are_not_skipped_twice(tmp_path):
    "A second loop built on the same task objects continues the data without skipping again."
    task = training.TrainTask(sentences(0), tl.CrossEntropyLoss(), optimizers.Adam(0.01), n_steps_per_checkpoint=10)
    loop = training.Loop(classifier(), task, output_dir=tmp_path, random_seed=3, progress_bar=False)
    run_logged(loop, 20)
    again = training.Loop(classifier(), task, output_dir=tmp_path, random_seed=3)
    assert task.n_batches_drawn == 20 and again.step == 20


def trained_dir(tmp_path, steps=10):
    run_logged(make_loop(tmp_path), steps)
    return tmp_path / training.CHECKPOINT_FILENAME


def test_truncated_checkpoint_names_the_file(tmp_path):
    path = trained_dir(tmp_path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ckpt.CheckpointError, match="truncated or corrupt") as error:
        make_loop(tmp_path)
    assert str(path) in str(error.value)


def test_corrupted_bytes_are_detected(tmp_path):
    path = trained_dir(tmp_path)
    data = bytearray(path.read_bytes())
    middle = len(data) // 3  # inside the embedding table's bytes
    data[middle] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ckpt.CheckpointError) as error:
        make_loop(tmp_path)
    assert str(path) in str(error.value)


def test_checkpoint_of_another_model_names_the_mismatch(tmp_path):
    path = trained_dir(tmp_path)
    with pytest.raises(ckpt.CheckpointError) as error:
        make_loop(tmp_path, d_feature=32)
    message = str(error.value)
    assert str(path) in message
    assert "weights[0] should have shape (20, 32)" in message and "(20, 16)" in message


def test_checkpoint_of_another_optimizer_is_refused(tmp_path):
    trained_dir(tmp_path)
    task = training.TrainTask(sentences(0), tl.CrossEntropyLoss(), optimizers.SGD(0.1))
    with pytest.raises(ckpt.CheckpointError, match="slots_0"):
        training.Loop(classifier(), task, output_dir=tmp_path, random_seed=3)


def test_failed_write_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    path = trained_dir(tmp_path)
    good = path.read_bytes()
    loop = make_loop(tmp_path)
    run_logged(loop, 3)

    def broken_savez(file, **arrays):
        file.write(b"PK\x03\x04 partial")
        raise OSError("No space left on device")

    monkeypatch.setattr(ckpt.np, "savez", broken_savez)
    with pytest.raises(OSError, match="No space left"):
        loop.save_checkpoint()
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", training.CHECKPOINT_FILENAME]
    monkeypatch.undo()
    assert make_loop(tmp_path).step == 10


def test_infinite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    def poisoned():
        for i, (x, y, w) in enumerate(sentences(5)):
            yield x, y, (w if i < 16 else w * np.inf)

    loop = make_loop(tmp_path, data=poisoned())
    with pytest.raises(FloatingPointError, match=r"Step 17: the training loss is (nan|inf)") as error:
        run_logged(loop, 30)
    assert "last good checkpoint" in str(error.value)
    assert ckpt.read_checkpoint(tmp_path / training.CHECKPOINT_FILENAME)[0]["metadata"]["step"] == 10


def test_published_weights_survive_later_runs(tmp_path):
    "The loop donates its own buffers to the compiled step, never the arrays handed to the model."
    loop = make_loop(None)
    run_logged(loop, 2)
    held = loop.model.weights
    before = [np.array(x) for x in jax.tree.leaves(held)]
    run_logged(loop, 5)
    assert all(np.array_equal(np.asarray(x), y) for x, y in zip(jax.tree.leaves(held), before))
    assert not leaves_close(loop.model.weights, held)


def test_progress_bar(capsys):
    loop = make_loop(None)
    assert loop._progress_bar is False  # pytest captures stdout: not a terminal
    with_bar = make_loop(None, progress_bar=True)
    with_bar.run(3)
    captured = capsys.readouterr()
    assert "Step      1: train CrossEntropyLoss |" in captured.out
    assert "steps 1-3" in captured.err


def test_many_batch_shapes_warn():
    def ragged():
        for i, (x, y, w) in enumerate(sentences(0)):
            yield x[:, : 3 + i % 12], y, w  # a new length at most steps

    loop = training.Loop(classifier(), training.TrainTask(ragged(), tl.CrossEntropyLoss(), optimizers.Adam(0.01)),
                         eval_at=lambda step: False, random_seed=0)
    with pytest.warns(RuntimeWarning, match="compiles the training step again.*neurotic.data.BucketByLength"):
        loop.run(12)


def test_two_tasks_with_which_task():
    tasks = [training.TrainTask(sentences(s), tl.CrossEntropyLoss(), optimizers.Adam(0.01)) for s in (0, 1)]
    loop = training.Loop(classifier(), tasks, which_task=lambda step: step % 2, eval_at=lambda step: False,
                         random_seed=0)
    loop.run(6)
    assert [t.n_batches_drawn for t in tasks] == [3, 3]


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_run_needs_a_positive_int(bad):
    with pytest.raises(ValueError, match="n_steps must be a positive integer"):
        make_loop(None).run(bad)


def test_output_dir_that_is_a_file(tmp_path):
    a_file = tmp_path / "model"
    a_file.write_text("")
    with pytest.raises(NotADirectoryError, match=str(a_file)):
        make_loop(a_file)


def test_wrong_arity_generator():
    triples = ((x, y, w, w) for x, y, w in sentences(0))
    with pytest.raises(ValueError, match="a batch has 4 arrays.*must have 3 arrays"):
        training.Loop(classifier(), training.TrainTask(triples, tl.CrossEntropyLoss(), optimizers.Adam()))


def test_restore_model_from_a_loop_checkpoint(tmp_path):
    loop = make_loop(tmp_path)
    run_logged(loop, 10)
    fresh = classifier()
    fresh.init(loop._input_signature)
    ckpt.restore_model(fresh, tmp_path / training.CHECKPOINT_FILENAME)
    assert leaves_close(fresh.weights, loop.model.weights)
    inputs = next(sentences(9))[0]
    assert np.allclose(fresh(inputs), loop.eval_model(inputs), atol=1e-6)


def test_trax_style_code_runs_unchanged(tmp_path):
    "Keyword arguments and calls as Trax code writes them, through `import neurotic as trax`."
    import neurotic as trax
    import neurotic.layers as trax_layers
    from neurotic.supervised import training as trax_training
    train_task = trax_training.TrainTask(labeled_data=sentences(0), loss_layer=trax_layers.CrossEntropyLoss(),
                                         optimizer=trax.optimizers.Adam(0.01), n_steps_per_checkpoint=10)
    eval_task = trax_training.EvalTask(labeled_data=sentences(1),
                                       metrics=[trax_layers.CrossEntropyLoss(), trax_layers.Accuracy()])
    training_loop = trax_training.Loop(model=classifier(), tasks=train_task, eval_tasks=eval_task,
                                       output_dir=tmp_path)
    log = run_logged(training_loop, 10)
    assert "Step     10: eval  CrossEntropyLoss |" in log
    inputs, _, _ = next(sentences(2))
    assert training_loop.eval_model(inputs).shape == (16, 2)
    again = trax.supervised.training.Loop(model=classifier(), tasks=trax_training.TrainTask(
        sentences(0), trax_layers.CrossEntropyLoss(), trax.optimizers.Adam(0.01), n_steps_per_checkpoint=10),
        eval_tasks=[trax_training.EvalTask(sentences(1), [trax_layers.CrossEntropyLoss(), trax_layers.Accuracy()])],
        output_dir=tmp_path)
    assert again.step == 10
    assert run_logged(again, 10).splitlines()[1].startswith("Step     20: Ran 10 train steps in")


def test_eval_batches_may_differ_in_size_from_training_batches(tmp_path):
    "Metrics are initialised for each evaluation task's own batches, not the training ones."
    task = training.TrainTask(sentences(0, batch_size=16), tl.CrossEntropyLoss(), optimizers.Adam(0.01),
                              n_steps_per_checkpoint=5)
    eval_task = training.EvalTask(sentences(1, batch_size=64), [tl.CrossEntropyLoss(), tl.Accuracy()])
    loop = training.Loop(classifier(), task, eval_tasks=eval_task, output_dir=tmp_path, random_seed=3,
                         progress_bar=False)
    log = run_logged(loop, 10)
    assert "Step     10: eval          Accuracy |" in log
    accuracy = loop.history.get("eval", "metrics/Accuracy")
    assert [step for step, _ in accuracy] == [1, 5, 10]
    assert all(0.0 <= value <= 1.0 for _, value in accuracy)


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
def test_huge_learning_rate_writes_no_checkpoint(tmp_path):
    "The loss of step 1 is finite (it is computed before the update), but the updated weights are not."
    task = training.TrainTask(sentences(0), tl.CrossEntropyLoss(), optimizers.SGD(1e300), n_steps_per_checkpoint=10)
    loop = training.Loop(classifier(), task, output_dir=tmp_path, random_seed=3, progress_bar=False)
    with pytest.raises(FloatingPointError) as error:
        run_logged(loop, 1)
    assert str(error.value) == ("Step 1: the weights or optimizer slots are not all finite (NaN or infinity); "
                                "training stopped (no checkpoint was written).")
    assert not (tmp_path / training.CHECKPOINT_FILENAME).exists()


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
def test_diverging_run_keeps_the_last_good_checkpoint(tmp_path):
    path = trained_dir(tmp_path, steps=10)
    good = path.read_bytes()
    task = training.TrainTask(sentences(0), tl.CrossEntropyLoss(), optimizers.Adam(1e300), n_steps_per_checkpoint=10)
    loop = training.Loop(classifier(), task, output_dir=tmp_path, random_seed=3, progress_bar=False)
    with pytest.raises(FloatingPointError) as error:
        run_logged(loop, 1)  # step 11: no checkpoint is due, the check at the end of `run` catches it
    assert str(error.value) == (f"Step 11: the weights or optimizer slots are not all finite (NaN or infinity); "
                                f"training stopped (the last good checkpoint, {path}, is kept).")
    assert path.read_bytes() == good


def test_non_finite_checkpoint_is_refused_when_resuming_and_restoring(tmp_path):
    path = trained_dir(tmp_path)
    manifest, arrays = ckpt.read_checkpoint(path)
    arrays["slots_0"] = [np.full_like(a, np.inf) if a.dtype.kind == "f" else a for a in arrays["slots_0"]]
    ckpt.save_checkpoint(path, arrays, manifest["metadata"])
    with pytest.raises(ckpt.CheckpointError, match=r"holds non-finite values in slots_0 \(NaN or infinity\)"):
        make_loop(tmp_path)
    arrays["weights"] = [a * np.nan for a in arrays["weights"]]
    ckpt.save_checkpoint(path, arrays, manifest["metadata"])
    model = classifier()
    model.init(signature(next(sentences(0))[0]))
    with pytest.raises(ckpt.CheckpointError, match=r"holds non-finite weights \(NaN or infinity\); it cannot be used"):
        ckpt.restore_model(model, path)


def test_metadata_is_in_every_checkpoint(tmp_path):
    loop = make_loop(tmp_path, metadata={"vocabulary_sha256": "9f2c", "n": 3})
    run_logged(loop, 10)
    assert ckpt.checkpoint_metadata(tmp_path / training.CHECKPOINT_FILENAME) == {"vocabulary_sha256": "9f2c", "n": 3}
    with pytest.raises(ValueError, match="Loop: metadata must be a dict of JSON values"):
        make_loop(None, metadata={"rate": np.float32(0.5)})


def test_first_log_line_counts_the_weights_as_trax_does(tmp_path):
    log = run_logged(make_loop(tmp_path, d_feature=4), 1)
    # Embedding 20 x 4, Dense 4 -> 2 with its bias
    assert log.splitlines()[:3] == ["", "Step      1: Total number of trainable weights: 90",
                                    "Step      1: Ran 1 train steps in - secs"]
    resumed = run_logged(make_loop(tmp_path, d_feature=4), 9)
    assert "Total number" not in resumed and resumed.splitlines()[1] == "Step     10: Ran 9 train steps in - secs"


def signalling(signum, at, seed=0):
    "Toy batches; the process sends itself `signum` as batch `at` is drawn (batch `at` is step `at + 1`'s)."
    for i, batch in enumerate(sentences(seed)):
        if i == at:
            os.kill(os.getpid(), signum)
        yield batch


def handlers():
    return signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_saves_the_last_finished_step_and_resumes_exactly(tmp_path, signum):
    before = handlers()
    loop = make_loop(tmp_path / "stopped", data=signalling(signum, 13))
    with pytest.raises(training.TrainingInterrupted) as stopped:
        run_logged(loop, 40)
    path = tmp_path / "stopped" / training.CHECKPOINT_FILENAME
    assert str(stopped.value) == f"Interrupted at step 14; checkpoint saved to {path}. Run the same command again to resume."
    assert (stopped.value.step, stopped.value.checkpoint_path) == (14, path)
    assert isinstance(stopped.value, KeyboardInterrupt)
    assert handlers() == before
    assert ckpt.read_checkpoint(path)[0]["metadata"]["step"] == 14
    assert leaves_close(loop.model.weights, loop._weights)  # the model got the weights of step 14
    resumed = make_loop(tmp_path / "stopped")
    second = run_logged(resumed, 26)
    straight = make_loop(tmp_path / "straight")
    whole = run_logged(straight, 40)
    later = ("Step     20: eval", "Step     30", "Step     40")  # step 20's training line covers 6 steps, not 10
    assert [line for line in second.splitlines() if line.startswith(later)] == \
        [line for line in whole.splitlines() if line.startswith(later)]
    assert leaves_close(resumed.model.weights, straight.model.weights)


def test_signal_without_output_dir_and_at_a_checkpoint_step(tmp_path, monkeypatch):
    with pytest.raises(training.TrainingInterrupted, match=r"^Interrupted at step 3; no checkpoint was written\.$"):
        run_logged(make_loop(None, data=signalling(signal.SIGINT, 2)), 10)
    written = []
    save = ckpt.save_checkpoint
    monkeypatch.setattr(ckpt, "save_checkpoint", lambda path, trees, metadata, **kw: written.append(metadata["step"])
                        or save(path, trees, metadata, **kw))
    with pytest.raises(training.TrainingInterrupted, match="Interrupted at step 10; checkpoint saved"):
        run_logged(make_loop(tmp_path, data=signalling(signal.SIGTERM, 9)), 30)
    assert written == [1, 10]  # step 10 was due anyway: written once


def test_handlers_are_left_alone_outside_the_main_thread():
    before, seen = handlers(), []

    def train():
        loop = make_loop(None)
        original = loop._run_one_step
        loop._run_one_step = lambda index: seen.append(handlers()) or original(index)
        run_logged(loop, 2)

    worker = threading.Thread(target=train)
    worker.start()
    worker.join()
    assert seen == [before, before]


HOLD_LOCK = """
import sys, time
from neurotic.supervised.checkpoint import lock_run_folder
with lock_run_folder(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(600)
"""


def test_second_run_in_the_same_folder_is_refused_and_a_killed_holder_does_not_block(tmp_path):
    run_logged(make_loop(tmp_path), 10)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ckpt.RunFolderBusy) as busy:
            make_loop(tmp_path)
        assert str(busy.value) == (f"{tmp_path} is in use by another run (process {holder.pid}); "
                                   f"wait for it to finish or choose another output folder")
    finally:
        holder.kill()  # SIGKILL: no clean-up code runs in the holder
        holder.wait(timeout=60)
        holder.stdout.close()
    again = make_loop(tmp_path)
    assert again.step == 10
    assert (tmp_path / ".lock").read_text() == f"{os.getpid()}\n"


def test_a_loop_does_not_overwrite_a_newer_checkpoint(tmp_path):
    older, newer = make_loop(tmp_path), make_loop(tmp_path)
    run_logged(newer, 10)
    with pytest.raises(ckpt.CheckpointError, match="was written by another run after this loop read or wrote it"):
        run_logged(older, 10)
    assert ckpt.read_checkpoint(tmp_path / training.CHECKPOINT_FILENAME)[0]["metadata"]["step"] == 10


def test_stale_temporaries_are_removed_when_a_loop_starts(tmp_path):
    path = trained_dir(tmp_path)
    stale = tmp_path / f".{path.name}.00112233aabb.neurotic-tmp"
    stale.write_bytes(b"x" * 1000)
    keep = tmp_path / "notes.tmp"
    keep.write_text("mine")
    make_loop(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", path.name, "notes.tmp"]


def test_checkpoint_file_mode_follows_the_umask(tmp_path):
    previous = os.umask(0o027)
    try:
        path = trained_dir(tmp_path, steps=1)
    finally:
        os.umask(previous)
    assert oct(path.stat().st_mode & 0o777) == oct(0o640)
