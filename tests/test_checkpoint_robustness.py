"""A training run killed with SIGKILL loses nothing: the reduced version of `tests/kill_training.py`
(run that script for the full check of 20 kills)."""
import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location("kill_training", Path(__file__).with_name("kill_training.py"))
kill_training = importlib.util.module_from_spec(spec)
spec.loader.exec_module(kill_training)


def test_killed_runs_resume_to_the_weights_of_an_uninterrupted_run():
    lines = []
    summary = kill_training.run(kills=2, steps=40, seed=1, log=lines.append)
    assert summary["kills"] == 2 and summary["same_final_weights"] is True
    assert lines[-1] == "resumed to step 40 with the same weights and optimizer slots as the uninterrupted run"
    # the checkpoint never goes back, and the second kill comes after the first checkpoint was written
    steps = summary["steps_at_kills"]
    assert steps == sorted(steps) and steps[-1] >= 1
