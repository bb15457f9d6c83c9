"""The `neurotic-sentiment` command: train, evaluate and predict in real processes, and its errors.

One short training run on sentence_polarity (offline, from NLTK_DATA) is shared by the tests; they
run the command the way a user does, in a subprocess, and read its output and exit status.
"""
import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runs import Command, interrupted_step, wait_for

from neurotic.nlp.corpora import is_installed

pytestmark = pytest.mark.skipif(not is_installed("sentence_polarity"),
                                reason="NLTK's sentence_polarity is not installed (set NLTK_DATA)")

run = Command("neurotic.nlp.twitter.cli")
STEPS = 60


def call(*args):
    "Run `main(ARGS)` in this process (cheaper, for the error cases): the same fields as `run`."
    from neurotic.nlp.twitter.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main([str(a) for a in args])
        except SystemExit as exit:  # argparse's usage errors
            status = exit.code
    return subprocess.CompletedProcess(args, status, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    "A model trained for a few steps on sentence_polarity."
    folder = tmp_path_factory.mktemp("sentiment") / "model"
    done = run("train", "--corpus", "sentence_polarity", "--steps", STEPS, "--output-dir", folder)
    assert done.returncode == 0, done.stderr
    return folder, done.stdout


def test_train_writes_the_model_and_reports_accuracy(model_dir):
    folder, output = model_dir
    assert sorted(p.name for p in folder.iterdir()) == [".lock", "model.ckpt.npz", "settings.json", "vocabulary.json"]
    settings = json.loads((folder / "settings.json").read_text())
    assert settings["corpus"] == "sentence_polarity"
    assert settings["steps"] == STEPS
    assert settings["validation_texts"] == 2134
    assert 0.55 < settings["validation_accuracy"] < 1.0
    assert "training on sentence_polarity" in output
    assert f"validation accuracy {settings['validation_accuracy']:.4f} on 2,134 texts" in output
    vocabulary = json.loads((folder / "vocabulary.json").read_text())
    assert len(vocabulary) == settings["vocabulary_size"]
    assert [vocabulary[t] for t in ("__PAD__", "__</e>__", "__UNK__")] == [0, 1, 2]
    # the checkpoint is an npz archive readable without pickle
    import numpy
    with numpy.load(folder / "model.ckpt.npz", allow_pickle=False) as archive:
        assert "__manifest__" in archive.files


def test_evaluate_reloads_the_same_model(model_dir):
    folder, _ = model_dir
    settings = json.loads((folder / "settings.json").read_text())
    done = run("evaluate", "--output-dir", folder)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (f"validation accuracy: {settings['validation_accuracy']:.4f} "
                                   f"on 2,134 texts of sentence_polarity")


def _parse(output):
    "The (sentiment, probability, text) triples of predict's lines."
    triples = [line.split("\t") for line in output.splitlines()]
    assert all(len(t) == 3 for t in triples), output
    return [(sentiment, float(probability), text) for sentiment, probability, text in triples]


def test_predict_from_arguments(model_dir):
    folder, _ = model_dir
    texts = ["a gorgeous, witty and moving film", "a dull, tedious and boring mess", ""]
    done = run("predict", "--output-dir", folder, *texts)
    assert done.returncode == 0, done.stderr
    results = _parse(done.stdout)
    assert [text for _, _, text in results] == texts
    for sentiment, probability, _ in results:
        assert sentiment == ("positive" if probability > 0.5 else "negative")
    assert results[0][0] == "positive" and results[1][0] == "negative"


def test_predict_from_stdin_matches_arguments(model_dir):
    folder, _ = model_dir
    texts = ["a gorgeous, witty and moving film", "a dull, tedious and boring mess", "zzzqx"]
    from_stdin = run("predict", "--output-dir", folder, stdin="\n".join(texts[:2]) + "\n\n" + texts[2] + "\n")
    from_arguments = run("predict", "--output-dir", folder, *texts)
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert from_stdin.stdout == from_arguments.stdout  # blank lines are skipped
    assert len(_parse(from_stdin.stdout)) == 3


def test_predict_with_nothing_to_classify(model_dir):
    folder, _ = model_dir
    done = run("predict", "--output-dir", folder, stdin="\n  \n")
    assert done.returncode == 1
    assert "nothing to classify" in done.stderr


def test_missing_output_dir(tmp_path):
    for args in (["evaluate"], ["predict", "some text"]):
        done = call(*args, "--output-dir", tmp_path / "nowhere")
        assert done.returncode == 1
        assert done.stderr.startswith("neurotic-sentiment: error: no trained model in")
        assert "the folder does not exist" in done.stderr
        assert "Traceback" not in done.stderr


@pytest.mark.parametrize("name", ["model.ckpt.npz", "vocabulary.json", "settings.json"])
def test_missing_model_file(model_dir, tmp_path, name):
    folder, _ = model_dir
    damaged = tmp_path / "damaged"
    shutil.copytree(folder, damaged)
    (damaged / name).unlink()
    done = call("predict", "--output-dir", damaged, "fine")
    assert done.returncode == 1
    assert f"{name} is missing" in done.stderr
    assert "Traceback" not in done.stderr


def test_corrupt_checkpoint_and_vocabulary(model_dir, tmp_path):
    folder, _ = model_dir
    damaged = tmp_path / "damaged"
    shutil.copytree(folder, damaged)
    data = (folder / "model.ckpt.npz").read_bytes()
    (damaged / "model.ckpt.npz").write_bytes(data[: len(data) // 3])
    done = run("evaluate", "--output-dir", damaged)
    assert done.returncode == 1 and "truncated or corrupt" in done.stderr and "Traceback" not in done.stderr

    shutil.copy(folder / "model.ckpt.npz", damaged)
    (damaged / "vocabulary.json").write_text('{"__PAD__": 0}')
    done = call("predict", "--output-dir", damaged, "fine")
    assert done.returncode == 1 and "vocabulary" in done.stderr and "Traceback" not in done.stderr


def test_train_refuses_to_replace_a_model(model_dir):
    folder, _ = model_dir
    before = (folder / "model.ckpt.npz").read_bytes()
    done = call("train", "--corpus", "sentence_polarity", "--steps", 2, "--output-dir", folder)
    assert done.returncode == 1
    assert "already holds a model" in done.stderr and "--overwrite" in done.stderr
    assert (folder / "model.ckpt.npz").read_bytes() == before


def test_train_with_overwrite_and_a_file_corpus(tmp_path):
    corpus = tmp_path / "tiny.csv"
    rows = ["text,label"] + [f"what a lovely great film {i},1" for i in range(20)] + \
           [f"an awful boring film {i},0" for i in range(20)]
    corpus.write_text("\n".join(rows) + "\n")
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "settings.json").write_text("an older model's settings")
    done = run("train", "--corpus", corpus, "--steps", 20, "--batch-size", 8, "--output-dir", folder, "--overwrite")
    assert done.returncode == 0, done.stderr
    settings = json.loads((folder / "settings.json").read_text())
    assert settings["corpus"] == str(corpus) and settings["validation_texts"] == 8
    done = run("predict", "--output-dir", folder, "lovely great", "awful boring")
    assert [s for s, _, _ in _parse(done.stdout)] == ["positive", "negative"]


def test_bad_arguments_and_corpus(tmp_path):
    for args in (["train", "--steps", "0"], ["train", "--batch-size", "5"], ["fit"], []):
        done = call(*args)
        assert done.returncode == 2
        assert "error:" in done.stderr
    done = run("train", "--steps", "ten")  # the real process exits with argparse's status too
    assert done.returncode == 2 and "argument --steps: must be a positive integer; got 'ten'" in done.stderr
    done = call("train", "--corpus", tmp_path / "missing.csv", "--output-dir", tmp_path / "m")
    assert done.returncode == 1
    assert "missing.csv" in done.stderr and "Traceback" not in done.stderr
    file_in_the_way = tmp_path / "a-file"
    file_in_the_way.write_text("")
    done = call("train", "--corpus", "sentence_polarity", "--output-dir", file_in_the_way)
    assert done.returncode == 1 and "is a file" in done.stderr


def test_default_corpus_is_twitter_samples_when_installed(tmp_path):
    "With twitter_samples installed (here the project's small fixture of it), train uses it by default."
    home = tmp_path / "nltk_data"
    shutil.copytree(Path(__file__).parent / "fixtures" / "twitter_samples" / "corpora", home / "corpora")
    env = {key: value for key, value in os.environ.items() if key != "NEUROTIC_CORPUS"}
    env["NLTK_DATA"] = os.pathsep.join([str(home), os.environ["NLTK_DATA"]])  # stopwords from the shared data
    folder = tmp_path / "model"
    done = subprocess.run([*run.argv, "train", "--steps", "10", "--batch-size", "4", "--output-dir", str(folder)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert "corpus: twitter_samples" in done.stdout and "training on twitter_samples" in done.stdout
    settings = json.loads((folder / "settings.json").read_text())
    assert settings["corpus"] == "twitter_samples"
    assert settings["validation_texts"] == 6  # the fixture's 12 tweets per class, 80/20


def tiny_corpus(folder, n=20):
    "A CSV corpus of `n` short texts per class: quick to process and to train on."
    corpus = folder / "tiny.csv"
    corpus.write_text("text,label\n" + "".join(f"what a lovely great film {i},1\nan awful boring film {i},0\n"
                                               for i in range(n)))
    return corpus


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_run_saves_a_checkpoint_and_the_same_command_resumes(tmp_path, signum):
    folder = tmp_path / "model"
    args = ["train", "--corpus", tiny_corpus(tmp_path), "--batch-size", 8, "--checkpoint-every", 5,
            "--output-dir", folder]
    process = run.start(*args, "--steps", 1000000)
    try:
        wait_for(folder / ".unfinished" / "model.ckpt.npz", process)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    step = interrupted_step(stderr, "neurotic-sentiment", folder / ".unfinished" / "model.ckpt.npz")
    assert "Traceback" not in stderr
    assert not (folder / "settings.json").exists()  # no half-made model in the folder
    done = run(*args, "--steps", step + 3)
    assert done.returncode == 0, done.stderr
    assert f"resuming the unfinished run in {folder / '.unfinished'} at step {step}" in done.stdout
    assert json.loads((folder / "settings.json").read_text())["steps"] == step + 3
    assert not (folder / ".unfinished").exists()


def test_a_second_run_on_the_same_folder_is_refused(tmp_path):
    folder = tmp_path / "model"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom neurotic.supervised.checkpoint import "
                               "lock_run_folder\nwith lock_run_folder(sys.argv[1]):\n print('locked', flush=True)\n"
                               " time.sleep(120)", str(folder)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        done = call("train", "--corpus", tiny_corpus(tmp_path), "--batch-size", 8, "--steps", 2, "--output-dir", folder)
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 1
    assert f"is in use by another run (process {holder.pid})" in done.stderr
    assert done.stderr.count("\n") == 1


def test_overwrite_keeps_the_old_model_until_the_new_one_is_complete(model_dir, tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(model_dir[0], folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    done = call("train", "--overwrite", "--corpus", "/nope.csv", "--output-dir", folder)
    assert done.returncode == 1 and "/nope.csv" in done.stderr
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert run("predict", "--output-dir", folder, "a gorgeous film").returncode == 0


def test_a_diverging_run_saves_no_model(tmp_path):
    folder = tmp_path / "model"
    done = call("train", "--corpus", tiny_corpus(tmp_path), "--batch-size", 8, "--steps", 3, "--learning-rate", 1e300,
                "--output-dir", folder)
    assert done.returncode == 1, done.stderr
    last = done.stderr.splitlines()[-1]  # after NumPy's warnings about the rate overflowing float32
    assert last.startswith("neurotic-sentiment: error: Step ") and "training stopped" in last, done.stderr
    assert "Traceback" not in done.stderr
    assert not any((folder / name).exists() for name in ("model.ckpt.npz", "vocabulary.json", "settings.json"))


def test_a_huge_text_is_cut_with_a_warning(tmp_path):
    corpus = tmp_path / "huge.jsonl"
    rows = [{"text": "a lovely great film", "label": 1}, {"text": "an awful boring film", "label": 0}] * 5
    rows.append({"text": "lovely " * 300_000, "label": 1})  # 2.1 MB, 300,000 tokens
    corpus.write_text("".join(json.dumps(row) + "\n" for row in rows))
    done = call("train", "--corpus", corpus, "--batch-size", 4, "--steps", 2, "--output-dir", tmp_path / "model")
    assert done.returncode == 0, done.stderr
    assert ("neurotic-sentiment: warning: a text of 300,000 tokens was cut to its first 256 (TensorBuilder's "
            "max_tokens); longer texts are cut the same way") in done.stderr


def test_a_csv_field_over_the_limit_is_one_line(tmp_path):
    corpus = tmp_path / "huge.csv"
    corpus.write_text("text,label\nfine,1\n\"" + "x" * 200_000 + "\",0\n")
    done = call("train", "--corpus", corpus, "--output-dir", tmp_path / "model")
    assert done.returncode == 1
    assert done.stderr.startswith(f"neurotic-sentiment: error: {corpus}, after line 2: not readable as CSV: "
                                  "field larger than field limit")
    assert done.stderr.count("\n") == 1


def test_a_negative_seed_names_the_option():
    done = call("train", "--seed", -1)
    assert done.returncode == 2
    assert "argument --seed: must be a non-negative integer; got -1" in done.stderr
