"""Whether a sentence answers a question: one calibrated score instead of a chain of
filters.

Each evidence sentence has two kinds of signal. Match features say how much of the
question it covers (term coverage from `EvidenceScorer`, character-bigram coverage
with its headings) and how close its passage is to the question in meaning (the
cosine of their vectors, `Hit.similarity`). Constraints say what the question
demands of its evidence (the place and scope it names, its years, the unit or figure it asks for, a 文号 or a
date, quoted terms): a sentence that breaks one loses a penalty rather than being
thrown away, since a rule that is right for most questions is wrong for some
(`补助额度的多少` is answered by 50%, not by an amount in 元).

The weights, penalties and threshold are data (resources/answerability.json),
fitted by `eval/calibrate.py` on the development half of NCP and its
leave-documents-out twin only, never on the test half.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Mapping, Sequence

from policyqa.text.dates import has_date
from policyqa.text.docnums import doc_numbers
from policyqa.text.places import place_stem, province_of
from policyqa.errors import ConfigError
from policyqa.types import Hit
from rag.evidence import (
    Scored,
    about_place,
    asks_date,
    asks_doc_number,
    expected_units,
    in_scope,
    mandatory_terms,
    first_absent,
    names_place,
    missing_year,
    needs_figure,
    wider_scope,
    question_places,
    question_scope,
)

# The constraints a sentence can break, by name (the keys of `penalties`).
# `place` is a sentence not about a place the question names; `place_broader`, one from
# a broader document (the province's) that names the place only elsewhere; `place_other`, that its
# document is about another place; `place_absent`, that no retrieved passage names the
# place at all (the strongest sign the index lacks the answer).
# `scope_wider`: the sentence speaks for a wider area (全省, 全国) than the place asked about.
VIOLATIONS = ("place", "place_broader", "place_other", "place_absent", "scope", "scope_wider",
              "year", "unit", "figure", "docno", "date", "term")


@dataclass(frozen=True)
class Constraints:
    """What a question (or one side of a comparison) demands of its evidence."""

    places: tuple[str, ...] = ()
    scope: str = ""
    units: frozenset[str] = frozenset()
    figure: bool = False
    docno: bool = False
    date: bool = False
    required: tuple[str, ...] = ()
    absent: bool = False  # a place asked about that no retrieved passage names at all

    @classmethod
    def of(cls, question: str, hits: Sequence[Hit], place: str = "", scope: str = "") -> "Constraints":
        places = (place,) if place else tuple(question_places(question))
        return cls(
            places=places,
            absent=bool(first_absent(places, hits)),
            scope=scope or ("" if places else question_scope(question)),
            units=frozenset(expected_units(question)),
            figure=needs_figure(question),
            docno=asks_doc_number(question),
            date=asks_date(question),
            required=tuple(t.lower() for t in mandatory_terms(question)),
        )

    def broken(self, question: str, s: Scored, hits: Sequence[Hit]) -> frozenset[str]:
        """The names of the constraints sentence `s` breaks."""
        chunk, text = hits[s.sentence.hit_index].chunk, s.sentence.text
        out = set()
        if missing_year(question, chunk):
            out.add("year")
        before = chunk.text[: s.sentence.start]
        if not all(about_place(p, chunk, text, before) for p in self.places):
            out.add("place")
            if chunk.region and not any(_within(p, chunk.region) for p in self.places):
                out.add("place_other")
            if self.absent:
                out.add("place_absent")
        elif not all(names_place(p, chunk, text, before) for p in self.places):
            out.add("place_broader")  # only a broader document that mentions the place somewhere
        if not in_scope(self.scope, chunk, text):
            out.add("scope")
        if self.places and wider_scope(text, self.places):
            out.add("scope_wider")
        if self.units and not (self.units & s.units):
            out.add("unit")
        if self.figure and not s.has_figure:
            out.add("figure")
        if self.docno and not doc_numbers(text):
            out.add("docno")
        if self.date and not has_date(text):
            out.add("date")
        context = f"{chunk.title} {chunk.heading_path} {text}".lower()
        if not all(t in context for t in self.required):
            out.add("term")
        return frozenset(out)


def _within(place: str, region: str) -> bool:
    """`region` is the place, or the province it lies in (a provincial document may
    speak for its cities)."""
    return place_stem(place) in region or province_of().get(place) == region


@dataclass(frozen=True)
class Calibration:
    """score = terms·w_terms + bigrams·w_bigrams + (similarity − similarity_center)·w_similarity
    − Σ penalties[broken]; a sentence answers when its score reaches `threshold`.

    `similarity` is the cosine of the question's and the sentence's passage's vectors
    (the embedding model is multilingual and knows paraphrases the word features miss);
    a passage without a vector adds nothing, as if it stood at the centre. Cosines mean
    something only for the embedding model they were fitted on (`similarity_model`):
    an index made with another model is scored by `lexical`, the fit made without
    them (`for_model`)."""

    w_terms: float = 1.0
    w_bigrams: float = 0.0
    penalties: Mapping[str, float] = field(default_factory=lambda: {v: 9.0 for v in VIOLATIONS})
    threshold: float = 0.5
    fitted_on: str = ""  # what the numbers were fitted on, for the eval report
    w_similarity: float = 0.0
    similarity_center: float = 0.0
    similarity_model: str = ""
    lexical: "Calibration | None" = None

    def for_model(self, model: str) -> "Calibration":
        """The calibration for an index whose vectors `model` made."""
        if self.w_similarity == 0.0 or model == self.similarity_model:
            return self
        return self.lexical or replace(self, w_similarity=0.0)

    def score(self, s: Scored, broken: frozenset[str], similarity: float | None = None) -> float:
        semantic = 0.0 if similarity is None else self.w_similarity * (similarity - self.similarity_center)
        return (self.w_terms * s.score + self.w_bigrams * s.coverage + semantic
                - sum(self.penalties.get(v, 0.0) for v in broken))

    @classmethod
    def from_mapping(cls, data: Mapping[str, object], where: str = "calibration") -> "Calibration":
        try:
            penalties = {str(k): float(v) for k, v in dict(data["penalties"]).items()}  # type: ignore[call-overload]
            unknown = set(penalties) - set(VIOLATIONS)
            if unknown:
                raise ConfigError(f"{where}: unknown constraint(s) {sorted(unknown)}; known: {', '.join(VIOLATIONS)}")
            return cls(float(data["w_terms"]), float(data["w_bigrams"]), penalties,  # type: ignore[arg-type]
                       float(data["threshold"]), str(data.get("fitted_on", "")),
                       float(data.get("w_similarity", 0.0)), float(data.get("similarity_center", 0.0)),  # type: ignore[arg-type]
                       str(data.get("similarity_model", "")),
                       cls.from_mapping(data["lexical"], f"{where} (lexical)") if data.get("lexical") else None)  # type: ignore[arg-type]
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: needs w_terms, w_bigrams, penalties and threshold ({exc})") from exc

    def to_mapping(self) -> dict[str, object]:
        return {"w_terms": self.w_terms, "w_bigrams": self.w_bigrams, "w_similarity": self.w_similarity,
                "similarity_center": self.similarity_center, "similarity_model": self.similarity_model,
                "penalties": dict(self.penalties),
                "threshold": self.threshold, "fitted_on": self.fitted_on,
                **({"lexical": self.lexical.to_mapping()} if self.lexical else {})}


def answerability_resource() -> dict[str, object]:
    """The committed calibration as written by eval/calibrate.py, its curve included."""
    text = resources.files("rag").joinpath("resources", "answerability.json").read_text(encoding="utf-8")
    return dict(json.loads(text))


def load_calibration() -> Calibration:
    """The committed calibration (rag/resources/answerability.json)."""
    return Calibration.from_mapping(answerability_resource(), "rag/resources/answerability.json")
