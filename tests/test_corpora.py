"""Corpus loading, the twitter_samples path on the fixture, missing NLTK data, files on disk, and
the tweet processor's fast path against NLTK's own tokenizer and the plain loop.

Nothing here uses the network: every download attempt goes to a stand-in for `nltk.download`.
"""
import functools
import json
import re
import shutil
import socket
import string
from pathlib import Path

import nltk
import numpy
import pytest
from hypothesis import given, settings, strategies as st
from nltk.corpus.reader import TwitterCorpusReader
from nltk.corpus.util import LazyCorpusLoader

from neurotic.nlp import corpora
from neurotic.nlp.corpora import (LabelledTexts, MissingDataError, default_corpus, english_stopwords, is_installed,
                                  load_corpus, twitter_samples)
from neurotic.nlp.twitter.processor import PROBES, FastTweetTokenizer, TwitterProcessor, tweet_tokenizer
from neurotic.nlp.twitter.tensor_generator import (TensorBuilder, TensorGenerator, load_vocabulary,
                                                   save_vocabulary, special_vocabulary)

FIXTURE = Path(__file__).parent / "fixtures" / "twitter_samples"


@pytest.fixture
def nltk_home(tmp_path, monkeypatch):
    "An NLTK data folder of its own, holding a copy of the twitter_samples fixture, searched first."
    home = tmp_path / "nltk_data"
    shutil.copytree(FIXTURE / "corpora", home / "corpora")
    monkeypatch.setattr(nltk.data, "path", [str(home), *nltk.data.path])
    monkeypatch.delenv(corpora.CORPUS_VARIABLE, raising=False)
    return home


@pytest.fixture
def offline(monkeypatch):
    "Replace `nltk.download` by one that fails as it does offline, recording what was asked for."
    asked = []
    def download(name, **options):
        asked.append((name, socket.getdefaulttimeout()))
        return False
    monkeypatch.setattr(nltk, "download", download)
    return asked


@pytest.fixture
def empty_nltk(tmp_path, monkeypatch, offline):
    "NLTK with nothing installed and no network."
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path / "nothing")])
    monkeypatch.delenv(corpora.CORPUS_VARIABLE, raising=False)
    return offline


# ---- the twitter_samples path, on the fixture

def test_fixture_is_laid_out_as_nltk_installs_twitter_samples():
    folder = FIXTURE / "corpora" / "twitter_samples"
    assert {"positive_tweets.json", "negative_tweets.json"} <= {p.name for p in folder.iterdir()}
    for name in ("positive_tweets.json", "negative_tweets.json"):
        lines = (folder / name).read_text(encoding="utf-8").splitlines()
        assert len(lines) == 12 and all(isinstance(json.loads(line)["text"], str) for line in lines)


def test_nltk_own_definition_reads_the_fixture(nltk_home):
    # exactly how nltk/corpus/__init__.py defines twitter_samples
    reader = LazyCorpusLoader("twitter_samples", TwitterCorpusReader, r".*\.json")
    assert set(reader.fileids()) == {"positive_tweets.json", "negative_tweets.json", "tweets.20150430-223406.json"}
    assert len(reader.strings("positive_tweets.json")) == 12
    assert reader.strings("negative_tweets.json")[0] == "Missed the last bus home again :( #monday"


def test_twitter_samples_loads_the_fixture_without_downloading(nltk_home, offline):
    texts = load_corpus("twitter_samples")
    assert isinstance(texts, LabelledTexts)
    assert (len(texts.positive), len(texts.negative)) == (12, 12)
    assert texts.positive[0] == "Sunny morning and fresh coffee on the balcony :) #happy"
    assert "Phone screen cracked \U0001F62D the week keeps getting worse :(" in texts.negative
    assert offline == []


def test_default_corpus_is_twitter_samples_when_installed(nltk_home, capsys):
    assert default_corpus() == "twitter_samples"
    assert "corpus: twitter_samples (the default" in capsys.readouterr().out


def test_default_corpus_says_when_twitter_samples_is_missing(empty_nltk, capsys):
    assert default_corpus() == "sentence_polarity"
    said = capsys.readouterr().out
    assert "twitter_samples is not installed" in said and "python -m nltk.downloader twitter_samples" in said
    assert empty_nltk == []  # choosing never downloads


def test_the_environment_variable_wins(nltk_home, monkeypatch, capsys):
    monkeypatch.setenv("NEUROTIC_CORPUS", "sentence_polarity")
    assert default_corpus() == "sentence_polarity"
    assert "from NEUROTIC_CORPUS" in capsys.readouterr().out


# ---- missing NLTK data

def test_missing_corpus_tries_a_download_then_explains(empty_nltk):
    with pytest.raises(MissingDataError) as caught:
        load_corpus("twitter_samples")
    message = str(caught.value)
    for needed in ("twitter_samples", "python -m nltk.downloader twitter_samples", "NEUROTIC_CORPUS",
                   "sentence_polarity", "CSV"):
        assert needed in message
    assert [name for name, _ in empty_nltk] == ["twitter_samples"]
    assert empty_nltk[0][1] is not None  # the download ran under a socket time-out...
    assert socket.getdefaulttimeout() is None  # ...which was put back afterwards
    assert isinstance(caught.value, LookupError)


def test_a_successful_download_is_used(tmp_path, monkeypatch):
    home = tmp_path / "nltk_data"
    monkeypatch.setattr(nltk.data, "path", [str(home)])
    def download(name, **options):  # what NLTK's downloader leaves behind
        shutil.copytree(FIXTURE / "corpora" / name, home / "corpora" / name)
        return True
    monkeypatch.setattr(nltk, "download", download)
    assert len(twitter_samples().positive) == 12


def test_a_crashing_downloader_counts_as_offline(tmp_path, monkeypatch):
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])
    def download(name, **options): raise OSError("network unreachable")
    monkeypatch.setattr(nltk, "download", download)
    with pytest.raises(MissingDataError, match="sentence_polarity"):
        load_corpus("sentence_polarity")


def test_missing_stopwords_name_their_download(empty_nltk):
    with pytest.raises(MissingDataError, match="python -m nltk.downloader stopwords"):
        english_stopwords()
    with pytest.raises(MissingDataError):
        TwitterProcessor()


# ---- files on disk

def test_csv_with_other_columns_lists_them(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text("review,stars\ngood,1\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"columns found: \['review', 'stars'\]"):
        load_corpus(path)


def test_csv_with_custom_columns_and_labels(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text("review,stars\ngood,5\nbad,1\nfine,5\n", encoding="utf-8")
    texts = load_corpus(path, text_column="review", label_column="stars", positive_labels=("5",), negative_labels=("1",))
    assert texts == LabelledTexts(["good", "fine"], ["bad"])


def test_a_third_label_is_refused(tmp_path):
    path = tmp_path / "three.jsonl"
    path.write_text("\n".join(json.dumps({"text": t, "label": l}) for t, l in [("a", 1), ("b", 0), ("c", "neutral")]))
    with pytest.raises(ValueError, match="labels outside the two classes: 'neutral'"):
        load_corpus(path)


@pytest.mark.parametrize("content", ["", "text,label\n", "text,label\ngood,1\n"])
def test_empty_corpus_or_class_is_refused(tmp_path, content):
    path = tmp_path / "few.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError):
        load_corpus(path)


def test_corpus_files_that_are_not_utf8(tmp_path):
    (tmp_path / "positive.txt").write_bytes(b"caf\xe9\n")
    (tmp_path / "negative.txt").write_text("bad\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not UTF-8"):
        load_corpus(tmp_path)
    (tmp_path / "broken.jsonl").write_bytes(b'{"text": "caf\xe9", "label": 1}\n')
    with pytest.raises(ValueError, match="not UTF-8"):
        load_corpus(tmp_path / "broken.jsonl")


def test_environment_variable_path_reaches_the_builder(tmp_path, monkeypatch, capsys):
    path = tmp_path / "reviews.jsonl"
    rows = [{"text": f"good film {i}", "label": 1} for i in range(5)] + [{"text": f"bad film {i}", "label": 0} for i in range(5)]
    path.write_text("\n".join(map(json.dumps, rows)), encoding="utf-8")
    monkeypatch.setenv("NEUROTIC_CORPUS", str(path))
    builder = TensorBuilder()
    assert len(builder.positive_training) == 4 and builder.negative_validation == ["bad film 4"]
    assert f"corpus: {path} (from NEUROTIC_CORPUS)" in capsys.readouterr().out


# ---- vocabulary files

@pytest.mark.parametrize("content", [b"", b"{", b'{"__PAD__": 0', b"\x00\xff\xfe garbage", b"null", b"[]"])
def test_damaged_vocabulary_files(tmp_path, content):
    path = tmp_path / "vocabulary.json"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="vocabulary"):
        load_vocabulary(path)


def test_vocabulary_path_that_is_a_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no vocabulary file"):
        load_vocabulary(tmp_path)


def test_failed_save_keeps_the_old_vocabulary(tmp_path, monkeypatch):
    path = save_vocabulary({**special_vocabulary(), "old": 3}, tmp_path / "vocabulary.json")
    def broken_dump(*args, **kwargs): raise OSError("disk full")
    monkeypatch.setattr(json, "dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        save_vocabulary({**special_vocabulary(), "new": 3}, path)
    monkeypatch.undo()
    assert load_vocabulary(path)["old"] == 3
    assert [p.name for p in tmp_path.iterdir()] == ["vocabulary.json"]


# ---- the processor

@pytest.fixture(scope="module")
def processor():
    return TwitterProcessor()


def test_fixture_tweets_fast_and_plain_agree(nltk_home, processor):
    tweets = sum(twitter_samples(download=False), [])
    assert [processor(t) for t in tweets] == [processor.process_plain(t) for t in tweets]
    assert processor("$ACME up 4% after the demo, not bad at all :) #markets") == ["4", "demo", "bad", ":)", "market"]
    assert processor("Cake &amp; candles at the office, best Friday in ages :)") == [
        "cake", "candl", "offic", "best", "friday", "age", ":)"]


def test_every_sentence_polarity_text_agrees_with_the_plain_loop(processor):
    if not is_installed("sentence_polarity"):
        pytest.skip("sentence_polarity is not installed (python -m nltk.downloader sentence_polarity)")
    texts = sum(load_corpus("sentence_polarity", download=False), [])
    assert len(texts) == 10_662
    fresh = TwitterProcessor()
    assert [fresh(t) for t in texts] == [processor.process_plain(t) for t in texts]


PIECES = (list(string.ascii_letters[:12] + string.digits[:4] + " \t\n.,!?:;()<>3-@#$&'_/+*")
          + ["RT ", "http://t.co/x", "@user", ":)", ":-(", "&amp;", "&lt;", "ooo", "555-1234", "\u00e9",
             "\U0001F600", "!!!!", "www.a.com", "\x1c", "\x0b", "$GE", "#tag"])
TWEETY = st.lists(st.sampled_from(PIECES), max_size=30).map("".join)  # tweet-like strings, awkward on purpose


@functools.cache
def shared_tools():
    "One fast tokenizer, NLTK's tokenizer and one processor, shared by the property tests."
    return FastTweetTokenizer(), tweet_tokenizer(), TwitterProcessor()


@settings(max_examples=300, deadline=None)
@given(TWEETY)
def test_fast_tokenizer_matches_nltk(text):
    fast, reference, _ = shared_tools()
    assert fast(text) == reference.tokenize(text)


@settings(max_examples=200, deadline=None)
@given(TWEETY)
def test_processor_matches_the_plain_loop(text):
    process = shared_tools()[2]
    assert process(text) == process.process_plain(text)


def test_fast_path_is_in_use():
    fast, reference, _ = shared_tools()
    assert fast.fast
    assert all(fast(p) == reference.tokenize(p) for p in PROBES)


def test_patterns_that_disagree_with_nltk_switch_the_fast_path_off(monkeypatch):
    from neurotic.nlp.twitter import processor as module
    real = module._ascii_patterns
    def skewed():  # a handle pattern that matches nothing, as if some other NLTK had changed it
        patterns = real()
        patterns.handles = re.compile(r"(?!)")
        return patterns
    monkeypatch.setattr(module, "_ascii_patterns", skewed)
    with pytest.warns(UserWarning, match="using NLTK's tokenizer for all texts"):
        tokenizer = FastTweetTokenizer()
    assert not tokenizer.fast
    text = "@someone wow!!!!! ....... ---->"
    assert tokenizer(text) == tweet_tokenizer().tokenize(text)
    monkeypatch.setattr(module, "_ascii_patterns", lambda: None)
    with pytest.warns(UserWarning):
        assert FastTweetTokenizer()(text) == tweet_tokenizer().tokenize(text)


# ---- the generator on the fixture corpus

def test_generator_over_the_fixture_tweets(nltk_home, capsys):
    builder = TensorBuilder("twitter_samples")
    assert (len(builder.positive_training), len(builder.positive_validation)) == (9, 3)
    generator = TensorGenerator(builder, batch_size=6, seed=0)
    for _ in range(4):  # more than one pass: 3 positives per batch, 9 per pass
        inputs, targets, weights = next(generator)
        assert inputs.shape[0] == 6 and inputs.shape[1] % 8 == 0 and inputs.dtype == numpy.int32
        assert targets.tolist() == [1, 1, 1, 0, 0, 0] and weights.tolist() == [1.0] * 6
    once = TensorGenerator(builder, builder.positive_validation, builder.negative_validation,
                           batch_size=4, shuffle=False, infinite=False)
    assert [t.tolist() for _, t, _ in once] == [[1, 1, 0, 0], [1, 0]]


# ---- degenerate files and the vocabulary's digest

def test_a_corpus_file_with_nothing_to_learn_names_the_file(tmp_path):
    corpus = tmp_path / "stopwords.jsonl"
    corpus.write_text("".join(json.dumps({"text": text, "label": label}) + "\n"
                              for text, label in [("the and", 1), ("of it", 0)] * 5))
    with pytest.raises(ValueError, match=f"corpus {re.escape(str(corpus))}: none of its 8 training texts has a token"):
        TensorBuilder(str(corpus)).vocabulary


def test_the_vocabulary_digest_survives_saving_and_tells_orders_apart(tmp_path):
    from neurotic.nlp.twitter.tensor_generator import vocabulary_digest
    vocabulary = {**special_vocabulary(), "good": 3, "bad": 4}
    loaded = load_vocabulary(save_vocabulary(vocabulary, tmp_path / "vocabulary.json"))
    assert vocabulary_digest(loaded) == vocabulary_digest(vocabulary)
    assert vocabulary_digest({**vocabulary, "good": 4, "bad": 3}) != vocabulary_digest(vocabulary)
