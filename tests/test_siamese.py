"""The MRPC reader on a small fixture written here, the triplet loss against NumPy, and a short Siamese run.

The fixture copies what makes the real files awkward: a UTF-8 byte-order mark, `\\r\\n` line ends, quote
characters inside the sentences, and a blank last line. The real corpus is only read by the notebooks and the
benchmark; nothing here needs it.
"""
import jax
import numpy as np
import pytest

from neurotic.layers import GET_WEIGHTS_FROM_CACHE
from neurotic.nlp.siamese import data, model
from neurotic.supervised.training import Loop, TrainTask
from neurotic.optimizers import Adam

HEADER = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String"
ROWS = [
    (1, "The dog chased the cat.", "A dog ran after the cat."),
    (0, 'He called it "a mistake", said Smith.', 'Smith said "nothing" about it.'),
    (1, "Shares rose 5 percent on Monday.", "Stock rose 5 percent Monday."),
    (1, "The bank cut rates by half a point.", "Rates were cut by the bank by 0.5 points."),
    (0, "Rain fell in Paris.", "The market fell in London."),
    (1, "Officials confirmed the report.", "The report was confirmed by officials."),
    (1, 'The "new" plan starts today.', "The new plan begins today."),
    (1, "Sales grew in May.", "In May, sales grew."),
]


def write_mrpc(folder, rows=ROWS, name="msr_paraphrase_train.txt"):
    "An MRPC-format file of `rows` in `folder`, with a BOM, CRLF line ends and a blank last line."
    lines = [HEADER] + [f"{label}\t{100 + i}\t{200 + i}\t{s1}\t{s2}" for i, (label, s1, s2) in enumerate(rows)]
    (folder / name).write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    return folder / name


@pytest.fixture
def mrpc(tmp_path):
    "A folder holding a small training and test file."
    write_mrpc(tmp_path)
    write_mrpc(tmp_path, ROWS[:4], "msr_paraphrase_test.txt")
    data.load_mrpc.cache_clear()
    yield tmp_path
    data.load_mrpc.cache_clear()


def test_reader_keeps_quotes_and_drops_bom(mrpc):
    pairs = data.load_mrpc("train", mrpc)
    assert len(pairs) == len(ROWS)
    assert [p.label for p in pairs] == [r[0] for r in ROWS]
    assert pairs[0] == data.MRPCPair(1, "100", "200", ROWS[0][1], ROWS[0][2])
    assert pairs[1].sentence1 == 'He called it "a mistake", said Smith.'
    assert len(data.load_mrpc("test", mrpc)) == 4


def test_folder_from_environment(mrpc, monkeypatch):
    monkeypatch.setenv("NEUROTIC_MRPC", str(mrpc))
    assert data.mrpc_folder() == mrpc
    assert data.load_mrpc("test")[3].sentence2 == ROWS[3][2]
    assert data.mrpc_folder("/other") == data.Path("/other")  # an argument wins


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="MRPC file not found: .*msr_paraphrase_test.txt"):
        data.load_mrpc("test", tmp_path)
    bad = tmp_path / "bad.txt"
    bad.write_text(HEADER + "\n1\tonly\tthree\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.txt, line 2: expected 5 tab-separated fields"):
        data.read_mrpc(bad)


def test_batches_pair_rows_and_pad(mrpc):
    pairs = data.load_mrpc("train", mrpc)
    vocab = data.build_vocab(pairs)
    first, second = next(data.siamese_batches(pairs, vocab, batch_size=3, seed=0))
    assert first.shape[0] == second.shape[0] == 3
    positives = {tuple(data.encode(p.sentence1, vocab)): tuple(data.encode(p.sentence2, vocab)) for p in pairs if p.label}
    for a, b in zip(first, second):
        assert positives[tuple(a[a != 0].tolist())] == tuple(b[b != 0].tolist())


def test_triplet_loss_matches_numpy():
    rng = np.random.default_rng(3)
    v1, v2 = (x / np.linalg.norm(x, axis=1, keepdims=True) for x in rng.normal(size=(2, 5, 4)))
    s = v1 @ v2.T
    off = ~np.eye(5, dtype=bool)
    hardest = np.array([s[i][off[i]].max() for i in range(5)])
    mean = np.array([s[i][off[i]].mean() for i in range(5)])
    expected = np.mean(np.maximum(0, 0.3 - np.diag(s) + hardest) + np.maximum(0, 0.3 - np.diag(s) + mean))
    assert float(model.TripletLoss(0.3)((v1, v2))) == pytest.approx(expected, abs=1e-6)
    assert repr(model.TripletLoss()) == "TripletLoss_in2"


def test_training_keeps_one_shared_encoder(mrpc):
    pairs = data.load_mrpc("train", mrpc)
    vocab = data.build_vocab(pairs)
    siamese = model.Siamese(len(vocab), d_model=8)
    task = TrainTask(data.siamese_batches(pairs, vocab, batch_size=3), model.TripletLoss(), Adam(0.05),
                     n_steps_per_checkpoint=10)
    loop = Loop(siamese, task, random_seed=0, progress_bar=False)
    before = np.array(loop.model.weights[0][0])
    loop.run(10)
    weights = loop.model.weights
    assert weights[1] == GET_WEIGHTS_FROM_CACHE  # Trax's marker: the second branch is the first one
    assert sum(w.size for w in jax.tree.leaves(weights)) == len(vocab) * 8 + 16 * 32 + 32
    assert not np.allclose(before, weights[0][0])
    paraphraser = model.Paraphraser(weights, vocab, d_model=8, threshold=0.0)
    similarity, verdict = paraphraser.predict(ROWS[0][1], ROWS[0][1])
    assert similarity == pytest.approx(1.0, abs=1e-5) and verdict is True
    assert paraphraser.similarities(pairs).shape == (len(pairs),)
