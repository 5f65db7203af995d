"""DialogueContext and StackSequences: utterances read with the turns before them."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold, KFold, cross_val_score
from sklearn.pipeline import make_pipeline

from skmemo import MultimodalEmotionClassifier
from skmemo.exceptions import DialogueLeakWarning
from skmemo.feature_extraction import (
    DialogueContext,
    MultimodalColumns,
    StackSequences,
    WordVectorizer,
)
from skmemo.persistence import load, save


def table():
    """Two dialogues, a single-utterance one, rows in dialogue order."""
    return pd.DataFrame({
        "Utterance": ["You slept with her?!", "Okay.", "Want pizza?", "Okay.", "Sure.",
                      "Hi."],
        "Speaker": ["Ross", "Joey", "Rachel", "Monica", "Rachel", "Phoebe"],
        "Dialogue_ID": [0, 0, 1, 1, 1, 2],
        "Utterance_ID": [0, 1, 0, 1, 2, 0],
    })


def test_strings_get_preceding_turns_only():
    out = DialogueContext(window=None).fit_transform(table())
    assert out["Utterance"].tolist() == [
        "You slept with her?!", "You slept with her?! [SEP] Okay.", "Want pizza?",
        "Want pizza? [SEP] Okay.", "Want pizza? [SEP] Okay. [SEP] Sure.", "Hi."]
    # other columns and the row order are untouched
    pd.testing.assert_frame_equal(out.drop(columns="Utterance"),
                                  table().drop(columns="Utterance"))


def test_same_words_different_context():
    out = DialogueContext(window=1).fit_transform(table())["Utterance"]
    assert out[1] != out[3]  # "Okay." after "You slept with her?!" vs after "Want pizza?"


def test_window_and_speakers():
    out = DialogueContext(window=1, speaker="Speaker", sep=" | ").fit_transform(table())
    assert out["Utterance"].tolist()[4] == "Monica: Okay. | Rachel: Sure."
    assert DialogueContext(window=0).fit_transform(table())["Utterance"].tolist() == \
        table()["Utterance"].tolist()


def test_following_turns_and_labels_never_read():
    changed = table()
    changed.loc[4, "Utterance"] = "Something else entirely."  # the last turn of dialogue 1
    a = DialogueContext(window=None).fit_transform(table())["Utterance"]
    b = DialogueContext(window=None).fit_transform(changed)["Utterance"]
    assert (a[:4] == b[:4]).all() and a[4] != b[4]
    # y is ignored: any labels give the same output
    y1, y2 = np.zeros((6, 2)), np.ones((6, 2))
    assert (DialogueContext().fit_transform(table(), y1)["Utterance"] ==
            DialogueContext().fit_transform(table(), y2)["Utterance"]).all()


def test_rows_out_of_order_and_interleaved_follow_the_order_column():
    df = table()
    shuffled = df.iloc[[4, 0, 3, 5, 2, 1]]  # dialogues interleaved, turns reversed
    expected = DialogueContext(window=None).fit_transform(df)["Utterance"]
    got = DialogueContext(window=None).fit_transform(shuffled)["Utterance"]
    assert got.tolist() == expected.loc[shuffled.index].tolist()  # same rows, input order


def test_context_rows_are_positions():
    rows = DialogueContext(window=2).context_rows(table())
    assert [r.tolist() for r in rows] == [[], [0], [], [2], [2, 3], []]


def test_single_utterance_dialogue_has_empty_context():
    df = table().iloc[[5]]
    assert DialogueContext().fit_transform(df)["Utterance"].tolist() == ["Hi."]


# ------------------------------------------------------------------ bad input
def test_missing_dialogue_ids_are_named_and_nothing_changes():
    ctx = DialogueContext().fit(table())
    fitted = ctx.dialogues_.copy()
    bad = table().astype({"Dialogue_ID": float})
    bad.loc[[1, 3], "Dialogue_ID"] = np.nan
    with pytest.raises(ValueError, match=r"'Dialogue_ID' is missing for 2 row\(s\) "
                                         r"\(positions 1, 3\)"):
        ctx.fit(bad)
    np.testing.assert_array_equal(ctx.dialogues_, fitted)  # the failed fit kept the old state
    with pytest.raises(ValueError, match="missing"):
        ctx.transform(bad)


def test_interleaved_rows_without_order_column_raise():
    df = table().iloc[[0, 2, 1, 3, 4, 5]]  # dialogue 0, 1, 0, ...
    with pytest.raises(ValueError, match="rows of dialogue 0 are not contiguous.*order="):
        DialogueContext(order=None).fit(df)
    out = DialogueContext(order=None, window=None).fit_transform(table())  # sorted: fine
    assert out["Utterance"][4] == "Want pizza? [SEP] Okay. [SEP] Sure."


def test_repeated_and_missing_positions_raise():
    df = table()
    df.loc[4, "Utterance_ID"] = 1
    with pytest.raises(ValueError, match="dialogue 1 has two utterances at Utterance_ID=1"):
        DialogueContext().fit(df)
    df = table().astype({"Utterance_ID": float})
    df.loc[2, "Utterance_ID"] = np.nan
    with pytest.raises(ValueError, match=r"'Utterance_ID' is missing for 1 row"):
        DialogueContext().fit(df)


@pytest.mark.parametrize("params, match", [
    (dict(window=-1), "window must be an int >= 0"),
    (dict(window=1.5), "window must be an int >= 0"),
    (dict(leak="maybe"), "leak must be one of"),
    (dict(columns="Dialogue_ID"), "also the dialogue/order/speaker columns"),
    (dict(speaker_format="{speaker}"), "speaker_format must be a str holding '{text}'"),
])
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        DialogueContext(**params).fit(table())


def test_bad_tables():
    with pytest.raises(KeyError, match="no dialogue column 'Scene_ID'"):
        DialogueContext(dialogue="Scene_ID").fit(table())
    with pytest.raises(KeyError, match="no speaker column 'Who'"):
        DialogueContext(speaker="Who").fit(table())
    with pytest.raises(TypeError, match="X must be a pandas DataFrame"):
        DialogueContext().fit(["Okay."])
    ctx = DialogueContext().fit(table().iloc[:2])
    with pytest.raises(TypeError, match="mixes strings and other values"):
        ctx.fit_transform(table().assign(Utterance=["a", 1.0, "b", "c", "d", "e"]))
    np.testing.assert_array_equal(ctx.dialogues_, [0])  # the failed call changed nothing


def test_not_fitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        DialogueContext().transform(table())


# ---------------------------------------------------------------------- leaks
def test_dialogue_seen_at_fit_warns_at_transform():
    df = table()
    ctx = DialogueContext().fit(df.iloc[:3])  # dialogue 0 and the first turn of 1
    with pytest.warns(DialogueLeakWarning, match=r"1 dialogue\(s\) of X \(e.g. 1;"):
        ctx.transform(df.iloc[3:])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ctx.transform(df.iloc[5:])  # dialogue 2 is new: silent
        ctx.set_params(leak="ignore").transform(df)
    with pytest.raises(ValueError, match="were also in the data"):
        ctx.set_params(leak="error").transform(df.iloc[3:])


def test_grouped_cross_validation_does_not_warn_and_kfold_does():
    texts = table()
    df = pd.concat([texts.assign(Dialogue_ID=texts["Dialogue_ID"] + 10 * k)
                    for k in range(4)], ignore_index=True)
    y = np.tile([0, 1, 0, 1, 1, 0], 4)
    from sklearn.dummy import DummyClassifier
    from sklearn.preprocessing import FunctionTransformer

    pipe = make_pipeline(DialogueContext(), FunctionTransformer(lambda f: np.c_[
        f["Utterance"].str.len()]), DummyClassifier())
    with warnings.catch_warnings():
        warnings.simplefilter("error", DialogueLeakWarning)
        cross_val_score(pipe, df, y, groups=df["Dialogue_ID"], cv=GroupKFold(3))
    with pytest.warns(DialogueLeakWarning):
        cross_val_score(pipe, df, y, cv=KFold(3), error_score="raise")


# --------------------------------------------------------------------- arrays
def test_array_column_stacks_previous_steps_with_speaker_marks():
    df = table()
    df["emb"] = [np.full(2, i, np.float32) for i in range(6)]
    out = DialogueContext("emb", window=2, speaker="Speaker").fit_transform(df)["emb"]
    assert out[4].shape == (3, 4)  # turns 2, 3, 4 of dialogue 1; 2 features + 2 marks
    np.testing.assert_array_equal(out[4][:, :2], [[2, 2], [3, 3], [4, 4]])
    # marks: is-current, same speaker as the current one (Rachel at turns 2 and 4)
    np.testing.assert_array_equal(out[4][:, 2:], [[0, 1], [0, 0], [1, 1]])
    seqs = DialogueContext("emb", window=2).fit_transform(df)["emb"]
    X = StackSequences(padding="pre").fit_transform(seqs.tolist())
    assert X["text"].shape == (6, 3, 2)
    np.testing.assert_array_equal(X["text_lengths"], [1, 2, 1, 2, 3, 1])
    np.testing.assert_array_equal(X["text"][1], [[0, 0], [0, 0], [1, 1]])  # pre padding


def test_array_column_of_sequences_and_bad_shapes():
    df = table().iloc[:2].copy()
    df["audio"] = [np.ones((3, 5)), 2 * np.ones((4, 5))]
    out = DialogueContext("audio").fit_transform(df)["audio"]
    assert out[1].shape == (7, 5)
    df["audio"] = [np.ones((3, 5)), np.ones((4, 6))]
    with pytest.raises(ValueError, match="different feature sizes"):
        DialogueContext("audio").fit_transform(df)
    with pytest.raises(ValueError, match="non-empty"):
        StackSequences().fit([np.ones((0, 3))])
    with pytest.raises(ValueError, match="rows have 4 features; fitted with 3"):
        StackSequences().fit([np.ones((2, 3))]).transform([np.ones((2, 4))])


# ------------------------------------------------------------------- pipelines
def corpus(n_dialogues=24, seed=0):
    """Dialogues whose last turn's emotion is set by the turn before it."""
    rng = np.random.default_rng(seed)
    rows, y = [], []
    for d in range(n_dialogues):
        happy = d % 2 == 0
        first = rng.choice(["we won the lottery", "what a wonderful gift"] if happy else
                           ["my dog died today", "i lost my job"])
        for t, text in enumerate([first, "okay"]):
            rows.append({"Utterance": text, "Dialogue_ID": d, "Utterance_ID": t,
                         "Speaker": "AB"[t % 2]})
            y.append([1, 0] if happy else [0, 1])
    return pd.DataFrame(rows), np.array(y)


def make_text_pipeline(window):
    return make_pipeline(
        DialogueContext(window=window, speaker="Speaker"),
        MultimodalColumns(text=WordVectorizer(max_len=20), columns={"text": "Utterance"}),
        MultimodalEmotionClassifier(["happy", "sad"], max_epochs=30, lr=1e-2,
                                    validation_fraction=0, random_state=0, device="cpu",
                                    hidden_sizes={"text": 16}, num_layers=1))


@pytest.fixture(scope="module")
def context_pipeline():
    df, y = corpus()
    return make_text_pipeline(1).fit(df, y)


def test_context_reads_the_dialogue(context_pipeline):
    df, y = corpus(8, seed=1)
    df["Dialogue_ID"] += 100  # new dialogues
    okay = df["Utterance"].eq("okay").to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("error", DialogueLeakWarning)
        pred = context_pipeline.predict_proba(df).argmax(1)
    assert (pred[okay] == y[okay].argmax(1)).mean() >= 0.9
    # without context "okay" is one input for both classes: at best chance
    alone = make_text_pipeline(0).set_params(multimodalemotionclassifier__max_epochs=1)
    alone.fit(*corpus())
    proba = alone.predict_proba(df)[okay]
    assert np.ptp(proba[:, 0]) < 1e-5


def test_pipeline_pickles_saves_and_zero_shot(context_pipeline, tmp_path):
    df, _ = corpus(4, seed=2)
    df["Dialogue_ID"] += 200
    again = pickle.loads(pickle.dumps(context_pipeline))
    np.testing.assert_allclose(again.predict_proba(df), context_pipeline.predict_proba(df))
    save(again[-1], tmp_path / "clf.skmemo")
    loaded = load(tmp_path / "clf.skmemo")
    X = context_pipeline[:-1].transform(df)
    np.testing.assert_allclose(loaded.predict_proba(X), context_pipeline[-1].predict_proba(X),
                               atol=1e-6)
    again[-1].add_emotions(["angry"])
    proba = again.predict_proba(df)
    assert proba.shape == (len(df), 3) and again[-1].emotions_[-1] == "angry"


def test_partial_fit_gem_with_context(context_pipeline):
    pipe = pickle.loads(pickle.dumps(context_pipeline))
    df, y = corpus(6, seed=3)
    df["Dialogue_ID"] += 300
    X = pipe[:-1].transform(df)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the fitted task's memory constrains this one
        pipe[-1].partial_fit_gem(X, y, epochs=1, new_task=True)
    assert "gem_violations" in pipe[-1].history_[-1]
    assert pipe.predict_proba(df).shape == (len(df), 2)


def test_grid_search_over_the_window():
    df, y = corpus(12)
    pipe = make_text_pipeline(1).set_params(multimodalemotionclassifier__max_epochs=2)
    grid = GridSearchCV(pipe, {"dialoguecontext__window": [0, 2]}, cv=GroupKFold(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DialogueLeakWarning)
        grid.fit(df, y, groups=df["Dialogue_ID"])
    assert set(grid.cv_results_["param_dialoguecontext__window"]) == {0, 2}
    assert clone(grid.best_estimator_)[0].window in (0, 2)
