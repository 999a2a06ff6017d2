"""The ten tasks of Li, Zhu, Lu & Yin (EMNLP 2023), in their order from objective to subjective.

The declared subjectivity is the position in that order scaled to [0, 1]. It is the
provisional ranking given in synthbench's METHOD.md, not a transcription of the paper's
crowd-sourced table, and every result marks it provisional.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from synthbench import HubSource, Label, Subjectivity, Task, hookimpl

LI_ORDER = (
    "ag_news", "imdb", "sms_spam", "financial_phrasebank", "reddit_emotion",
    "relation_classification", "tweet_irony", "tweet_emotion", "sarcasm_news", "humor",
)
LI_SOURCE = (
    "Li et al. 2023 task order (AG News most objective ... Humor most subjective) as given in "
    "synthbench METHOD.md; provisional ranking, not the paper's measured scores"
)
LI_CITATION = (
    "Li, Zhu, Lu & Yin (2023). Synthetic Data Generation with Large Language Models for Text "
    "Classification: Potential and Limitations. EMNLP 2023."
)


def li_subjectivity(task_id: str) -> Subjectivity:
    """Rank in Li et al.'s order scaled to [0, 1] (0 = AG News, 1 = Humor)."""
    return Subjectivity(LI_ORDER.index(task_id) / (len(LI_ORDER) - 1), LI_SOURCE, True)


# GoEmotions' 27 emotions + neutral grouped as in the authors' Ekman mapping.
EKMAN_GROUPS = {
    "anger": ("anger", "annoyance", "disapproval"),
    "disgust": ("disgust",),
    "fear": ("fear", "nervousness"),
    "joy": ("joy", "amusement", "approval", "excitement", "gratitude", "love", "optimism",
            "relief", "pride", "admiration", "desire", "caring"),
    "sadness": ("sadness", "disappointment", "embarrassment", "grief", "remorse"),
    "surprise": ("surprise", "realization", "confusion", "curiosity"),
    "neutral": ("neutral",),
}
FEWREL_RELATIONS = {"P17": "country", "P118": "league", "P58": "screenwriter", "P974": "tributary"}


def go_emotions_to_ekman(dataset: Any) -> Any:
    """Keep comments whose emotions fall in exactly one Ekman group; label = that group."""
    names = dataset.features["labels"].feature.names
    group_of = {e: g for g, members in EKMAN_GROUPS.items() for e in members}

    def groups(row: dict[str, Any]) -> set[str]:
        return {group_of[names[i]] for i in row["labels"]}

    single = dataset.filter(lambda row: len(groups(row)) == 1)
    return single.map(lambda row: {"label": groups(row).pop()}, remove_columns=["labels"])


def few_rel_four_relations(dataset: Any) -> Any:
    """Keep FewRel's four relations of Li et al.; text = the tokens joined by spaces."""
    kept = dataset.filter(lambda row: row["relation"] in FEWREL_RELATIONS)
    return kept.map(lambda row: {
        "text": " ".join(row["tokens"]),
        "label": FEWREL_RELATIONS[row["relation"]],
        "head": row["head"]["text"],
        "tail": row["tail"]["text"],
    })


def _task(
    task_id: str, name: str, labels: dict[str, str], text_type: str, context: str,
    word_limit: int, hub: HubSource | None, agreement_field: str | None = None,
) -> Task:
    return Task(
        id=task_id, name=name,
        labels=tuple(Label(n, d) for n, d in labels.items()),
        text_type=text_type, context=context, word_limit=word_limit,
        subjectivity=li_subjectivity(task_id), hub=hub, citation=LI_CITATION,
        agreement_field=agreement_field,
    )


TASKS = (
    _task("ag_news", "AG News topic classification",
          {"World": "about world news: politics, conflicts or international affairs",
           "Sports": "about sports", "Business": "about business, the economy or markets",
           "Sci/Tech": "about science or technology"},
          "news article", "Imagine you are a journalist writing news articles.", 50,
          HubSource("fancyzhx/ag_news")),
    _task("imdb", "IMDB movie review sentiment",
          {"positive": "positive", "negative": "negative"},
          "movie review", "Imagine you are a movie critic writing reviews on IMDB.", 80,
          HubSource("stanfordnlp/imdb", "plain_text", label_names={0: "negative", 1: "positive"})),
    _task("sms_spam", "SMS spam detection",
          {"spam": "an unsolicited commercial or fraudulent message (spam)",
           "ham": "a legitimate personal message (not spam)"},
          "SMS message", "Imagine you are a person sending text messages from a phone.", 30,
          HubSource("ucirvine/sms_spam", "plain_text", {"train": "train"}, text_field="sms",
                    label_names={0: "ham", 1: "spam"}, test_fraction=0.2)),
    _task("financial_phrasebank", "Financial PhraseBank sentiment",
          {"positive": "likely to have a positive influence on the stock price",
           "negative": "likely to have a negative influence on the stock price",
           "neutral": "without a clear positive or negative influence on the stock price"},
          "sentence from financial news", "Imagine you are a financial journalist.", 30,
          HubSource("takala/financial_phrasebank", "sentences_50agree", {"train": "train"},
                    text_field="sentence", test_fraction=0.2),
          agreement_field="agreement"),
    _task("reddit_emotion", "Reddit comment emotion (GoEmotions, Ekman groups + neutral)",
          {"anger": "expressing anger, annoyance or disapproval",
           "disgust": "expressing disgust", "fear": "expressing fear or nervousness",
           "joy": "expressing joy, amusement, gratitude, love or another positive emotion",
           "sadness": "expressing sadness, disappointment, embarrassment or grief",
           "surprise": "expressing surprise, realization, confusion or curiosity",
           "neutral": "expressing no particular emotion"},
          "Reddit comment", "Imagine you are a Reddit user commenting on a post.", 30,
          HubSource("google-research-datasets/go_emotions", "simplified",
                    prepare=go_emotions_to_ekman)),
    _task("relation_classification", "Relation classification (FewRel: 4 relations)",
          {"country": "stating that a place, organisation or event is located in or belongs to a "
                      "country",
           "league": "stating that a team or player plays in a sports league",
           "screenwriter": "stating that a person wrote the screenplay of a film or show",
           "tributary": "stating that one river is a tributary of another river"},
          "sentence from Wikipedia", "Imagine you are writing a Wikipedia article.", 40,
          HubSource("thunlp/few_rel", "default", {"train": "train_wiki"}, test_fraction=0.2,
                    prepare=few_rel_four_relations)),
    _task("tweet_irony", "Tweet irony detection (SemEval-2018 Task 3A)",
          {"irony": "ironic (it says the opposite of what is meant)",
           "non_irony": "meant literally, without irony"},
          "tweet", "Imagine you are a Twitter user posting a tweet.", 30,
          HubSource("cardiffnlp/tweet_eval", "irony")),
    _task("tweet_emotion", "Tweet emotion recognition (TweetEval emotion)",
          {"anger": "expressing anger or annoyance", "joy": "expressing joy or happiness",
           "optimism": "expressing optimism or hope", "sadness": "expressing sadness"},
          "tweet", "Imagine you are a Twitter user posting a tweet.", 30,
          HubSource("cardiffnlp/tweet_eval", "emotion")),
    _task("sarcasm_news", "Sarcasm detection in news headlines",
          {"sarcastic": "sarcastic and satirical, like a headline from The Onion",
           "not_sarcastic": "a real, non-sarcastic news headline"},
          "news headline", "Imagine you are a headline writer for a news website.", 20,
          HubSource("liamvbetts/sarcastic-news-headlines-1", None, {"train": "train"},
                    text_field="headline", label_field="is_sarcastic",
                    label_names={1: "sarcastic", 0: "not_sarcastic"}, test_fraction=0.2)),
    _task("humor", "Humor detection in short texts (ColBERT)",
          {"humor": "humorous: a joke or a pun",
           "not_humor": "not humorous, like a plain news headline"},
          "short text", "Imagine you are writing short texts for social media.", 25,
          HubSource("CreativeLang/ColBERT_Humor_Detection", None, {"train": "train"},
                    label_field="humor", label_names={True: "humor", False: "not_humor"},
                    test_fraction=0.2)),
)


@hookimpl
def synthbench_register_tasks(register: Callable[[Task], None]) -> None:
    for task in TASKS:
        register(task)
