"""Properties of `neurotic.data`: padding against the rule written out by hand, bucketing, shuffling.

The notebook `nbs/18c_data.ipynb` checks worked examples; these draw many random cases.
"""
import math

import numpy
import pytest
from hypothesis import given, settings, strategies as st

from neurotic import data
from neurotic.nlp.twitter.tensor_generator import LENGTH_MULTIPLE, _padded_ids

lengths = st.lists(st.integers(0, 70), min_size=1, max_size=12)
boundaries = st.lists(st.integers(1, 80), min_size=1, max_size=5, unique=True).map(sorted)


def ragged(sizes, seed=0):
    "One int32 array of positive ids per size."
    rng = numpy.random.default_rng(seed)
    return [rng.integers(1, 100, size, dtype=numpy.int32) for size in sizes]


def expected_width(sizes, boundary, strict):
    "The padded length of one-axis examples, from the rule stated in the notebook."
    longest = max(sizes)
    if boundary is None:
        return longest
    if strict:
        return boundary * math.ceil(longest / boundary)
    if longest == boundary and min(sizes) == boundary:
        return boundary
    padded = max(longest, boundary)
    if 2 * longest < padded:
        return 2 ** math.ceil(math.log2(longest)) if longest else 1
    return padded


@settings(max_examples=300, deadline=None)
@given(lengths, st.one_of(st.none(), st.integers(1, 80)), st.booleans())
def test_pad_to_max_dims_width_and_contents(sizes, boundary, strict):
    tensors = ragged(sizes)
    batch = data.pad_to_max_dims(tensors, boundary, strict)
    assert batch.shape == (len(sizes), expected_width(sizes, boundary, strict))
    assert batch.dtype == numpy.int32
    for row, tensor in zip(batch, tensors):
        assert row[:len(tensor)].tolist() == tensor.tolist()
        assert not row[len(tensor):].any()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9)), min_size=1, max_size=6),
       st.integers(1, 12), st.booleans())
def test_pad_to_max_dims_two_axes(shapes, boundary, strict):
    tensors = [numpy.ones(shape, numpy.float32) for shape in shapes]
    batch = data.pad_to_max_dims(tensors, boundary, strict)
    for axis in (0, 1):
        sizes = [shape[axis] for shape in shapes]
        assert batch.shape[1 + axis] == expected_width(sizes, boundary, strict)
    assert float(batch.sum()) == sum(rows * columns for rows, columns in shapes)


@settings(max_examples=200, deadline=None)
@given(lengths, boundaries, st.integers(1, 4), st.booleans())
def test_bucket_by_length_assignment_and_counts(sizes, bounds, batch_size, strict):
    examples = [(x, x) for x in ragged(sizes)]
    batch_sizes = [batch_size + i % 2 for i in range(len(bounds) + 1)]
    out = list(data.BucketByLength(bounds, batch_sizes, strict_pad_on_len=strict)(iter(examples)))
    in_bucket = [sum(1 for n in sizes if data.bucket_index(n, bounds) == b) for b in range(len(bounds) + 1)]
    emitted = sum(count - count % size for count, size in zip(in_bucket, batch_sizes))
    assert sum(len(x) for x, _ in out) == emitted
    for x, y in out:
        real = [int((row != 0).sum()) for row in x]  # ids are positive, so the unpadded lengths
        buckets = {data.bucket_index(n, bounds) for n in real}
        assert len(buckets) == 1
        bucket = buckets.pop()
        assert len(x) == batch_sizes[bucket]
        boundary = bounds[bucket] if bucket < len(bounds) else None
        assert x.shape[1] == expected_width(real, boundary, strict)
        assert x.tolist() == y.tolist()


def trax_rule_shuffle(samples, queue_size):
    "The queue shuffle drawing from NumPy's global generator, written out for comparison."
    samples, queue = iter(samples), []
    try:
        for _ in range(queue_size):
            queue.append(next(samples))
        for sample in samples:
            i = numpy.random.randint(queue_size)
            yield queue[i]
            queue[i] = sample
    except StopIteration:
        pass
    numpy.random.shuffle(queue)
    yield from queue


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 40), st.integers(1, 10), st.integers(0, 2**31))
def test_shuffle_is_a_permutation_and_follows_the_global_generator(n, queue_size, seed):
    numpy.random.seed(seed)
    expected = list(trax_rule_shuffle(range(n), queue_size))
    numpy.random.seed(seed)
    got = list(data.Shuffle(queue_size)(range(n)))
    assert got == expected
    assert sorted(got) == list(range(n))
    seeded = list(data.Shuffle(queue_size, rng=seed)(range(n)))
    assert seeded == list(data.shuffle(range(n), queue_size, rng=numpy.random.default_rng(seed)))
    assert sorted(seeded) == list(range(n))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=10))
def test_sentiment_batches_pad_to_a_multiple_of_eight_never_zero(sizes):
    ids = [list(range(1, n + 1)) for n in sizes]
    batch = _padded_ids(ids)
    assert batch.shape == (len(sizes), max(1, math.ceil(max(sizes) / LENGTH_MULTIPLE)) * LENGTH_MULTIPLE)
    assert batch.dtype == numpy.int32
    assert [row[row != 0].tolist() for row in batch] == ids


@pytest.mark.parametrize("call, message", [
    (lambda: data.Batch(0), "batch_size must be a positive integer; got 0"),
    (lambda: data.Shuffle(-1), "queue_size must be a positive integer; got -1"),
    (lambda: data.pad_to_max_dims([numpy.ones(2)], boundary=2.5), "boundary must be a positive integer; got 2.5"),
    (lambda: next(data.BucketByLength([8, 4], [1, 1, 1])(iter([(numpy.ones(2),) * 2]))),
     "boundaries must be increasing positive lengths; got (8, 4)"),
    (lambda: data.FilterByLength(4, length_axis=True), "length_axis must be a non-negative integer; got True"),
])
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError) as error:
        call()
    assert str(error.value) == message
