"""MELD and EmoryNLP transcript readers: tables with their dialogue columns named."""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skmemo.datasets import (
    EMORYNLP_EMOTIONS,
    MELD_EMOTIONS,
    dialogue_columns,
    load_emorynlp_transcripts,
    load_meld_transcripts,
)
from skmemo.exceptions import DataFormatError, DialogueLeakWarning
from skmemo.feature_extraction import DialogueContext

MELD = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "meld-text"


def write_meld(folder, splits=("train", "dev", "test")):
    rows = pd.DataFrame({
        "Sr No.": [1, 2, 3, 4],
        "Utterance": ["You slept with her?!", "Okay\u2019.", "Want pizza?", "Okay."],
        "Speaker": ["Ross", "Joey", "Rachel", "Monica"],
        "Emotion": ["surprise", "neutral", "joy", "neutral"],
        "Sentiment": ["negative", "neutral", "positive", "neutral"],
        "Dialogue_ID": [0, 0, 1, 1], "Utterance_ID": [0, 1, 0, 1],
    })
    for split in splits:
        rows.to_csv(folder / f"{split}_sent_emo.csv", index=False)
    return rows


def test_meld_reader_names_the_columns(tmp_path):
    write_meld(tmp_path)
    meld = load_meld_transcripts(tmp_path, splits="train")
    assert list(meld) == ["train", "emotions", "dialogue", "order", "speaker", "text"]
    assert (meld.dialogue, meld.order, meld.speaker, meld.text) == (
        "Dialogue", "Utterance_ID", "Speaker", "Utterance")
    assert meld.emotions == list(MELD_EMOTIONS)
    train = meld.train
    assert train.frame["Utterance"][1] == "Okay'."  # curly apostrophe normalised
    np.testing.assert_array_equal(train.target.argmax(1), [2, 0, 1, 0])
    np.testing.assert_array_equal(train.groups, ["train/0", "train/0", "train/1", "train/1"])
    ctx = DialogueContext(meld.text, dialogue=meld.dialogue, order=meld.order,
                          speaker=meld.speaker, window=1)
    assert ctx.fit_transform(train.frame)["Utterance"][3] == \
        "Rachel: Want pizza? [SEP] Monica: Okay."
    assert dialogue_columns(train.frame) == {"dialogue": "Dialogue_ID",
                                             "order": "Utterance_ID",
                                             "speaker": "Speaker", "text": "Utterance"}


def test_meld_reader_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="MELD folder"):
        load_meld_transcripts(tmp_path / "absent")
    write_meld(tmp_path, splits=("train",))
    with pytest.raises(FileNotFoundError, match="MELD dev file"):
        load_meld_transcripts(tmp_path)
    with pytest.raises(ValueError, match=r"splits must be among \['train', 'dev', 'test'\]"):
        load_meld_transcripts(tmp_path, splits=["valid"])
    rows = write_meld(tmp_path, splits=())
    rows.assign(Emotion=["surprise", "happy", "joy", "neutral"]).to_csv(
        tmp_path / "train_sent_emo.csv", index=False)
    with pytest.raises(DataFormatError, match=r"holds \['happy'\]; expected one of"):
        load_meld_transcripts(tmp_path, splits="train")
    rows.drop(columns="Dialogue_ID").to_csv(tmp_path / "train_sent_emo.csv", index=False)
    with pytest.raises(DataFormatError, match=r"no column\(s\) \['Dialogue_ID'\]"):
        load_meld_transcripts(tmp_path, splits="train")


def test_emorynlp_reader_makes_dialogue_ids_unique(tmp_path):
    rows = pd.DataFrame({
        "Utterance": ["Hi.", "Hey.", "Bye."], "Speaker": ["['Ross Geller']"] * 3,
        "Emotion": ["Neutral", "Joyful", "Sad"], "Scene_ID": [1, 1, 1],
        "Utterance_ID": [0, 1, 0], "Season": [1, 1, 1], "Episode": [1, 1, 2],
    })
    with pytest.raises(DataFormatError, match="Scene_ID counts scenes within an episode"):
        dialogue_columns(rows)
    for split in ("train", "dev", "test"):
        rows.to_csv(tmp_path / f"emorynlp_{split}_final.csv", index=False)
    data = load_emorynlp_transcripts(tmp_path, splits="test")
    assert data.emotions == list(EMORYNLP_EMOTIONS) and data.dialogue == "Dialogue_ID"
    assert data.test.frame["Dialogue_ID"].tolist() == ["s1e1c1", "s1e1c1", "s1e2c1"]
    out = DialogueContext(window=None).fit_transform(data.test.frame)["Utterance"]
    assert out.tolist() == ["Hi.", "Hi. [SEP] Hey.", "Bye."]  # another episode's scene 1


def test_unknown_layout():
    with pytest.raises(DataFormatError, match="matches no known conversation layout"):
        dialogue_columns(pd.DataFrame(columns=["text", "label"]))


@pytest.mark.skipif(not MELD.is_dir(), reason="MELD transcripts not available")
def test_real_meld():
    meld = load_meld_transcripts(MELD, splits=("train", "test"))
    assert meld.train.target.shape == (9989, 7) and meld.test.target.shape == (2610, 7)
    assert len(np.unique(meld.test.groups)) == 280
    assert (meld.train.target.sum(1) == 1).all()
    rows = DialogueContext(window=None).context_rows(meld.test.frame)
    first = meld.test.frame["Utterance_ID"].to_numpy() == 0
    assert all(len(r) == 0 for r, f in zip(rows, first) if f)
    assert not set(meld.train.groups) & set(meld.test.groups)  # ids unique across splits
    assert set(meld.train.frame["Dialogue_ID"]) & set(meld.test.frame["Dialogue_ID"])


def test_meld_train_then_test_does_not_warn(tmp_path):
    write_meld(tmp_path)
    meld = load_meld_transcripts(tmp_path)
    ctx = DialogueContext(dialogue=meld.dialogue).fit(meld.train.frame)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ctx.transform(meld.test.frame)  # same Dialogue_ID numbers, other scenes
    with pytest.warns(DialogueLeakWarning, match="restarts in each split"):
        DialogueContext().fit(meld.train.frame).transform(meld.test.frame)
