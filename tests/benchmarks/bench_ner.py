"""Entity F1 of the named-entity taggers on CoNLL-2002 Spanish (esp.testb), next to the published anchor.

Two runs, each scored with the CoNLL entity-level F1 (`neurotic.nlp.ner.evaluation`):

1. the chapter's model (`Embedding(50), LSTM(50), Dense, LogSoftmax`) trained with `Loop` for 1,500 steps
   (Adam at 0.01, batches of 64 short sentences), decoded tag by tag as the chapter does; target >= 0.60;
2. our tagger (`FeatureTagger`: word, shape, suffix and lower-case embeddings, a bidirectional LSTM of 128 units
   per direction, dropout 0.5, word dropout) trained for a wall-clock budget (default 10 minutes, compilation
   included), decoded with IOB-consistent Viterbi; target >= 0.78.

The number of steps of our tagger is chosen on the development split (esp.testa, scored at intervals; the best
weights are kept); esp.testb is scored once, with the chosen weights. The anchor is Lample et al. (2016),
"Neural Architectures for Named Entity Recognition", LSTM-CRF with pretrained embeddings: F1 85.75 on esp.testb.

    python tests/benchmarks/bench_ner.py [--minutes 10] [--eval-every 150] [--chapter-steps 1500]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from harness import finish, header  # noqa: E402

ANCHOR = 0.8575  # Lample et al. 2016, LSTM-CRF, CoNLL-2002 Spanish test split
EXAMPLE = "El presidente de Telefónica , Juan Villalonga , viajó ayer a Buenos Aires .".split()


def parse_args(argv=None):
    "The benchmark's options; options meant for other benchmarks (e.g. --strict) pass through."
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="training budget of our tagger (default: 10)")
    parser.add_argument("--eval-every", type=float, default=150.0, help="seconds of training between esp.testa scores")
    parser.add_argument("--chapter-steps", type=int, default=1500, help="training steps of the chapter's model")
    parser.add_argument("--chapter-target", type=float, default=0.60)
    parser.add_argument("--target", type=float, default=0.78, help="entity F1 of our tagger on esp.testb")
    parser.add_argument("--steps-per-call", type=int, default=20, help="steps per Loop.run between clock checks")
    args, _ = parser.parse_known_args(argv)
    return args


def quiet_loop(config, sentences, encoder):
    "A loop without checkpoints, running evaluations or log lines (the benchmark scores on its own)."
    from neurotic.nlp.ner.model import make_loop
    never = lambda step: False  # noqa: E731
    return make_loop(config, sentences, encoder, checkpoint_at=never, eval_at=never, progress_bar=False)


def chapter_run(args, testa, testb):
    "Train the chapter's model for the chapter's steps; returns its esp.testb F1 (tag-by-tag decoding)."
    from neurotic.nlp.ner.evaluation import format_scores
    from neurotic.nlp.ner.model import NERConfig, Tagger, training_data
    config = NERConfig(model="chapter", d_model=50, batch_size=64, learning_rate=0.01)
    sentences, encoder = training_data(config)
    loop = quiet_loop(config, sentences, encoder)
    start = time.perf_counter()
    loop.run(args.chapter_steps)
    print(f"chapter's model: {loop.step} steps in {time.perf_counter() - start:.0f} s")
    tagger = Tagger.from_loop(config, encoder, loop)
    _, dev = tagger.evaluate(testa, constrained=False)
    accuracy, test = tagger.evaluate(testb, constrained=False)
    _, test_iob = tagger.evaluate(testb)
    print(f"esp.testa F1 {dev['overall'].f1:.4f}; esp.testb token accuracy {accuracy:.4f}, F1 {test['overall'].f1:.4f} "
          f"(with IOB-consistent decoding: {test_iob['overall'].f1:.4f})")
    print(format_scores(test))
    return test["overall"].f1


def our_run(args, testa, testb):
    "Train our tagger against the clock, keep the weights best on esp.testa; returns its esp.testb F1."
    import jax.numpy as jnp
    import jax
    from neurotic.nlp.ner.evaluation import format_scores
    from neurotic.nlp.ner.model import NERConfig, Tagger, training_data
    config = NERConfig(model="features", d_model=128, batch_size=64, learning_rate=5e-3)
    print(f"config: {config}")
    sentences, encoder = training_data(config)
    loop = quiet_loop(config, sentences, encoder)
    budget, trained, next_eval, best = args.minutes * 60.0, 0.0, args.eval_every, (-1.0, 0, None)
    print(f"{'train s':>8} {'step':>6} {'testa F1':>9}")
    while trained < budget:
        start = time.perf_counter()
        loop.run(args.steps_per_call)
        trained += time.perf_counter() - start
        if trained >= next_eval or trained >= budget:
            tagger = Tagger.from_loop(config, encoder, loop)
            f1 = tagger.evaluate(testa)[1]["overall"].f1
            print(f"{trained:8.1f} {loop.step:6d} {f1:9.4f}", flush=True)
            if f1 > best[0]:
                best = (f1, loop.step, jax.tree.map(lambda w: jnp.array(w, copy=True), loop.model.weights))
            next_eval += args.eval_every
    f1_dev, step, weights = best
    print(f"chosen on esp.testa: step {step} (F1 {f1_dev:.4f}) of {loop.step}")
    tagger = Tagger(config, encoder, weights)
    accuracy, test = tagger.evaluate(testb)
    print(f"esp.testb token accuracy {accuracy:.4f}")
    print(format_scores(test))
    print("example:", tagger.entities(EXAMPLE))
    return test["overall"].f1


def main(argv=None):
    args = parse_args(argv)
    header(f"Named-entity recognition, CoNLL-2002 Spanish: entity F1 on esp.testb (our tagger: {args.minutes:g} minutes)")
    from neurotic.nlp.ner.data import load_split
    testa, testb = load_split("esp", "testa"), load_split("esp", "testb")
    chapter_f1 = chapter_run(args, testa, testb)
    ours_f1 = our_run(args, testa, testb)
    results = [chapter_f1 >= args.chapter_target, ours_f1 >= args.target]
    print(f"\n{'model':<44} {'esp.testb F1':>12}  target")
    print(f"{'chapter: Embedding, LSTM, Dense (1,500 steps)':<44} {chapter_f1:12.4f}  >= {args.chapter_target:g}: "
          f"{'met' if results[0] else 'MISSED'}")
    print(f"{'ours: features, BiLSTM, dropout, IOB decoding':<44} {ours_f1:12.4f}  >= {args.target:g}: "
          f"{'met' if results[1] else 'MISSED'}")
    print(f"{'Lample et al. 2016, LSTM-CRF (published)':<44} {ANCHOR:12.4f}")
    finish(results)


if __name__ == "__main__":
    main()
