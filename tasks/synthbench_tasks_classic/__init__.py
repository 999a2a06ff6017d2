"""Five classic tasks beyond Li et al.'s ten: SST-2, TREC, CARER, Clickbait, SUBJ.

Li et al. did not rank these. Their declared subjectivity is synthbench's own provisional
placement on Li et al.'s scale, each next to the Li task it most resembles (stated per task),
and every result marks it provisional until it is measured.
"""

from __future__ import annotations

from collections.abc import Callable

from synthbench import HubSource, Label, Subjectivity, Task, hookimpl
from synthbench_tasks_li2023 import li_subjectivity


def placed_like(li_task: str, why: str) -> Subjectivity:
    """The score of the most similar Li et al. task, with the reason for the placement."""
    score = li_subjectivity(li_task).score
    return Subjectivity(score, f"synthbench provisional placement next to {li_task}: {why}", True)


TASKS = (
    Task(
        id="sst2", name="SST-2 sentence-level movie review sentiment",
        labels=(Label("positive", "positive"), Label("negative", "negative")),
        text_type="sentence from a movie review",
        context="Imagine you are a movie critic writing reviews.", word_limit=30,
        subjectivity=placed_like("imdb", "binary movie-review sentiment"),
        hub=HubSource("gpt3mix/sst2"),
        citation="Socher et al. (2013), EMNLP; splits as in Kim (2014).",
    ),
    Task(
        id="trec", name="TREC question classification (6 coarse classes)",
        labels=(
            Label("abbreviation", "asking for an abbreviation or what it stands for"),
            Label("description", "asking for a description, definition, manner or reason"),
            Label("entity", "asking for an entity such as an animal, colour, food or product"),
            Label("human", "asking for a person, group or organisation"),
            Label("location", "asking for a place such as a city, country or mountain"),
            Label("numeric", "asking for a number, date, distance or price"),
        ),
        text_type="question", context="Imagine you are a curious person asking questions.",
        word_limit=20,
        subjectivity=placed_like("ag_news", "the answer type is stated by the question itself"),
        hub=HubSource("CogComp/trec", label_field="coarse_label", label_names={
            0: "abbreviation", 1: "entity", 2: "description", 3: "human", 4: "location",
            5: "numeric"}),
        citation="Li & Roth (2002). Learning Question Classifiers. COLING 2002.",
    ),
    Task(
        id="carer_emotion", name="CARER tweet emotion (6 classes)",
        labels=(
            Label("sadness", "written by someone who feels sad, hurt or down"),
            Label("joy", "written by someone who feels happy or pleased"),
            Label("love", "written by someone who feels love, affection or tenderness"),
            Label("anger", "written by someone who feels angry or irritated"),
            Label("fear", "written by someone who feels afraid, anxious or nervous"),
            Label("surprise", "written by someone who feels surprised or amazed"),
        ),
        text_type="tweet", context="Imagine you are a Twitter user posting about your day.",
        word_limit=30,
        subjectivity=placed_like("tweet_emotion", "emotion of a tweet's writer"),
        hub=HubSource("dair-ai/emotion", "split"),
        citation="Saravia et al. (2018). CARER: Contextualized Affect Representations for "
                 "Emotion Recognition. EMNLP 2018.",
    ),
    Task(
        id="clickbait", name="Clickbait headline detection",
        labels=(
            Label("clickbait", "written to lure clicks, like BuzzFeed or Upworthy headlines"),
            Label("not_clickbait", "a conventional news headline, like in The New York Times"),
        ),
        text_type="headline", context="Imagine you are a headline writer for a website.",
        word_limit=20,
        subjectivity=placed_like("sms_spam", "luring intent is marked by recognisable style"),
        hub=None,
        citation="Chakraborty et al. (2016). Stop Clickbait. ASONAM 2016.",
    ),
    Task(
        id="subj", name="Subjectivity detection (SUBJ, rotten_imdb)",
        labels=(
            Label("subjective", "subjective and opinionated, like a snippet from a movie review"),
            Label("objective", "objective and factual, like a sentence from a plot summary"),
        ),
        text_type="sentence about a movie",
        context="Imagine you are writing about movies.", word_limit=30,
        subjectivity=placed_like("financial_phrasebank", "opinion vs fact in domain prose"),
        hub=HubSource("SetFit/subj", label_field="label_text"),
        citation="Pang & Lee (2004). A Sentimental Education. ACL 2004.",
    ),
)


@hookimpl
def synthbench_register_tasks(register: Callable[[Task], None]) -> None:
    for task in TASKS:
        register(task)
