"""Tweet pre-processing speed: `TwitterProcessor` against the plain per-token NLTK loop.

Both process all 10,662 texts of NLTK's `sentence_polarity` (positive and negative), and the
script asserts that they produce identical tokens for every text. Three timings:

* plain loop: `process_plain` -- regex substitutions, NLTK's TweetTokenizer, then for each token a
  stopword-list and `string.punctuation` test and a Porter stem; nothing cached;
* processor, cold: a new `TwitterProcessor` for every timed call, so its caches start empty
  (the cost of a first pass over a corpus, construction included); the target applies here;
* processor, warm: one processor kept across calls, as a training run keeps it from epoch to
  epoch (per-token caches full; there is no per-text cache).

    python tests/benchmarks/bench_preprocessing.py [--strict]
"""
from nltk.stem import PorterStemmer

from harness import finish, header, measure, report
from neurotic.nlp.corpora import english_stopwords, is_installed, load_corpus
from neurotic.nlp.twitter.processor import NOT_PLAIN_ASCII, TwitterProcessor, process_plain, tweet_tokenizer

TARGET_SPEEDUP = 3  # the processor should handle at least 3x the texts per second of the plain loop


def main() -> None:
    header("Tweet pre-processing, 10,662 sentence_polarity texts (neurotic.nlp.twitter.processor)")
    if not is_installed("sentence_polarity"):
        print("sentence_polarity is not installed (python -m nltk.downloader sentence_polarity); nothing to time")
        finish([False])
        return
    texts = sum(load_corpus("sentence_polarity", download=False), [])
    assert len(texts) == 10_662, len(texts)
    outside_ascii = sum(bool(NOT_PLAIN_ASCII.search(text)) for text in texts)
    print(f"texts: {len(texts):,} ({outside_ascii} outside plain ASCII, tokenized by NLTK on both paths)")

    tools = tweet_tokenizer(), sorted(english_stopwords()), PorterStemmer()
    plain_output = [process_plain(text, *tools) for text in texts]
    kept = TwitterProcessor()
    warm_output = [kept(text) for text in texts]

    def cold():
        process = TwitterProcessor()
        return [process(text) for text in texts]
    cold_output = cold()
    assert cold_output == plain_output, "the processor and the plain loop disagree"
    assert warm_output == plain_output and [kept(text) for text in texts] == plain_output
    print("identical output: processor (cold and warm) == plain loop on every text")

    plain = measure(lambda: [process_plain(text, *tools) for text in texts], warmup=1, repeats=5)
    fast_cold = measure(cold, warmup=1, repeats=7)
    fast_warm = measure(lambda: [kept(text) for text in texts], warmup=1, repeats=7)

    for name, timing in (("plain loop", plain), ("processor, cold", fast_cold), ("processor, warm", fast_warm)):
        print(f"{name + ' throughput':<34} {len(texts) / timing.median:10,.0f} texts/s")
    met = report("processor, cold", fast_cold, plain, "plain loop", target=round(1 / TARGET_SPEEDUP, 3))
    report("processor, warm", fast_warm, plain, "plain loop")
    finish([met])


if __name__ == "__main__":
    main()
