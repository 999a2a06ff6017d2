"""The fine-tuned tier (minilm_ft): learns a separable toy task, is deterministic for a seed,
follows scikit-learn conventions, and early-stops on a slice of its own training texts only."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytest
from sklearn.base import clone

from synthbench import default_model_path
from synthbench.plugins import load_plugins
from synthbench.testing import check_classifier
from synthbench_classifiers import finetune
from synthbench_classifiers.finetune import FineTunedMiniLM, minilm_ft

SPORT = ["the striker scored a late goal", "our team won the football match",
         "the goalkeeper saved a penalty", "fans cheered at the stadium",
         "the coach praised the defenders", "a hat trick in the derby",
         "the referee showed a red card", "the league title race is tight",
         "the midfielder signed a new contract", "an away win on saturday",
         "the club sacked its manager", "extra time and then penalties"]
FOOD = ["simmer the tomato soup slowly", "bake the bread for forty minutes",
        "add garlic to the pasta sauce", "the pizza dough needs to rise",
        "season the roast chicken well", "whisk eggs and sugar together",
        "a bowl of spicy noodle soup", "chop onions for the curry",
        "fresh basil on the salad", "the cake needs more butter",
        "grill the fish with lemon", "stir the risotto until creamy"]
UNSEEN = (["the winger crossed the ball for a goal", "the team lost the cup final"],
          ["fry the mushrooms in butter", "a pot of vegetable soup with bread"])
TOY = dict(lr=5e-4, batch_size=8, max_epochs=4, patience=2, validation_fraction=0.25)


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """One torch thread: on the shared 2-core machine it is several times faster than two."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OMP_NUM_THREADS", "1")
        yield


def toy_train() -> tuple[list[str], list[str]]:
    return SPORT + FOOD, ["sport"] * len(SPORT) + ["food"] * len(FOOD)


class Recorded:
    """One toy fit with every token row the model saw in training and in validation."""

    def __init__(self) -> None:
        self.train_rows: list[tuple[int, ...]] = []
        self.validation_rows: list[tuple[int, ...]] = []
        self.model: FineTunedMiniLM | None = None


@pytest.fixture(scope="module")
def recorded(one_thread: None) -> Iterator[Recorded]:
    out = Recorded()
    real_pad, real_logits = finetune._pad, finetune._logits
    in_validation = [False]

    def pad(rows: Sequence[Sequence[int]], pad_id: int, device: Any) -> Any:
        target = out.validation_rows if in_validation[0] else out.train_rows
        target.extend(tuple(r) for r in rows)
        return real_pad(rows, pad_id, device)

    def logits(model: Any, encoded: Sequence[Sequence[int]], pad_id: int, device: Any) -> Any:
        in_validation[0] = True
        try:
            return real_logits(model, encoded, pad_id, device)
        finally:
            in_validation[0] = False

    texts, labels = toy_train()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(finetune, "_pad", pad)
        mp.setattr(finetune, "_logits", logits)
        out.model = FineTunedMiniLM(random_state=7, **TOY).fit(texts, labels)
    yield out


def token_rows(texts: Sequence[str]) -> list[tuple[int, ...]]:
    tokenizer = finetune._tokenizer(str(default_model_path()))
    return [tuple(r) for r in tokenizer(list(texts), truncation=True,
                                        max_length=finetune.MAX_LENGTH)["input_ids"]]


def test_learns_a_separable_toy_task(recorded: Recorded) -> None:
    model = recorded.model
    assert model is not None
    assert list(model.classes_) == ["food", "sport"]
    sport, food = UNSEEN
    assert list(model.predict(sport + food)) == ["sport"] * 2 + ["food"] * 2
    proba = model.predict_proba(sport + food)
    assert proba.shape == (4, 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert model.score(*toy_train()) == 1.0
    losses = [h["validation_loss"] for h in model.history_]
    assert model.best_epoch_ == 1 + int(np.argmin(losses))


def test_early_stopping_sees_only_a_slice_of_the_training_texts(recorded: Recorded) -> None:
    """Validation rows are exactly the held-out training texts; nothing else is ever fed in
    (a fit that looked at any other text, e.g. a test split, would fail here)."""
    model = recorded.model
    assert model is not None
    texts, labels = toy_train()
    held_out = set(model.validation_indices_.tolist())
    assert len(held_out) == 6 and {labels[i] for i in held_out} == {"sport", "food"}
    rows = token_rows(texts)
    validation = {rows[i] for i in held_out}
    fitted_on = {rows[i] for i in range(len(texts)) if i not in held_out}
    assert set(recorded.validation_rows) == validation
    assert set(recorded.train_rows) == fitted_on
    assert not set(token_rows(UNSEEN[0] + UNSEEN[1])) & (set(recorded.train_rows)
                                                         | set(recorded.validation_rows))


def test_same_seed_same_predictions_and_the_seed_matters(recorded: Recorded) -> None:
    texts, labels = toy_train()
    probe = UNSEEN[0] + UNSEEN[1] + ["a quiet afternoon"]
    again = clone(recorded.model).fit(texts, labels)
    assert recorded.model is not None
    assert np.array_equal(again.predict_proba(probe), recorded.model.predict_proba(probe))
    other = FineTunedMiniLM(random_state=8, **TOY).fit(texts, labels)
    assert not np.array_equal(other.predict_proba(probe), again.predict_proba(probe))


def test_sklearn_conventions_and_registration() -> None:
    model = minilm_ft(3)
    assert model.get_params()["random_state"] == 3 and model.get_params()["lr"] == 3e-5
    assert not hasattr(model, "model_")  # __init__ only stores parameters
    copy = clone(model.set_params(max_epochs=2))
    assert copy.get_params() == model.get_params()
    spec = load_plugins().classifiers.get("minilm_ft")
    assert spec.factory(5).get_params()["random_state"] == 5
    check_classifier(spec)  # the project's conformance check, with the default settings
    with pytest.raises(ValueError, match="at least 2 labels"):
        minilm_ft(0).fit(["a", "b"], ["x", "x"])


def test_too_few_texts_per_label_trains_without_a_validation_slice() -> None:
    model = FineTunedMiniLM(random_state=0, lr=5e-4, max_epochs=2, batch_size=4)
    model.fit(["goal scored", "soup simmered", "match won"], ["sport", "food", "sport"])
    assert len(model.validation_indices_) == 0 and model.epochs_run_ == 2
    assert all("validation_loss" not in h for h in model.history_)
