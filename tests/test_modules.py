
import numpy as np
import pytest
import torch

from skmemo import MultimodalData
from skmemo._batching import sample_lengths
from skmemo.modules import (
    EmotionEmbeddingModel,
    SequenceEncoder,
    check_modality_dropout,
    lengths_from_padding,
)

from .conftest import small_clf


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
# What the user guide, reliability and performance guides say the estimator does.
# ----------------------------------------------------------------------
MODALITIES = ("text", "audio", "visual")


def _with_lengths(arrays, lengths):
    return MultimodalData(**arrays, **{f"{m}_lengths": lengths for m in arrays})


def _post_layout(X, lengths):
    """The real steps (the last ``L`` of each sample) moved to the front."""
    out = {}
    for m in MODALITIES:
        x = np.asarray(X[m])
        y = np.zeros_like(x)
        for i, n in enumerate(lengths):
            y[i, :n] = x[i, x.shape[1] - n:]
        out[m] = y
    return out


def _garbage(arrays, lengths, side, seed=0):
    """Non-zero values everywhere outside the ``L`` steps that ``side`` reads."""
    rng = np.random.RandomState(seed)
    out = {}
    for m, x in arrays.items():
        x = x.copy()
        T = x.shape[1]
        for i, n in enumerate(lengths):
            rows = slice(n, T) if side == "post" else slice(0, T - n)
            x[i, rows] = rng.randn(*x[i, rows].shape)
        out[m] = x
    return out


@pytest.fixture(scope="module")
def layouts(data):
    X, Y = data
    lengths = sample_lengths(X, "pre")  # the longest modality of each sample
    pre = {m: np.asarray(X[m]) for m in MODALITIES}
    return pre, _post_layout(X, lengths), lengths, Y


@pytest.fixture(scope="module")
def pre_model(layouts):
    pre, _, lengths, Y = layouts
    return small_clf(max_epochs=2).fit(_with_lengths(pre, lengths), Y)


def test_with_lengths_pre_reads_the_last_steps_and_post_the_first(layouts, pre_model):
    pre, post, lengths, Y = layouts
    assert (lengths < pre["text"].shape[1]).any()
    proba = pre_model.predict_proba(_with_lengths(pre, lengths))
    noisy = _garbage(pre, lengths, "pre")  # everything before the last L steps
    np.testing.assert_allclose(pre_model.predict_proba(_with_lengths(noisy, lengths)),
                               proba, atol=1e-6)
    post_model = small_clf(max_epochs=2, padding="post").fit(_with_lengths(post, lengths), Y)
    post_proba = post_model.predict_proba(_with_lengths(post, lengths))
    np.testing.assert_allclose(post_proba, proba, atol=1e-5)  # the same model
    noisy = _garbage(post, lengths, "post")  # everything after the first L steps
    np.testing.assert_allclose(post_model.predict_proba(_with_lengths(noisy, lengths)),
                               post_proba, atol=1e-6)


def test_end_padded_data_with_lengths_and_the_default_is_read_wrongly(layouts, pre_model):
    pre, post, lengths, _ = layouts
    right = pre_model.predict_proba(_with_lengths(pre, lengths))
    wrong = pre_model.predict_proba(_with_lengths(post, lengths))  # padding="pre" kept
    assert np.abs(right - wrong).max() > 0.01


# ----------------------------------------------------------------------
# Modalities absent for some samples: length 0 in ``<modality>_lengths``.
# ----------------------------------------------------------------------
def test_modality_dropout_validation():
    assert check_modality_dropout(None) == {}
    assert check_modality_dropout(0.0) == {}
    assert check_modality_dropout({"text": 0.1}, ["audio"]) == {}
    for bad in (1.0, -0.1, "0.2", True, {"face": 0.1}, {"audio": 1}):
        with pytest.raises(ValueError, match="modality_dropout"):
            check_modality_dropout(bad)
    with pytest.raises(ValueError, match="modality_dropout"):
        small_clf(modality_dropout=1.5).fit(*_tiny())


def _tiny(n=48, seed=0):
    from skmemo.datasets import make_emotion_dataset

    return make_emotion_dataset(n, seq_len=6, random_state=seed)


def test_fusion_renormalises_per_sample():
    torch.manual_seed(0)
    model = EmotionEmbeddingModel(torch.randn(3, 8), {"text": 5, "audio": 4}).eval()
    text, audio = torch.randn(4, 6, 5), torch.randn(4, 6, 4)
    full = torch.full((4,), 6)
    with torch.no_grad():
        out = model(text=text, audio=audio, text_lengths=full,
                    audio_lengths=torch.tensor([6, 0, 6, 0]))
        t_only = model(text=text, text_lengths=full)
        reps = model.encode({"text": text, "audio": audio}, {"text": full, "audio": full})
        s = model.scores(reps)
    w = model.fusion_weights.detach()
    torch.testing.assert_close(out[1], t_only[1], rtol=0, atol=0)
    torch.testing.assert_close(out[1], 2 * w[0] * s["text"][1])
    torch.testing.assert_close(out[0], w[0] * s["text"][0] + w[1] * s["audio"][0])


def test_loss_sees_only_present_modalities():
    """A sample's absent features do not reach the gradient."""
    torch.manual_seed(0)
    model = EmotionEmbeddingModel(torch.randn(2, 6), {"text": 3, "audio": 4}).train()
    audio = torch.randn(4, 5, 4, requires_grad=True)
    out = model(text=torch.randn(4, 5, 3), audio=audio,
                audio_lengths=torch.tensor([5, 0, 3, 0]))
    out.sum().backward()
    assert audio.grad[[1, 3]].abs().sum() == 0
    assert audio.grad[0].abs().sum() > 0


def test_modality_dropout_training_only_and_never_all():
    torch.manual_seed(0)
    model = EmotionEmbeddingModel(torch.randn(2, 6), {"text": 3, "audio": 4, "visual": 2},
                                  modality_dropout={"text": 0.6, "audio": 0.6,
                                                    "visual": 0.6})
    n = 4000
    inputs = {"text": torch.ones(n, 2, 3), "audio": torch.ones(n, 2, 4),
              "visual": torch.ones(n, 2, 2)}
    given = {"visual": torch.where(torch.arange(n) % 2 == 0, 2, 0)}
    dropped = model.drop_modalities(inputs, given)
    kept = torch.stack([dropped[m] > 0 for m in ("text", "audio", "visual")], dim=1)
    assert kept.any(dim=1).all()  # never all modalities of a sample
    assert not kept[1::2, 2].any()  # absent stays absent
    share = 1 - kept[:, 0].float().mean().item()
    # text is dropped with 0.6, less the cases where it is the one kept back:
    # 3 present: 0.6 - 0.6**3 / 3; 2 present: 0.6 - 0.6**2 / 2
    expected = 0.5 * (0.6 - 0.6 ** 3 / 3) + 0.5 * (0.6 - 0.6 ** 2 / 2)
    assert abs(share - expected) < 0.03
    # eval mode: no dropout, so predictions are deterministic and complete
    model.eval()
    with torch.no_grad():
        a = model(**inputs)
        b = model(**inputs)
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_module_refuses_samples_without_modality():
    model = EmotionEmbeddingModel(torch.randn(2, 6), {"text": 3, "audio": 4}).eval()
    text, audio = torch.ones(3, 2, 3), torch.ones(3, 2, 4)
    with pytest.raises(ValueError, match="no present modality"):
        model(text=text, audio=audio, text_lengths=torch.tensor([2, 0, 2]),
              audio_lengths=torch.tensor([0, 0, 2]))
    with pytest.raises(ValueError, match="no sample of the batch"):
        model(text=text, text_lengths=torch.zeros(3, dtype=torch.long))


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
