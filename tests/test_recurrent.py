import numpy as np
import pytest
import torch

from skmemo._recurrent import permute_rows, run_directions_apart
from skmemo.modules import EmotionEmbeddingModel, SequenceEncoder


def test_permute_rows_values_and_gradient():
    torch.manual_seed(0)
    x = torch.randn(3, 4, 2, dtype=torch.float64, requires_grad=True)
    index = torch.randperm(12)
    inverse = torch.argsort(index)
    out = permute_rows(x, index, inverse)
    assert torch.equal(out, x.reshape(12, 2)[index])
    torch.autograd.gradcheck(lambda t: permute_rows(t, index, inverse), (x,))
    # second derivatives go through the same permutation
    torch.autograd.gradgradcheck(lambda t: permute_rows(t, index, inverse) ** 2, (x,))


@pytest.mark.parametrize("rnn", ["lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [True, False])
def test_directions_apart_equals_one_sample_at_a_time(rnn, bidirectional):
    """Each sample alone, without any padding, gives the same outputs and gradients."""
    torch.manual_seed(0)
    enc = SequenceEncoder(3, 4, num_layers=2, rnn=rnn, dropout=0.0,
                          bidirectional=bidirectional).train()
    lengths = torch.tensor([5, 1, 3, 5, 2])
    x = torch.randn(5, 5, 3)
    x[torch.arange(5)[None, :] >= lengths[:, None]] = 0
    x.requires_grad_(True)
    out = run_directions_apart(enc.rnn, x, lengths)
    grads = torch.autograd.grad((out ** 2).sum(), [x] + list(enc.parameters()))

    ref_loss = 0
    ref_out = []
    for i, L in enumerate(lengths.tolist()):
        o, _ = enc.rnn(x[i:i + 1, :L])
        o = o.view(1, L, -1, 4).sum(2)
        ref_out.append(torch.cat([o[0], o.new_zeros(5 - L, 4)]))
        ref_loss = ref_loss + (o ** 2).sum()
    ref_grads = torch.autograd.grad(ref_loss, [x] + list(enc.parameters()))
    np.testing.assert_allclose(out.detach(), torch.stack(ref_out).detach(), atol=1e-6)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g, r, atol=1e-5)


def test_model_input_gradients_with_pre_padding():
    """Training on pre-padded inputs: the gradient reaches only the real steps, unchanged."""
    torch.manual_seed(0)
    model = EmotionEmbeddingModel(np.random.RandomState(0).randn(3, 4), {"audio": 2},
                                  dropout=0.0).train()
    short = torch.randn(1, 2, 2, requires_grad=True)
    full = torch.randn(1, 4, 2, requires_grad=True)
    padded = torch.cat([torch.zeros(1, 2, 2), short], 1)  # pre-padded to 4 steps
    batch = model(audio=torch.cat([padded, full]))
    g_short, g_full = torch.autograd.grad((batch ** 2).sum(), [short, full])
    r_short, r_full = torch.autograd.grad(
        (model(audio=short) ** 2).sum() + (model(audio=full) ** 2).sum(), [short, full])
    np.testing.assert_allclose(g_short, r_short, atol=1e-6)
    np.testing.assert_allclose(g_full, r_full, atol=1e-6)


def test_cpu_inference_equals_packed_sequences():
    """Without gradients the CPU also runs directions apart; same outputs as packing."""
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    torch.manual_seed(0)
    enc = SequenceEncoder(3, 4, num_layers=2).eval()
    lengths = torch.tensor([6, 2, 4])
    x = torch.randn(3, 6, 3)
    x[torch.arange(6)[None, :] >= lengths[:, None]] = 0
    with torch.no_grad():
        out = enc(x, lengths)
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        ref, _ = pad_packed_sequence(enc.rnn(packed)[0], batch_first=True, total_length=6)
    np.testing.assert_allclose(out, ref.view(3, 6, 2, 4).sum(2), atol=1e-6)


def test_cpu_inference_packs_batches_of_mostly_padding():
    """Both inference ways (packed for mostly padding, fused otherwise) agree."""
    from skmemo.modules import _PACK_BELOW

    torch.manual_seed(0)
    enc = SequenceEncoder(3, 4, num_layers=2).eval()
    lengths = torch.tensor([10, 1, 1, 2])  # real steps: 14 of 40
    assert lengths.sum() < _PACK_BELOW * 40
    x = torch.randn(4, 10, 3)
    x[torch.arange(10)[None, :] >= lengths[:, None]] = 0
    with torch.no_grad():
        packed = enc(x, lengths)
        fused = run_directions_apart(enc.rnn, x, lengths)
    np.testing.assert_allclose(packed, fused, atol=1e-6)
