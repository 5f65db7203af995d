import numpy as np
import pytest
import torch

from skmemo.modules import EmotionEmbeddingModel, SequenceEncoder, lengths_from_padding


def test_lengths_from_padding():
    x = torch.zeros(3, 5, 2)
    x[0, 2:] = 1  # pre-padded, length 3
    x[1, :] = 1  # full
    # x[2] all zero -> read as one step
    assert lengths_from_padding(x, "pre").tolist() == [3, 5, 1]
    y = torch.zeros(2, 4, 1)
    y[0, :2] = 1
    y[1, :4] = 1
    assert lengths_from_padding(y, "post").tolist() == [2, 4]


def test_encoder_sums_directions_and_takes_last_real_step():
    torch.manual_seed(0)
    enc = SequenceEncoder(3, 4, num_layers=1).eval()
    x = torch.randn(2, 5, 3)
    with torch.no_grad():
        out = enc(x, torch.tensor([5, 5]))
        full, _ = enc.rnn(x)
    assert out.shape == (2, 5, 4)
    np.testing.assert_allclose(out, full[..., :4] + full[..., 4:], atol=1e-6)
    last = SequenceEncoder.last_step(out, torch.tensor([5, 2]))
    np.testing.assert_allclose(last[1], out[1, 1], atol=1e-6)


@pytest.mark.parametrize("rnn", ["lstm", "gru"])
@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("bidirectional", [True, False])
def test_cpu_training_path_equals_packed_sequences(rnn, num_layers, bidirectional):
    """With gradients on the CPU each direction runs apart; same values and gradients."""
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    torch.manual_seed(0)
    enc = SequenceEncoder(7, 5, num_layers=num_layers, rnn=rnn, dropout=0.0,
                          bidirectional=bidirectional)
    lengths = torch.tensor([9, 1, 4, 7, 2, 9])
    x = torch.randn(6, 9, 7)
    x[torch.arange(9)[None, :] >= lengths[:, None]] = 0
    x.requires_grad_(True)
    out = enc(x, lengths)
    grads = torch.autograd.grad((out ** 2).sum(), [x] + list(enc.parameters()))

    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    ref, _ = enc.rnn(packed)
    ref, _ = pad_packed_sequence(ref, batch_first=True, total_length=9)
    ref = ref.view(6, 9, -1, 5).sum(2)
    ref_grads = torch.autograd.grad((ref ** 2).sum(), [x] + list(enc.parameters()))
    np.testing.assert_allclose(out.detach(), ref.detach(), atol=1e-6)
    assert (out[1, 1:] == 0).all()  # past a sample's length: zeros
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g, r, atol=1e-5)


def _model(**kw):
    torch.manual_seed(0)
    return EmotionEmbeddingModel(np.random.RandomState(0).randn(4, 6), {"text": 3, "audio": 2},
                                 **kw).eval()


def test_padding_never_changes_the_output():
    model = _model()
    x_t, x_a = torch.randn(1, 4, 3), torch.randn(1, 2, 2)
    padded_t = torch.cat([torch.zeros(1, 3, 3), x_t], 1)
    padded_a = torch.cat([torch.zeros(1, 5, 2), x_a], 1)
    with torch.no_grad():
        a = model(text=x_t, audio=x_a)
        b = model(text=padded_t, audio=padded_a)
        c = model(text=padded_t, audio=padded_a, text_lengths=torch.tensor([4]),
                  audio_lengths=torch.tensor([2]))
    np.testing.assert_allclose(a, b, atol=1e-5)
    np.testing.assert_allclose(a, c, atol=1e-5)


def test_post_padding():
    model = _model(padding="post")
    x = torch.randn(1, 4, 3)
    with torch.no_grad():
        a = model(text=x)
        b = model(text=torch.cat([x, torch.zeros(1, 2, 3)], 1))
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_paper_configuration_and_projection():
    m = _model()
    assert m.hidden_sizes["text"] == 6 and m.text_projection is None
    assert set(m.mappings) == {"audio"} and isinstance(m.mappings["audio"], torch.nn.Linear)
    np.testing.assert_allclose(m.fusion_weights.detach(), [1 / 3] * 3)
    assert not m.emotion_embeddings.requires_grad
    p = _model(hidden_sizes={"text": 8})
    assert p.text_projection.in_features == 8 and p.text_projection.out_features == 6


def test_scores_are_dot_products_with_mapped_embeddings():
    m = _model()
    x = {"text": torch.randn(2, 3, 3), "audio": torch.randn(2, 3, 2)}
    with torch.no_grad():
        reps = m.encode(x)
        s = m.scores(reps)
        E_a = m.mappings["audio"](m.emotion_embeddings)
        np.testing.assert_allclose(s["audio"], reps["audio"] @ E_a.T, atol=1e-6)
        np.testing.assert_allclose(s["text"], reps["text"] @ m.emotion_embeddings.T, atol=1e-6)
        fused = m(**x)
        w = m.fusion_weights
        np.testing.assert_allclose(fused, w[0] * s["text"] + w[1] * s["audio"], atol=1e-6)


def test_add_emotions_extends_scores():
    m = _model()
    x = torch.randn(2, 3, 3)
    with torch.no_grad():
        before = m(text=x)
        m.add_emotions(np.ones((1, 6)))
        after = m(text=x)
    assert after.shape == (2, 5)
    np.testing.assert_allclose(after[:, :4], before, atol=1e-6)


def test_gru_and_errors():
    assert isinstance(_model(rnn="gru").encoders["text"].rnn, torch.nn.GRU)
    with pytest.raises(ValueError, match="rnn must be"):
        _model(rnn="transformer")
    with pytest.raises(ValueError, match="input_dims"):
        EmotionEmbeddingModel(np.zeros((2, 3)), {"smell": 2})


# ----------------------------------------------------------------------
# text_scoring="calibrated_cosine"
# ----------------------------------------------------------------------
def test_mean_over_steps_reads_only_real_steps():
    from skmemo.modules import mean_over_steps

    x = torch.tensor([[[9.0], [1.0], [3.0]], [[2.0], [4.0], [9.0]]])
    L = torch.tensor([2, 0])
    np.testing.assert_allclose(mean_over_steps(x, L, "pre"), [[2.0], [0.0]])
    np.testing.assert_allclose(mean_over_steps(x, torch.tensor([1, 2]), "post"),
                               [[9.0], [3.0]])


def test_calibrated_cosine_values():
    from skmemo.modules import calibrated_cosine

    u = torch.tensor([[1.0, 0.0], [3.0, 4.0]])
    E = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    # cosines: [[1, 0], [0.6, 0.8]]; minus the row means 0.5 and 0.7
    np.testing.assert_allclose(calibrated_cosine(u, E), [[0.5, -0.5], [-0.1, 0.1]],
                               atol=1e-6)


def test_untrained_calibrated_cosine_model_is_the_training_free_score():
    from skmemo.modules import calibrated_cosine

    torch.manual_seed(0)
    E = torch.randn(4, 6)
    m = EmotionEmbeddingModel(E, {"text": 6}, text_scoring="calibrated_cosine",
                              temperature=0.25).eval()
    x = torch.randn(5, 3, 6)
    x[0, :1] = 0  # one pre-padded sample of length 2
    L = torch.tensor([2, 3, 3, 3, 3])
    with torch.no_grad():
        s = m(text=x, text_lengths=L)
        pooled = torch.stack([x[0, 1:].mean(0)] + [x[i].mean(0) for i in range(1, 5)])
        np.testing.assert_allclose(s, 4.0 * calibrated_cosine(pooled, E), atol=1e-5)
        # a new emotion starts from its cosine, calibrated by the fitted emotions,
        # whose scores do not change
        e = torch.randn(1, 6)
        m.add_emotions(e)
        np.testing.assert_array_equal(m.emotion_gates.detach(), [1, 1, 1, 1, 0])
        after = m(text=x, text_lengths=L)
        np.testing.assert_allclose(after[:, :4], s, atol=1e-6)
        cos = torch.nn.functional.normalize(pooled, dim=1) @ torch.nn.functional.normalize(
            torch.cat([E, e]), dim=1).T
        np.testing.assert_allclose(
            after, 4.0 * (cos - cos[:, :4].mean(1, keepdim=True)), atol=1e-5)


def test_calibrated_cosine_corrections_learn_and_errors():
    torch.manual_seed(0)
    m = EmotionEmbeddingModel(torch.randn(3, 4), {"text": 4},
                              text_scoring="calibrated_cosine")
    x = torch.randn(8, 2, 4)
    loss = (m(text=x) * torch.arange(3.0)).sum()
    loss.backward()
    assert m.text_correction.weight.grad.abs().sum() > 0  # zero weights, live gradient
    assert m.log_text_scale.grad is not None
    with pytest.raises(ValueError, match="same size"):
        EmotionEmbeddingModel(np.zeros((2, 3)), {"text": 5},
                              text_scoring="calibrated_cosine")
    with pytest.raises(ValueError, match="text_scoring must be"):
        EmotionEmbeddingModel(np.zeros((2, 3)), {"text": 3}, text_scoring="cos")
    with pytest.raises(ValueError, match="temperature"):
        EmotionEmbeddingModel(np.zeros((2, 3)), {"text": 3},
                              text_scoring="calibrated_cosine", temperature=0)


def test_gated_calibrated_cosine_matches_its_definition():
    from skmemo.modules import calibrated_cosine, gated_calibrated_cosine

    torch.manual_seed(0)
    u, delta, E = torch.randn(4, 5), torch.randn(4, 5), torch.randn(3, 5)
    gates = torch.tensor([1.0, 0.0, 0.5])
    cos = torch.stack([torch.nn.functional.cosine_similarity(u + g * delta, e[None], dim=1)
                       for g, e in zip(gates, E)], dim=1)
    plain = torch.nn.functional.normalize(u, dim=1) @ torch.nn.functional.normalize(
        E, dim=1).T
    np.testing.assert_allclose(gated_calibrated_cosine(u, delta, gates, E),
                               cos - plain.mean(1, keepdim=True), atol=1e-6)
    np.testing.assert_allclose(gated_calibrated_cosine(u, delta, torch.zeros(3), E),
                               calibrated_cosine(u, E), atol=1e-6)
    ref = torch.tensor([True, True, False])
    np.testing.assert_allclose(gated_calibrated_cosine(u, delta, gates, E, ref),
                               cos - plain[:, :2].mean(1, keepdim=True), atol=1e-6)


def test_calibrated_cosine_text_hidden_size_defaults_to_64():
    m = EmotionEmbeddingModel(np.zeros((2, 96)), {"text": 96, "audio": 4},
                              text_scoring="calibrated_cosine")
    assert m.hidden_sizes == {"text": 64, "audio": 64}
    assert m.text_correction.in_features == 64 and m.text_projection is None
    assert _model().hidden_sizes["text"] == 6  # the paper's default is unchanged
