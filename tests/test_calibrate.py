"""Fitting the answer-or-refuse score on development features."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from eval.calibrate import as_arrays, best_threshold, curve, fit
from rag.answerability import VIOLATIONS, Calibration

PLACE = [v == "place" for v in VIOLATIONS]
NONE = [False] * len(VIOLATIONS)


def rows() -> list[dict]:
    """Answerable questions whose gold sentence matches well, and unanswerable ones
    whose best sentence matches as well but is about another place."""
    out = []
    for i in range(20):
        m = 0.6 + 0.01 * i
        out.append({"id": f"a{i}", "set": "dev", "answerable": True,
                    "sentences": [[m, m, NONE, True], [m - 0.3, m - 0.3, NONE, False]]})
        out.append({"id": f"u{i}", "set": "lodo", "answerable": False, "sentences": [[m, m, PLACE, False]]})
    return out


def test_the_fit_finds_the_constraint_that_separates() -> None:
    f = as_arrays(rows())
    start = Calibration(w_terms=1.0, w_bigrams=1.0, penalties={v: 0.0 for v in VIOLATIONS}, threshold=0.0)
    _, before = best_threshold(f, start, cap=0.05)
    assert before["answered_gold"] + before["refused_unanswerable"] < 1.6  # words alone cannot tell them apart
    cal = fit(f, start, cap=0.05)
    _, after = best_threshold(f, cal, cap=0.05)
    assert cal.penalties["place"] > 0
    assert after["answered_gold"] == 1.0 and after["refused_unanswerable"] == 1.0 and after["wrong_refusals"] == 0.0


def test_the_curve_trades_refusals_for_answers() -> None:
    f = as_arrays(rows())
    cal = Calibration(w_terms=1.0, w_bigrams=1.0, penalties={v: 0.0 for v in VIOLATIONS}, threshold=0.0)
    points = curve(f, cal, np.linspace(0.0, 2.0, 21))
    refused = [p["refused_unanswerable"] for p in points]
    wrong = [p["wrong_refusals"] for p in points]
    assert refused == sorted(refused) and wrong == sorted(wrong)  # a higher bar refuses more of both
    assert refused[0] == 0.0 and refused[-1] == 1.0


def test_the_threshold_respects_the_wrong_refusal_cap() -> None:
    f = as_arrays(rows())
    cal = replace(Calibration(), w_bigrams=1.0, penalties={v: 0.0 for v in VIOLATIONS})
    _, point = best_threshold(f, cal, cap=0.0)
    assert point["wrong_refusals"] == 0.0


def test_every_unanswerable_sample_question_is_refused_even_at_a_cost() -> None:
    """The sample set's unanswerable questions must all be refused (the product's
    promise): a threshold that answers one loses to any that refuses them all, even
    when the summed shares would rather answer it."""
    out = [{"id": f"{name}{i}", "set": name, "answerable": True, "sentences": [[0.5 + 0.02 * i, 0.0, NONE, True]]}
           for name in ("dev", "dev2") for i in range(40)]
    out.append({"id": "s-u", "set": "sample", "answerable": False, "sentences": [[1.0, 0.0, NONE, False]]})
    f = as_arrays(out)
    cal = Calibration(w_terms=1.0, w_bigrams=0.0, penalties={v: 0.0 for v in VIOLATIONS})
    tau, point = best_threshold(f, cal, cap=0.7)
    # refusing it costs 26 of 40 answers in each dev set (1.3 of share) for 1.0 of share
    assert tau > 1.0 and point["all_refused"]


def test_the_fit_weighs_similarity_when_only_the_passage_vectors_tell_the_questions_apart() -> None:
    """Left-out questions find passages as rich in the question's words as the gold
    one but about something else: only their lower similarity to the question
    separates them; rows saved before similarity existed read as having none."""
    out = []
    for i in range(20):
        m = 0.6 + 0.01 * i
        out.append({"id": f"a{i}", "set": "dev", "answerable": True,
                    "sentences": [[m, m, NONE, True, 0.92], [m - 0.3, m - 0.3, NONE, False, 0.90]]})
        out.append({"id": f"u{i}", "set": "lodo", "answerable": False, "sentences": [[m, m, NONE, False, 0.80]]})
    out.append({"id": "old", "set": "dev", "answerable": True, "sentences": [[0.9, 0.9, NONE, True]]})
    f = as_arrays(out)
    assert np.isnan(f.similarity[-1])
    start = Calibration(w_terms=1.0, w_bigrams=1.0, penalties={v: 0.0 for v in VIOLATIONS}, similarity_center=0.88)
    cal = fit(f, start, cap=0.05)
    _, after = best_threshold(f, cal, cap=0.05)
    assert cal.w_similarity > 0
    assert after["refused_unanswerable"] == 1.0 and after["wrong_refusals"] == 0.0
