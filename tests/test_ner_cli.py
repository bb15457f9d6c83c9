"""The `neurotic-ner` command run as a user runs it: train, evaluate and predict in real processes, and its errors.

One short training run (the chapter's model, 40 steps) is shared by the tests. The CoNLL-2002 corpus is read
from NLTK_DATA; nothing is downloaded.
"""
import json
import signal

import pytest
from cli_runs import Command, copy_of, interrupted_step, wait_for

from neurotic.nlp.corpora import is_installed


pytestmark = pytest.mark.skipif(not is_installed("conll2002"),
                                reason="NLTK's conll2002 corpus is not installed (set NLTK_DATA)")

run = Command("neurotic.nlp.ner.cli")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    "A chapter's model trained for 40 steps."
    folder = tmp_path_factory.mktemp("ner") / "run"
    done = run("train", "--model", "chapter", "--steps", 40, "--batch-size", 32, "--learning-rate", 0.02,
               "--checkpoint-every", 20, "--output-dir", folder)
    assert done.returncode == 0, done.stderr
    return folder


def test_help_is_quick_and_imports_no_jax():
    run.check_help(["train", "evaluate", "predict"])


def test_train_writes_a_checkpoint_settings_and_vocabularies(run_dir):
    assert sorted(p.name for p in run_dir.iterdir() if not p.name.startswith(".")) == [
        "model.ckpt.npz", "ner_config.json", "ner_vocab.json"]
    config = json.loads((run_dir / "ner_config.json").read_text())
    assert (config["model"], config["d_model"], config["language"]) == ("chapter", 50, "esp")
    assert list(json.loads((run_dir / "ner_vocab.json").read_text())) == ["word", "shape", "suffix", "lower"]


def test_train_continues_a_run(run_dir, tmp_path):
    folder = copy_of(run_dir, tmp_path)
    done = run("train", "--steps", 3, "--output-dir", folder)
    assert done.returncode == 0, done.stderr
    assert "chapter tagger (50 units)" in done.stdout and "trained to step 43" in done.stdout


def test_evaluate_prints_accuracy_and_scores_per_type(run_dir):
    done = run("evaluate", "--output-dir", run_dir, "--split", "testb")
    assert done.returncode == 0, done.stderr
    assert "esp.testb (1517 sentences)" in done.stdout
    accuracy = float(done.stdout.split("token accuracy:")[1].split()[0])
    assert 0.85 < accuracy <= 1.0  # 40 steps: about what always answering O gives, or better
    types = [line.split()[0] for line in done.stdout.splitlines()[3:]]
    assert types[-1] == "overall" and set(types[:-1]) <= {"LOC", "MISC", "ORG", "PER"}


def test_predict_tags_arguments_and_stdin_alike(run_dir):
    sentences = ["El Real Madrid ganó en Sevilla.", "Juan Villalonga viajó a Buenos Aires ."]
    from_args = run("predict", "--output-dir", run_dir, *sentences)
    from_stdin = run("predict", "--output-dir", run_dir, stdin="\n".join(sentences) + "\n\n")
    assert from_args.returncode == 0 and from_stdin.returncode == 0, from_args.stderr + from_stdin.stderr
    assert from_args.stdout == from_stdin.stdout
    lines = from_args.stdout.splitlines()
    assert [plain(line) for line in lines] == [
        ["El", "Real", "Madrid", "ganó", "en", "Sevilla", "."],
        ["Juan", "Villalonga", "viajó", "a", "Buenos", "Aires", "."]]


def plain(line):
    "The words of a tagged line, without the brackets and types around entities."
    return [w.rstrip("]") for w in line.split() if w not in ("[PER", "[ORG", "[LOC", "[MISC")]


@pytest.mark.parametrize("args, message", [
    (["train", "--steps", "0"], "argument --steps: must be a positive integer; got 0"),
    (["train", "--learning-rate", "0"], "argument --learning-rate: must be a positive number; got 0.0"),
    (["train", "--model", "crf"], "argument --model: invalid choice: 'crf'"),
    (["evaluate", "--split", "train"], "argument --split: invalid choice: 'train'"),
])
def test_bad_options_are_refused_before_any_work(args, message, tmp_path):
    done = run(*args, "--output-dir", tmp_path)
    assert done.returncode == 2
    assert message in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_other_settings_on_a_run_are_an_error(run_dir, tmp_path):
    folder = copy_of(run_dir, tmp_path)
    done = run("train", "--model", "features", "--steps", 1, "--output-dir", folder)
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert "holds a run with other settings: model=features (the run has chapter)" in done.stderr


@pytest.mark.parametrize("command", [["evaluate"], ["predict", "Hola"]])
def test_a_folder_without_a_checkpoint_is_an_error(command, tmp_path):
    done = run(*command, "--output-dir", tmp_path)
    assert done.returncode == 1
    assert f"neurotic-ner {command[0]}: error: no checkpoint in {tmp_path}" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_corrupt_checkpoint_is_an_error(run_dir, tmp_path):
    folder = copy_of(run_dir, tmp_path)
    checkpoint = folder / "model.ckpt.npz"
    checkpoint.write_bytes(checkpoint.read_bytes()[:1000])
    done = run("evaluate", "--output-dir", folder)
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert str(checkpoint) in done.stderr


def test_vocabularies_from_another_run_are_refused(run_dir, tmp_path):
    folder = copy_of(run_dir, tmp_path)
    vocab = json.loads((folder / "ner_vocab.json").read_text())
    vocab["word"] = vocab["word"][:-1]
    (folder / "ner_vocab.json").write_text(json.dumps(vocab))
    done = run("predict", "--output-dir", folder, "Hola")
    assert done.returncode == 1
    assert "does not hold the vocabularies the checkpoint" in done.stderr


def test_empty_input_to_predict_is_an_error(run_dir):
    done = run("predict", "--output-dir", run_dir, stdin="\n  \n")
    assert done.returncode == 1
    assert done.stderr == ("neurotic-ner predict: error: predict needs sentences with at least one word, "
                           "as arguments or lines on standard input\n")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_run_saves_a_checkpoint_and_resumes(tmp_path, signum):
    folder = tmp_path / "run"
    process = run.start("train", "--model", "chapter", "--steps", 1000000, "--batch-size", 16, "--checkpoint-every", 5,
                        "--output-dir", folder)
    try:
        wait_for(folder / "model.ckpt.npz", process)
        busy = run("train", "--steps", 1, "--output-dir", folder)  # a second run on the same folder
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert busy.returncode == 1 and busy.stderr.count("\n") == 1
    assert f"is in use by another run (process {process.pid})" in busy.stderr
    assert process.returncode == 130, stderr
    step = interrupted_step(stderr, "neurotic-ner train", folder / "model.ckpt.npz")
    done = run("train", "--steps", 2, "--output-dir", folder)
    assert done.returncode == 0, done.stderr
    assert f"trained to step {step + 2}" in done.stdout
