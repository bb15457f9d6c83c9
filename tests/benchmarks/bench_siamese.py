"""Paraphrase detection on MRPC: the chapter's Siamese LSTM next to the majority class and a bag-of-words cosine.

The chapter's model (`Siamese`: embedding, LSTM, mean over positions, normalisation, one encoder for both
sentences) is trained with `Loop` and the triplet loss (hardest and mean negatives, margin 0.25) on the paraphrase
pairs of MRPC's training split less a held-out slice of 15%. Every `--eval-every` steps a threshold is chosen on
the held-out pairs and their accuracy recorded; the weights and threshold best on the held-out pairs are kept,
within a budget of `--minutes` of training. The test split (1,725 pairs) is scored once, with those weights.
The two baselines choose their threshold (bag of words) or class (majority) on the same held-out pairs.

The corpus is read from `NEUROTIC_MRPC`, else `../shared/data/mrpc` next to the repository.

    python tests/benchmarks/bench_siamese.py [--minutes 4] [--steps 3000] [--eval-every 250] [--d-model 128]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from harness import finish, header  # noqa: E402


def parse_args(argv=None):
    "The benchmark's options; options meant for other benchmarks (e.g. --strict) pass through."
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=4.0, help="training budget, compilation included (default: 4)")
    parser.add_argument("--steps", type=int, default=3000, help="most training steps (default: 3000)")
    parser.add_argument("--eval-every", type=int, default=250, help="steps between held-out scores (default: 250)")
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=0.01)
    args, _ = parser.parse_known_args(argv)
    return args


def main(argv=None):
    args = parse_args(argv)
    header(f"Paraphrases, MRPC test split: Siamese LSTM (at most {args.steps} steps, {args.minutes:g} minutes) "
           "and two baselines")
    import jax
    import jax.numpy as jnp
    from neurotic.nlp.siamese.data import load_mrpc
    from neurotic.nlp.siamese.model import Paraphraser, SiameseConfig, baselines, make_loop, training_data
    config = SiameseConfig(d_model=args.d_model, batch_size=args.batch_size, learning_rate=args.learning_rate)
    print(f"config: {config}")
    kept, heldout, vocab = training_data(config)
    test = load_mrpc("test")
    print(f"pairs: {len(kept)} kept ({sum(p.label for p in kept)} paraphrases trained on), {len(heldout)} held out, "
          f"{len(test)} test; vocabulary {len(vocab):,}")
    never = lambda step: False  # noqa: E731
    loop = make_loop(config, kept, heldout, vocab, checkpoint_at=never, eval_at=never, progress_bar=False)
    budget, trained, best = args.minutes * 60.0, 0.0, (-1.0, 0, None, 0.0)
    print(f"{'train s':>8} {'step':>6} {'held-out acc':>12} {'threshold':>9}")
    while trained < budget and loop.step < args.steps:
        start = time.perf_counter()
        loop.run(min(args.eval_every, args.steps - loop.step))
        trained += time.perf_counter() - start
        paraphraser = Paraphraser.from_loop(loop, vocab, config.d_model)
        threshold = paraphraser.fit_threshold(heldout)
        accuracy = paraphraser.evaluate(heldout)["accuracy"]
        print(f"{trained:8.1f} {loop.step:6d} {accuracy:12.4f} {threshold:9.3f}", flush=True)
        if accuracy > best[0]:
            best = (accuracy, loop.step, jax.tree.map(lambda w: jnp.array(w, copy=True), loop.model.weights), threshold)
    accuracy, step, weights, threshold = best
    print(f"chosen on the held-out pairs: step {step} (accuracy {accuracy:.4f}, threshold {threshold:.3f}) of {loop.step}")
    paraphraser = Paraphraser(weights, vocab, config.d_model, threshold)
    rows = {**baselines(heldout, test), f"Siamese LSTM (step {step})": paraphraser.evaluate(test)}
    print(f"\n{'MRPC test (1,725 pairs)':<28} {'accuracy':>8} {'F1':>6} {'precision':>9} {'recall':>6}")
    for name, s in rows.items():
        print(f"{name:<28} {s['accuracy']:8.4f} {s['f1']:6.4f} {s['precision']:9.4f} {s['recall']:6.4f}")
    for s1, s2 in [("The company reported a loss of $2 million.", "The firm said it lost two million dollars."),
                   ("The company reported a loss of $2 million.", "Heavy rain flooded the streets of the city.")]:
        similarity, verdict = paraphraser.predict(s1, s2)
        print(f"example: {similarity:+.3f} {'paraphrase' if verdict else 'not a paraphrase'}: {s1!r} / {s2!r}")
    finish([True])


if __name__ == "__main__":
    main()
