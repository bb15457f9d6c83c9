"""The `neurotic-lm` command run as a user runs it: train, evaluate and generate in real processes, and its errors.

Two short training runs are shared by the tests: a GRU run (a 32-unit model, one bucket, 60 steps) and a
Transformer run (16 wide, one block, 40 steps). The Shakespeare sample is read from NLTK_DATA; nothing is
downloaded. The `--corpus` tests write their own small text files.
"""
import json
import signal

import pytest
from cli_runs import Command, copy_of, interrupted_step, wait_for

from neurotic.nlp.corpora import is_installed


pytestmark = pytest.mark.skipif(not is_installed("shakespeare"),
                                reason="NLTK's shakespeare corpus is not installed (set NLTK_DATA)")

run = Command("neurotic.nlp.lm_cli")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    "A run trained for 60 steps of a 32-unit model."
    folder = tmp_path_factory.mktemp("lm") / "run"
    done = run("train", "--steps", 60, "--d-model", 32, "--buckets", 64, "--learning-rate", 0.02,
               "--checkpoint-every", 30, "--output-dir", folder)
    assert done.returncode == 0, done.stderr
    return folder


TINY_TRANSFORMER = ["--model", "transformer", "--d-model", 16, "--heads", 2, "--d-ff", 32, "--layers", 1,
                    "--buckets", 64, "--learning-rate", 0.01]


@pytest.fixture(scope="module")
def transformer_dir(tmp_path_factory):
    "A Transformer run trained for 40 steps: 16 wide, one block of two heads."
    folder = tmp_path_factory.mktemp("lm-transformer") / "run"
    done = run("train", "--steps", 40, *TINY_TRANSFORMER, "--checkpoint-every", 20, "--output-dir", folder)
    assert done.returncode == 0, done.stderr
    return folder


def test_help_is_quick_and_imports_no_jax():
    run.check_help(["train", "evaluate", "generate"])


def test_train_writes_a_checkpoint_and_shows_progress(run_dir):
    assert sorted(p.name for p in run_dir.iterdir()) == [".lock", "lm_config.json", "model.ckpt.npz"]
    config = json.loads((run_dir / "lm_config.json").read_text())
    assert (config["d_model"], config["boundaries"]) == (32, [64])


def test_train_continues_a_run(run_dir, tmp_path):
    folder = copy_of(run_dir, tmp_path)
    done = run("train", "--steps", 3, "--output-dir", folder)
    assert done.returncode == 0, done.stderr
    assert "32 units" in done.stdout and "trained to step 63" in done.stdout


def test_evaluate_prints_log_perplexity_and_perplexity(run_dir):
    done = run("evaluate", "--output-dir", run_dir)
    assert done.returncode == 0, done.stderr
    log_ppl = float(done.stdout.split("log perplexity:")[1].split()[0])
    ppl = float(done.stdout.split("held-out perplexity:")[1].split()[0])
    assert abs(2.718281828 ** log_ppl - ppl) < 1e-2 * ppl
    assert 1.0 < ppl < 40.0  # 60 steps: far below the 256 of guessing


def test_generate_continues_the_prompt_within_the_length(run_dir):
    done = run("generate", "--output-dir", run_dir, "--prompt", "My lord", "--length", 25, "--temperature", 0)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("My lord")
    assert len(done.stdout.rstrip("\n")) <= len("My lord") + 25


def test_generate_samples_with_a_seed(run_dir):
    # the same seed giving the same text is checked in-process by nbs/32_language_model.ipynb
    outputs = [run("generate", "--output-dir", run_dir, "--temperature", 1.0, "--seed", seed, "--length", 30).stdout
               for seed in (1, 2)]
    assert outputs[0] != outputs[1]


def test_an_empty_prompt_starts_a_line(run_dir):
    done = run("generate", "--output-dir", run_dir, "--prompt", "", "--length", 10)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.rstrip("\n")) <= 10


@pytest.mark.parametrize("args, message", [
    (["generate", "--temperature", "-0.1"], "argument --temperature: must be a number at least 0; got -0.1"),
    (["generate", "--length", "0"], "argument --length: must be a positive integer; got 0"),
    (["train", "--steps", "-5"], "argument --steps: must be a positive integer; got -5"),
    (["train", "--learning-rate", "0"], "argument --learning-rate: must be a positive number; got 0.0"),
    (["train", "--buckets", "48,16"], "argument --buckets: must be increasing lengths; got '48,16'"),
])
def test_bad_numbers_are_refused_before_any_work(args, message, tmp_path):
    done = run(*args, "--output-dir", tmp_path)
    assert done.returncode == 2
    assert message in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_prompt_outside_the_code_is_an_error(run_dir):
    done = run("generate", "--output-dir", run_dir, "--prompt", "Fair \u2014 Verona")
    assert done.returncode == 1
    assert "code point 8212" in done.stderr and "position 5" in done.stderr


@pytest.mark.parametrize("command", ["evaluate", "generate"])
def test_a_directory_without_a_checkpoint_is_an_error(command, tmp_path):
    done = run(command, "--output-dir", tmp_path)
    assert done.returncode == 1
    assert f"no checkpoint in {tmp_path}" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_corrupt_checkpoint_is_an_error(run_dir, tmp_path):
    folder = copy_of(run_dir, tmp_path)
    checkpoint = folder / "model.ckpt.npz"
    checkpoint.write_bytes(checkpoint.read_bytes()[:1000])
    done = run("evaluate", "--output-dir", folder)
    assert done.returncode == 1
    assert "truncated or corrupt" in done.stderr and str(checkpoint) in done.stderr


def test_a_checkpoint_of_another_model_is_an_error(run_dir, tmp_path):
    folder = copy_of(run_dir, tmp_path)
    config = json.loads((folder / "lm_config.json").read_text())
    (folder / "lm_config.json").write_text(json.dumps({**config, "d_model": 48}))
    done = run("generate", "--output-dir", folder, "--prompt", "A")
    assert done.returncode == 1
    assert "different model" in done.stderr


def test_a_damaged_settings_file_is_an_error(run_dir, tmp_path):
    folder = copy_of(run_dir, tmp_path)
    (folder / "lm_config.json").write_text('{"d_model": 32, "colour": "red"}')
    done = run("evaluate", "--output-dir", folder)
    assert done.returncode == 1
    assert "unknown language-model settings: colour" in done.stderr


def test_other_settings_in_a_used_directory_are_an_error(run_dir):
    done = run("train", "--steps", 1, "--d-model", 64, "--output-dir", run_dir)
    assert done.returncode == 1
    assert "d_model=64 (the run has 32)" in done.stderr


def test_an_output_dir_that_is_a_file_is_an_error(tmp_path):
    target = tmp_path / "file"
    target.write_text("not a directory")
    done = run("train", "--steps", 1, "--d-model", 8, "--buckets", 64, "--output-dir", target)
    assert done.returncode == 1
    assert str(target) in done.stderr and "Traceback" not in done.stderr


def test_a_missing_corpus_is_explained(tmp_path):
    done = run("train", "--steps", 1, "--d-model", 8, "--output-dir", tmp_path / "run",
               env={"NLTK_DATA": str(tmp_path), "HOME": str(tmp_path)})
    if done.returncode == 0:
        pytest.skip("NLTK finds the shakespeare corpus outside NLTK_DATA on this machine")
    assert done.returncode == 1
    assert "shakespeare corpus was not found" in done.stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_run_saves_a_checkpoint_and_resumes(tmp_path, signum):
    # the interruption is the loop's, whatever the model; the Transformer's continued run is checked below
    folder = tmp_path / "run"
    process = run.start("train", "--steps", 1000000, "--d-model", 16, "--buckets", 64, "--checkpoint-every", 5,
                        "--output-dir", folder)
    try:
        wait_for(folder / "model.ckpt.npz", process)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    step = interrupted_step(stderr, "neurotic-lm train", folder / "model.ckpt.npz")
    done = run("train", "--steps", 2, "--output-dir", folder)
    assert done.returncode == 0, done.stderr
    assert f"trained to step {step + 2}" in done.stdout


def rewrite_checkpoint(folder, character_code=None, poison=False):
    "Rewrite the checkpoint in `folder`, recording `character_code` and/or with its first weight array NaN."
    import numpy
    from neurotic.supervised.checkpoint import read_checkpoint, save_checkpoint
    path = folder / "model.ckpt.npz"
    manifest, trees = read_checkpoint(path)
    if poison:
        trees["weights"][0] = numpy.full_like(trees["weights"][0], numpy.nan)
    user = {**manifest.get("user_metadata", {}), **({} if character_code is None else {"character_code": character_code})}
    save_checkpoint(path, trees, manifest["metadata"], user)


@pytest.mark.parametrize("command", [["evaluate"], ["generate", "--prompt", "A"]])
def test_non_finite_weights_are_refused(run_dir, tmp_path, command):
    folder = copy_of(run_dir, tmp_path)
    rewrite_checkpoint(folder, poison=True)
    done = run(*command, "--output-dir", folder)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == (f"neurotic-lm {command[0]}: error: checkpoint {folder / 'model.ckpt.npz'} holds non-finite "
                           "weights (NaN or infinity); it cannot be used (the first is in array 0 of weights)\n")


def test_another_character_code_is_refused(run_dir, tmp_path):
    folder = copy_of(run_dir, tmp_path)
    rewrite_checkpoint(folder, character_code="f" * 64)
    done = run("generate", "--output-dir", folder, "--prompt", "A")
    assert done.returncode == 1
    assert f"{folder / 'model.ckpt.npz'} was trained with another character code (digest ffffffffffff...)" in done.stderr
    assert "neurotic/nlp/shakespeare.py" in done.stderr


def test_garbage_settings_name_the_file(run_dir, tmp_path):
    folder = copy_of(run_dir, tmp_path)
    (folder / "lm_config.json").write_text("\x00garbage")
    for command in (["evaluate"], ["train", "--steps", "1"]):
        done = run(*command, "--output-dir", folder)
        assert done.returncode == 1 and done.stderr.count("\n") == 1
        assert f"{folder / 'lm_config.json'} is not a language-model settings file" in done.stderr


def test_a_failed_start_leaves_no_settings(tmp_path):
    folder = tmp_path / "run"
    done = run("train", "--steps", 1, "--d-model", 8, "--buckets", 64, "--batch-size", 100000, "--output-dir", folder)
    assert done.returncode == 1 and "cannot fill one batch" in done.stderr
    assert not (folder / "lm_config.json").exists()
    done = run("train", "--steps", 1, "--d-model", 8, "--buckets", 64, "--batch-size", 8, "--output-dir", folder)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("args, message", [
    (["train", "--seed", "-1"], "argument --seed: must be a non-negative integer; got -1"),
    (["generate", "--length", "1000000"], "argument --length: must be at most 10,000; got 1,000,000"),
])
def test_seed_and_length_bounds_name_the_option(args, message, tmp_path):
    done = run(*args, "--output-dir", tmp_path)
    assert done.returncode == 2 and message in done.stderr


def test_the_transformer_trains_with_its_settings_saved(transformer_dir):
    assert sorted(p.name for p in transformer_dir.iterdir()) == [".lock", "lm_config.json", "model.ckpt.npz"]
    config = json.loads((transformer_dir / "lm_config.json").read_text())
    assert (config["model"], config["d_model"], config["n_heads"], config["d_ff"], config["n_layers"]) == (
        "transformer", 16, 2, 32, 1)
    assert (config["corpus"], config["n_held_out"], config["max_len"]) == (None, 1000, 512)


def test_the_transformer_continues_a_run(transformer_dir, tmp_path):
    folder = copy_of(transformer_dir, tmp_path)
    done = run("train", "--steps", 3, "--output-dir", folder)
    assert done.returncode == 0, done.stderr
    assert "a Transformer language model (16 wide" in done.stdout and "trained to step 43" in done.stdout


def test_the_transformer_is_evaluated(transformer_dir):
    done = run("evaluate", "--output-dir", transformer_dir)
    assert done.returncode == 0, done.stderr
    assert "evaluating 1000 held-out lines of the plays" in done.stdout
    assert 1.0 < float(done.stdout.split("held-out perplexity:")[1].split()[0]) < 60.0  # far below 256


def test_the_transformer_writes_greedily_and_by_seed(transformer_dir):
    greedy = [run("generate", "--output-dir", transformer_dir, "--prompt", "My lord", "--length", 20,
                  "--temperature", 0) for _ in range(2)]
    assert greedy[0].returncode == 0, greedy[0].stderr
    assert greedy[0].stdout == greedy[1].stdout and greedy[0].stdout.startswith("My lord")
    assert len(greedy[0].stdout.rstrip("\n")) <= len("My lord") + 20
    sampled = [run("generate", "--output-dir", transformer_dir, "--temperature", 1.0, "--seed", seed,
                   "--length", 30).stdout for seed in (1, 1, 2)]
    assert sampled[0] == sampled[1] != sampled[2]


def test_the_transformer_refuses_more_than_max_len(transformer_dir):
    done = run("generate", "--output-dir", transformer_dir, "--prompt", "Hi", "--length", 511)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == ("neurotic-lm generate: error: the Transformer reads at most max_len=512 characters, prompt "
                           "and text together; with this prompt of 2 characters length must be at most 510; got 511\n")


def test_a_run_saved_before_the_model_choice_is_a_gru_run(run_dir, tmp_path):
    folder = copy_of(run_dir, tmp_path)
    config = json.loads((folder / "lm_config.json").read_text())
    old = {key: value for key, value in config.items()
           if key not in ("model", "d_ff", "n_heads", "max_len", "dropout", "corpus")}
    (folder / "lm_config.json").write_text(json.dumps(old))
    done = run("train", "--steps", 2, "--output-dir", folder)
    assert done.returncode == 0, done.stderr
    assert "a GRU language model (32 units" in done.stdout and "trained to step 62" in done.stdout
    assert run("generate", "--output-dir", folder, "--prompt", "A", "--length", 5).returncode == 0


@pytest.mark.parametrize("options, message", [
    (["--model", "transformer"], "model=transformer (the run has gru)"),
    (["--corpus", "lines.txt"], "(the run has None)"),
])
def test_another_model_or_corpus_in_a_used_directory_is_an_error(run_dir, options, message):
    done = run("train", "--steps", 1, *options, "--output-dir", run_dir)
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert message in done.stderr


def test_transformer_options_for_a_gru_run_are_an_error(tmp_path):
    done = run("train", "--steps", 1, "--d-ff", 64, "--output-dir", tmp_path / "run")
    assert done.returncode == 1
    assert done.stderr == ("neurotic-lm train: error: --d-ff shape only a Transformer; add --model transformer or "
                           "drop them\n")


def write_corpus(folder, n_lines=120):
    "A small UTF-8 corpus of numbered lines, with blank lines and one non-ASCII character."
    path = folder / "numbers.txt"
    path.write_text("".join(f"{i} is {'even' if i % 2 == 0 else 'odd'} \u2014 ok\n\n" for i in range(n_lines)),
                    encoding="utf-8")
    return path


@pytest.mark.parametrize("model", ["gru", "transformer"])
def test_a_corpus_file_trains_evaluates_and_writes(tmp_path, model):
    corpus, folder = write_corpus(tmp_path), tmp_path / "run"
    size = TINY_TRANSFORMER if model == "transformer" else ["--d-model", 16, "--buckets", 64]
    done = run("train", "--steps", 12, *size, "--batch-size", 8, "--corpus", corpus, "--output-dir", folder)
    assert done.returncode == 0, done.stderr
    assert f"on {corpus} for 12 steps" in done.stdout
    config = json.loads((folder / "lm_config.json").read_text())
    assert (config["model"], config["corpus"], config["n_held_out"]) == (model, str(corpus), 12)
    done = run("evaluate", "--output-dir", folder)
    assert done.returncode == 0, done.stderr
    assert f"evaluating 12 held-out lines of {corpus}" in done.stdout
    done = run("generate", "--output-dir", folder, "--prompt", "7 is", "--length", 10, "--temperature", 0)
    assert done.returncode == 0 and done.stdout.startswith("7 is"), done.stderr
    done = run("train", "--steps", 2, "--output-dir", folder)
    assert done.returncode == 0 and "trained to step 14" in done.stdout, done.stderr


def test_a_corpus_is_found_from_another_directory(tmp_path):
    corpus, folder = write_corpus(tmp_path), tmp_path / "run"
    relative = run("train", "--steps", 2, "--d-model", 8, "--buckets", 64, "--batch-size", 8, "--corpus", corpus.name,
                   "--output-dir", "run", cwd=tmp_path)
    assert relative.returncode == 0, relative.stderr
    assert json.loads((folder / "lm_config.json").read_text())["corpus"] == str(corpus)
    assert run("evaluate", "--output-dir", folder).returncode == 0


@pytest.mark.parametrize("kind, message", [
    ("missing", "does not exist or is not a file"),
    ("latin-1", "not UTF-8 text (invalid continuation byte)"),
    ("one line", "too small to train on: 1 non-blank line(s)"),
    ("short lines", "cannot fill one batch of 32 lines in any bucket"),
])
def test_a_corpus_that_cannot_make_a_run_is_refused_naming_it(tmp_path, kind, message):
    corpus = tmp_path / "corpus.txt"
    if kind == "latin-1":
        corpus.write_bytes("na\u00efve caf\u00e9\nsecond\n".encode("latin-1"))
    elif kind == "one line":
        corpus.write_text("\n  \nonly this line\n")
    elif kind == "short lines":
        write_corpus(tmp_path, n_lines=20).rename(corpus)
    done = run("train", "--steps", 1, "--d-model", 8, "--corpus", corpus, "--output-dir", tmp_path / "run")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and str(corpus) in done.stderr and message in done.stderr
    assert not (tmp_path / "run" / "lm_config.json").exists()
