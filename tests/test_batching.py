"""Length-aware batching: lengths, the bucketing sampler, order-preserving prediction."""

import pickle

import h5py
import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from skmemo import MultimodalData
from skmemo._batching import LengthBucketBatchSampler, dataset_lengths, sample_lengths
from skmemo.classifier import MultimodalDataset
from skmemo.modules import lengths_from_padding

from .conftest import ragged_everywhere, small_clf


def _padded(lengths, T=7, D=3, padding="pre", seed=0):
    rng = np.random.RandomState(seed)
    x = rng.randn(len(lengths), T, D).astype(np.float32)
    for i, L in enumerate(lengths):
        if padding == "pre":
            x[i, :T - L] = 0
        else:
            x[i, L:] = 0
    return x


@pytest.mark.parametrize("padding", ["pre", "post"])
def test_sample_lengths_match_the_module(padding):
    lengths = [7, 1, 3, 5, 2]
    x = _padded(lengths, padding=padding)
    x[1] = 0  # an all-zero sample reads as one step, as in the module
    got = sample_lengths({"text": x}, padding)
    expected = lengths_from_padding(torch.from_numpy(x), padding).numpy()
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got, [7, 1, 3, 5, 2])


def test_sample_lengths_take_the_longest_modality_and_given_lengths():
    text = _padded([2, 6, 4])
    audio = _padded([5, 1, 4], D=2)
    got = sample_lengths({"text": text, "audio": audio,
                          "audio_lengths": np.array([5, 7, 1])})
    np.testing.assert_array_equal(got, [5, 7, 4])


def test_lengths_of_h5py_inputs_are_not_read(tmp_path):
    with h5py.File(tmp_path / "a.h5", "w") as f:
        f["text"] = _padded([2, 3])
    with h5py.File(tmp_path / "a.h5", "r") as f:
        assert sample_lengths({"text": f["text"]}) is None


def test_dataset_lengths_follow_subsets():
    x = _padded([1, 2, 3, 4, 5, 6])
    ds = MultimodalDataset({"text": x}, None)
    sub = torch.utils.data.Subset(ds, [5, 0, 2])
    np.testing.assert_array_equal(dataset_lengths(sub), [6, 1, 3])


def test_bucket_sampler_visits_every_sample_once_in_even_batches():
    rng = np.random.RandomState(0)
    lengths = rng.randint(1, 51, size=1000)
    sampler = LengthBucketBatchSampler(lengths, batch_size=32, pool_batches=10)
    torch.manual_seed(0)
    batches = list(sampler)
    assert len(batches) == len(sampler)
    flat = np.concatenate(batches)
    np.testing.assert_array_equal(np.sort(flat), np.arange(1000))
    # batches of similar lengths: the spread inside a batch is far below a random batch's
    spread = np.mean([np.ptp(lengths[b]) for b in batches])
    random_spread = np.mean([np.ptp(lengths[rng.permutation(1000)[:32]]) for _ in range(20)])
    assert spread < 0.25 * random_spread
    # batch order is shuffled, not sorted by length
    firsts = [lengths[b].min() for b in batches]
    assert not np.all(np.diff(firsts) >= 0)


def test_bucket_sampler_is_seeded_by_torch():
    lengths = np.arange(200) % 17
    sampler = LengthBucketBatchSampler(lengths, batch_size=16)
    torch.manual_seed(3)
    a = list(sampler)
    torch.manual_seed(3)
    b = list(sampler)
    c = list(sampler)
    assert a == b
    assert a != c  # a new epoch draws new batches


def test_inference_order_is_by_length():
    lengths = np.array([5, 1, 5, 3, 2])
    batches = list(LengthBucketBatchSampler(lengths, batch_size=2, shuffle=False))
    # by length (stable): 1, 4, 3, 0, 2; each batch in index order
    assert [b.tolist() for b in batches] == [[1, 4], [0, 3], [2]]


@pytest.fixture(scope="module")
def varied():
    """Data with lengths from 1 to 12 steps of 12."""
    rng = np.random.RandomState(1)
    lengths = rng.randint(1, 13, size=150)
    X = MultimodalData(**{m: _padded(lengths, T=12, D=d, seed=k)
                          for k, (m, d) in enumerate({"text": 50, "audio": 5,
                                                      "visual": 4}.items())})
    Y = (rng.rand(150, 2) < 0.4).astype(int)
    return X, Y


def test_prediction_in_length_order_returns_input_order(varied):
    X, Y = varied
    clf = small_clf(["happy", "sad"], max_epochs=1, predict_batch_size=16).fit(X, Y)
    proba = clf.predict_proba(X)
    clf.module_.eval()
    with torch.no_grad():  # the module on the inputs in their own order, one batch
        logits = clf.module_(**{m: torch.from_numpy(X[m]) for m in ("text", "audio", "visual")})
    np.testing.assert_allclose(proba, torch.sigmoid(logits).numpy(), atol=1e-6)
    # and row by row: a permuted input gives permuted outputs
    perm = np.random.RandomState(0).permutation(len(Y))
    np.testing.assert_allclose(clf.predict_proba(X[perm]), proba[perm], atol=1e-6)


def test_bucket_by_length_fits_deterministically(varied):
    X, Y = varied
    a = small_clf(["happy", "sad"], bucket_by_length=True, batch_size=16).fit(X, Y)
    b = small_clf(["happy", "sad"], bucket_by_length=True, batch_size=16).fit(X, Y)
    plain = small_clf(["happy", "sad"], bucket_by_length=False, batch_size=16).fit(X, Y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.array_equal(a.predict_proba(X), plain.predict_proba(X))
    assert len(a.history) == 3 and np.isfinite(a.history[:, "train_loss"]).all()


class _StepsPerBatch(Callback):
    """Record the recurrent steps of each training batch: its longest sample."""

    def initialize(self):
        self.steps_ = []
        return self

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            Xb = batch[0]
            self.steps_.append(int(lengths_from_padding(Xb["text"]).max()))


def test_bucket_by_length_runs_shorter_batches(varied):
    X, Y = varied
    seen = {}
    for bucket in (False, True):
        counter = _StepsPerBatch()
        small_clf(["happy", "sad"], bucket_by_length=bucket, batch_size=16, max_epochs=2,
                  validation_fraction=0, callbacks=[counter]).fit(X, Y)
        seen[bucket] = np.mean(counter.steps_)
    assert seen[False] > 11  # random batches of 16 nearly always hold a 12-step sample
    assert seen[True] < 0.75 * seen[False]


def test_bad_bucket_by_length(varied):
    X, Y = varied
    with pytest.raises(ValueError, match="bucket_by_length must be True or False"):
        small_clf(["happy", "sad"], bucket_by_length="yes").fit(X, Y)


def test_a_user_sampler_is_respected(varied):
    X, Y = varied
    clf = small_clf(["happy", "sad"], bucket_by_length=True, max_epochs=1,
                    iterator_train__sampler=torch.utils.data.SequentialSampler(range(135)),
                    iterator_train__shuffle=False)
    clf.fit(X, Y)
    ds = clf.get_dataset(X, Y)
    loader = clf.get_iterator(torch.utils.data.Subset(ds, range(135)), training=True)
    assert loader.batch_sampler.sampler is clf.iterator_train__sampler


def test_lengths_of_cpu_tensors_and_save_load(varied, tmp_path):
    import skmemo

    X, Y = varied
    tensors = {m: torch.from_numpy(X[m]) for m in ("text", "audio", "visual")}
    np.testing.assert_array_equal(sample_lengths(tensors), sample_lengths(dict(X.items())))
    clf = small_clf(["happy", "sad"], bucket_by_length=True, max_epochs=1).fit(X, Y)
    clf.save(tmp_path / "m.skmemo")
    loaded = skmemo.load(tmp_path / "m.skmemo")
    assert loaded.bucket_by_length is True
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_a_custom_iterator_gets_no_batch_sampler(varied):
    X, Y = varied
    seen = []

    def loader(dataset, **kwargs):
        seen.append(sorted(kwargs))
        return torch.utils.data.DataLoader(dataset, **kwargs)

    clf = small_clf(["happy", "sad"], max_epochs=1, bucket_by_length=True,
                    iterator_train=loader, iterator_valid=loader).fit(X, Y)
    proba = clf.predict_proba(X)
    assert proba.shape == (150, 2)
    assert all("batch_sampler" not in kw and "batch_size" in kw for kw in seen)


def test_tensor_inputs_train_like_numpy_inputs(varied):
    """Tensors are sliced where they are; with the same seed, training is the same."""
    X, Y = varied
    tensors = MultimodalData(**{m: torch.from_numpy(X[m]) for m in ("text", "audio", "visual")})
    a = small_clf(["happy", "sad"], bucket_by_length=True, max_epochs=2).fit(X, Y)
    b = small_clf(["happy", "sad"], bucket_by_length=True, max_epochs=2).fit(tensors, Y)
    np.testing.assert_allclose(b.predict_proba(tensors), a.predict_proba(X), atol=1e-6)


def test_inputs_outside_the_cpu_are_not_pinned(varied):
    """Only CPU memory can be pinned: a corpus already on the device is sliced there."""
    from skmemo._batching import on_device

    X, Y = varied
    clf = small_clf(["happy", "sad"], bucket_by_length=False, max_epochs=1).fit(X, Y)
    clf.device = "cuda"  # building the loaders needs no GPU
    on_meta = {m: torch.empty(X[m].shape, device="meta") for m in ("text", "audio")}
    ds = MultimodalDataset(on_meta, np.zeros((150, 2), dtype=np.float32))
    assert on_device(ds) and on_device(torch.utils.data.Subset(ds, range(10)))
    assert not clf.get_iterator(ds, training=True).pin_memory
    assert clf.get_iterator(clf.get_dataset(X, Y), training=True).pin_memory


@pytest.mark.gpu
def test_inputs_moved_to_the_gpu_once(varied):
    X, Y = varied
    on_gpu = MultimodalData(**{m: torch.from_numpy(X[m]).cuda()
                               for m in ("text", "audio", "visual")})
    np.testing.assert_array_equal(sample_lengths(dict(on_gpu.items())),
                                  sample_lengths(dict(X.items())))
    clf = small_clf(["happy", "sad"], bucket_by_length=True, max_epochs=2,
                    device="cuda").fit(on_gpu, Y)
    proba = clf.predict_proba(on_gpu)
    np.testing.assert_allclose(proba, clf.predict_proba(X), atol=1e-5)
    assert np.isfinite(proba).all()


# ----------------------------------------------------------------------
# What the user guide, reliability and performance guides say the estimator does.
# ----------------------------------------------------------------------
def test_prediction_batches_equal_one_batch_up_to_rounding(data, fitted):
    X, _ = data
    one = fitted.predict_proba(X)  # 240 samples, one batch
    many = fitted.set_params(predict_batch_size=16).predict_proba(X)
    fitted.set_params(predict_batch_size=None)
    np.testing.assert_allclose(many, one, atol=1e-6)


# ----------------------------------------------------------------------
# Modalities absent for some samples: length 0 in ``<modality>_lengths``.
# ----------------------------------------------------------------------
# training on ragged data
# ----------------------------------------------------------------------


def test_prediction_in_length_ordered_batches_with_absent_samples(fitted, data):
    """Several prediction batches (length-ordered) give each sample its own row."""
    X, _ = data
    R = ragged_everywhere(X, seed=2)
    one_batch = fitted.predict_proba(R)
    clf = pickle.loads(pickle.dumps(fitted)).set_params(predict_batch_size=7)
    assert (np.asarray(R["audio_lengths"]) == 0).any()
    np.testing.assert_allclose(clf.predict_proba(R), one_batch, rtol=0, atol=1e-6)
