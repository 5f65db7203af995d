"""Cross-modal attention fusion and the SWFC auxiliary loss."""

import pickle

import numpy as np
import pytest
import torch

from skmemo.fusion import CrossModalEncoder, CrossModalLayer
from skmemo.losses import class_weights, swfc_loss
from skmemo.modules import EmotionEmbeddingModel

from .conftest import small_clf


def _encoder():
    torch.manual_seed(0)
    return CrossModalEncoder({"text": 6, "audio": 4, "visual": 5}, dim=8, layers=2,
                             heads=2, dropout=0.0).eval()


def test_shapes_are_kept():
    enc = _encoder()
    seqs = {"text": torch.randn(3, 7, 6), "audio": torch.randn(3, 4, 4),
            "visual": torch.randn(3, 5, 5)}
    lengths = {"text": torch.tensor([7, 2, 5]), "audio": torch.tensor([4, 4, 1]),
               "visual": torch.tensor([5, 3, 2])}
    out = enc(seqs, lengths)
    assert {m: o.shape for m, o in out.items()} == {m: s.shape for m, s in seqs.items()}


def test_padded_keys_are_masked():
    """Changing values at padded steps of one modality changes nothing elsewhere."""
    enc = _encoder()
    seqs = {"text": torch.randn(2, 5, 6), "audio": torch.randn(2, 6, 4)}
    lengths = {"text": torch.tensor([5, 3]), "audio": torch.tensor([2, 6])}
    with torch.no_grad():
        a = enc(seqs, lengths)
        noisy = dict(seqs, audio=seqs["audio"].clone())
        noisy["audio"][0, 2:] = 100.0  # padding of sample 0
        b = enc(noisy, lengths)
    torch.testing.assert_close(a["text"], b["text"])
    torch.testing.assert_close(a["audio"][0, :2], b["audio"][0, :2])


def test_single_modality_passes_through_and_needs_two():
    enc = _encoder()
    seqs = {"text": torch.randn(2, 3, 6)}
    assert enc(seqs, {"text": torch.tensor([3, 3])})["text"] is seqs["text"]
    with pytest.raises(ValueError, match="at least two"):
        CrossModalEncoder({"text": 4})


def test_model_with_cross_attention_keeps_padding_invariance_and_gradients():
    torch.manual_seed(0)
    model = EmotionEmbeddingModel(np.random.RandomState(0).randn(3, 6),
                                  {"text": 4, "audio": 2}, fusion="cross_attention",
                                  attention_dim=8, attention_heads=2)
    x_t, x_a = torch.randn(2, 3, 4), torch.randn(2, 5, 2)
    model.eval()
    with torch.no_grad():
        a = model(text=x_t, audio=x_a)
        b = model(text=torch.cat([torch.zeros(2, 2, 4), x_t], 1), audio=x_a)
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    model.train()
    model(text=x_t, audio=x_a).sum().backward()
    for name, p in model.cross_modal.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert model.encoders["audio"].rnn.weight_ih_l0.grad.abs().sum() > 0


def test_swfc_loss_hand_case():
    # two samples of one class, one of another: with orthogonal / equal vectors
    z = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    Y = torch.tensor([[1, 0], [1, 0], [0, 1]])
    loss = swfc_loss(z, Y, temperature=1.0, gamma=0.0, alpha=0.0)
    # sample 0: p_01 = e / (e + 1); sample 2 has no positive and is left out
    expected = -np.log(np.e / (np.e + 1))
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    focal = swfc_loss(z, Y, temperature=1.0, gamma=2.0, alpha=0.0)
    p = np.e / (np.e + 1)
    assert focal.item() == pytest.approx(-(1 - p) ** 2 * np.log(p), rel=1e-5)


def test_class_weights_favour_rare_emotions():
    Y = torch.tensor([[1, 0], [1, 0], [1, 0], [0, 1]])
    w = class_weights(Y, alpha=1.0)
    assert w.sum().item() == pytest.approx(1.0) and w[1] > w[0]


def test_estimator_with_cross_attention_and_swfc(small_data):
    X, Y = small_data
    clf = small_clf(fusion="cross_attention", swfc_weight=0.5, max_epochs=1,
                    module__attention_dim=8, module__attention_heads=2)
    clf.fit(X, Y)
    base = small_clf(fusion="cross_attention", max_epochs=1, module__attention_dim=8,
                     module__attention_heads=2).fit(X, Y)
    # the auxiliary loss is part of the training loss
    assert clf.history[0, "train_loss"] != base.history[0, "train_loss"]
    clf.add_emotions(["awe"])  # zero-shot still works
    proba = clf.predict_proba({"text": X["text"], "visual": X["visual"]})
    assert proba.shape == (len(X), 7) and np.isfinite(proba).all()
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))


def test_bad_fusion(data):
    X, Y = data
    with pytest.raises(ValueError, match="fusion must be"):
        small_clf(fusion="concat").fit(X, Y)


# ----------------------------------------------------------------------
# Modalities absent for some samples: length 0 in ``<modality>_lengths``.
# ----------------------------------------------------------------------
def test_cross_modal_layer_leaves_absent_rows_unchanged():
    torch.manual_seed(0)
    layer = CrossModalLayer(8, 1, heads=2, dropout=0.0).eval()
    q, src = torch.randn(3, 4, 8), torch.randn(3, 5, 8)
    mask = torch.tensor([[False] * 5, [True] * 5, [False, False, True, True, True]])
    here = torch.tensor([True, False, True])
    with torch.no_grad():
        out = layer(q, [src], [mask], present=[here])
        alone = layer(q[1:2], [], [])  # no source at all: only the feed-forward block
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[1:2], alone, rtol=0, atol=0)
