"""Post texts from templates x slots. Every choice reads one random integer from a row `r` drawn by the caller,
so a post's text depends only on its own random row (and the world stays identical however it is consumed).

Row layout (16 integers in [0, 2**30)): 0 template, 1 thing, 2 act, 3 adjective, 4 exclamation, 5 time of day,
6 punctuation, 7 opener, 8 topic sentence, 9 hashtag, 10 emoji, 11 mention, 12 link, 13 personal data,
14 reply, 15 sub-kind. A choice is `seq[r % len(seq)]`; a gate is `r < share * 2**30`, and the same number,
once through the gate, still picks uniformly. Everyday posts index inline: they are the hot path.
"""

from __future__ import annotations

from townsquare.world import vocab_en
from townsquare.world.config import WorldConfig
from townsquare.world.vocab import SENTIMENTS, TOPICS, VOCAB

ROW = 16
ONE = 1 << 30  # random integers are drawn in [0, ONE)


def gate(share: float) -> int:
    return int(share * ONE)


OPENER, TOPIC_LINE, HASHTAG, EMOJI, LINK, REPLY_EMOJI, CRISIS_TAG, CRISIS_EMOJI = (
    gate(x) for x in (0.15, 0.35, 0.35, 0.3, 0.04, 0.25, 0.5, 0.3))


_SLOT_NUMBERS = {"thing": 0, "act": 1, "pos": 2, "neg": 2, "pex": 3, "nex": 3, "dp": 4, "p": 5}


def _positional(template: str) -> str:
    """"{thing} is {pos}{p}" -> "{0} is {2}{5}": positional `format` skips building a dict per post."""
    for name, number in _SLOT_NUMBERS.items():
        template = template.replace("{" + name + "}", "{" + str(number) + "}")
    return template


def _subst(value, names: dict[str, str]):
    """Fill the brand's names into templates ahead of time (they never change within a world)."""
    if isinstance(value, dict):
        return {k: _subst(v, names) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_subst(v, names) for v in value)
    for key, name in names.items():
        value = value.replace("{" + key + "}", name)
    return value


class _Lang:
    """One language's vocabulary, flattened into tuples indexed by topic / sentiment number."""

    def __init__(self, lang: int, cfg: WorldConfig):
        v = VOCAB[lang]
        self.en = lang == 0
        self.sep = " " if self.en else ""
        names = {"brand": cfg.brand, "product": cfg.product_en if self.en else cfg.product_zh,
                 "support": f"{cfg.brand}Support"}
        self.topics = [v.TOPICS[t] for t in TOPICS]
        self.topic_lines = [tuple(v.TOPICS[t][s] for s in SENTIMENTS) for t in TOPICS]
        self.templates = tuple(v.TEMPLATES[s] for s in SENTIMENTS)
        self.replies = tuple(v.REPLIES[s] for s in SENTIMENTS)
        self.openers = tuple(v.OPENERS[s] for s in SENTIMENTS)
        self.emoji = tuple(v.EMOJI[s] for s in SENTIMENTS)
        sl = v.SLOTS
        self.pos, self.neg, self.pex, self.nex, self.dp, self.p = (
            sl["pos"], sl["neg"], sl["pex"], sl["nex"], sl["dp"], sl["p"])
        # Everything an everyday post on topic t with sentiment s draws from, in one tuple: kits[t][s].
        adjectives, exclamations = (self.pos, self.pos, self.neg), (self.pex, self.pex, self.nex)
        self.kits = [
            [
                (tuple(_positional(x) for x in v.TEMPLATES[s]), v.TOPICS[t]["things"], v.TOPICS[t]["acts"],
                 adjectives[i], exclamations[i], self.dp, self.p, v.OPENERS[s], v.TOPICS[t][s], v.EMOJI[s],
                 v.TOPICS[t]["tags"])
                for i, s in enumerate(SENTIMENTS)
            ]
            for t in TOPICS
        ]
        self.brand = _subst(v.BRAND, names)
        self.brand_lines = tuple(self.brand[s] for s in SENTIMENTS)
        self.brand_tag = f"#{cfg.brand}" if self.en else f"#{names['product']}#"
        self.crisis = _subst(v.CRISIS, names)
        self.final = tuple(v.FINAL[s] for s in SENTIMENTS)
        self.final_tag = "#CupFinal" if self.en else "#杯赛决赛#"
        self.spam = v.SPAM
        self.pii = v.PII
        self.phone = v.PHONE


class Composer:
    """Writes every kind of post of the world in English (lang 0) or Chinese (lang 1)."""

    def __init__(self, cfg: WorldConfig):
        self.langs = (_Lang(0, cfg), _Lang(1, cfg))
        self.pii_gate = gate(cfg.pii_share)

    # ---- everyday posts ------------------------------------------------------------------------
    def post(self, lang: int, topic: int, s: int, r: list[int], mention: str | None) -> tuple[str, bool]:
        """An original post on `topic` with sentiment `s` (0 pos, 1 neu, 2 neg); returns (text, has PII).

        The hottest path of the generator: one tuple unpack, positional `format`, inline choices."""
        L = self.langs[lang]
        templates, things, acts, adjectives, exclamations, dayparts, marks, openers, lines, emoji, tags = (
            L.kits[topic][s])
        text = templates[r[0] % len(templates)].format(
            things[r[1] % len(things)], acts[r[2] % len(acts)], adjectives[r[3] % len(adjectives)],
            exclamations[r[4] % len(exclamations)], dayparts[r[5] % len(dayparts)], marks[r[6] % len(marks)],
        )
        sep = L.sep
        if sep and text[0].islower():  # English: capitalise the first word
            text = text[0].upper() + text[1:]
        if r[7] < OPENER:
            text = openers[r[7] % len(openers)] + sep + text
        if r[8] < TOPIC_LINE:  # a topic-specific sentence: gives each topic its own vocabulary
            text += sep + lines[r[8] % len(lines)]
        if r[10] < EMOJI:
            text += sep + emoji[r[10] % len(emoji)]
        if r[9] < HASHTAG:  # Weibo puts #topic# first; X/Mastodon append #tags
            text = text + " " + tags[r[9] % len(tags)] if sep else tags[r[9] % len(tags)] + text
        if mention:
            text += f" cc @{mention}" if sep else f" @{mention}"
        if r[12] < LINK:
            text += f" https://example.com/{TOPICS[topic]}/{r[12]:06x}"
        if r[13] < self.pii_gate:
            return text + " " + self._pii(L, r[13]), True  # a space: never glue it to a link or handle
        return text, False

    def reply(self, lang: int, topic: int, s: int, handle: str, r: list[int]) -> str:
        L = self.langs[lang]
        things, tpl = L.topics[topic]["things"], L.replies[s]
        text = tpl[r[0] % len(tpl)].format(
            h=handle, thing=things[r[1] % len(things)], pos=L.pos[r[3] % len(L.pos)], neg=L.neg[r[3] % len(L.neg)],
            pex=L.pex[r[4] % len(L.pex)], nex=L.nex[r[4] % len(L.nex)], p=L.p[r[6] % len(L.p)],
        )
        if r[10] < REPLY_EMOJI:
            emoji = L.emoji[s]
            text += L.sep + emoji[r[10] % len(emoji)]
        return text

    # ---- the brand -----------------------------------------------------------------------------
    def brand(self, lang: int, s: int, r: list[int]) -> str:
        """Everyday talk about the brand: praise, questions to its support account, small complaints."""
        L = self.langs[lang]
        b, tpl = L.brand, L.brand_lines[s]
        text = tpl[r[0] % len(tpl)].format(
            feature=_at(b["feature"], r[1]), task=_at(b["task"], r[2]), issue=_at(b["issue"], r[2]),
            pos=_at(L.pos, r[3]), neg=_at(L.neg, r[3]), pex=_at(L.pex, r[4]), nex=_at(L.nex, r[4]),
            p=_at(L.p, r[6]),
        )
        return self._decorate(L, text, (L.brand_tag,), s, r, None)

    def official(self, lang: int, r: list[int]) -> str:
        b = self.langs[lang].brand
        return _at(b["official"], r[0]).format(feature=_at(b["feature"], r[1]), task=_at(b["task"], r[2]))

    def support(self, lang: int, handle: str, crisis: bool, r: list[int]) -> str:
        L = self.langs[lang]
        return _at(L.crisis["support"] if crisis else L.brand["support"], r[0]).format(h=handle)

    def crisis(self, lang: int, r: list[int]) -> str:
        """A complaint of the crisis: the product overheats. Negative, often tagged, sometimes to support."""
        L = self.langs[lang]
        c = L.crisis
        text = _at(c["posts"], r[0]).format(situation=_at(c["situation"], r[1]), cex=_at(c["cex"], r[4]))
        if r[9] < CRISIS_TAG:
            tag = _at(c["tags"], r[9])
            text = text + " " + tag if L.en else tag + text
        return text + L.sep + _at(L.emoji[2], r[10]) if r[10] < CRISIS_EMOJI else text

    def crisis_reply(self, lang: int, handle: str, r: list[int]) -> str:
        c = self.langs[lang].crisis
        return _at(c["replies"], r[0]).format(h=handle, situation=_at(c["situation"], r[1]), cex=_at(c["cex"], r[4]))

    # ---- the cup final, spam -------------------------------------------------------------------
    def final(self, lang: int, s: int, r: list[int]) -> str:
        L = self.langs[lang]
        text = _at(L.final[s], r[0]).format(pex=_at(L.pex, r[4]), nex=_at(L.nex, r[4]))
        if r[9] < CRISIS_TAG:
            text = text + " " + L.final_tag if L.en else L.final_tag + text
        return text

    def spam(self, lang: int, r: list[int]) -> str:
        """Near-duplicates: a few templates whose codes and numbers change from post to post."""
        sp = self.langs[lang].spam
        return _at(sp["posts"], r[0]).format(prize=_at(sp["prize"], r[1]), code=f"{r[2] % 16**6:06x}",
                                             n=r[3] % 9 + 1)

    # ---- helpers -------------------------------------------------------------------------------
    def _decorate(self, L: _Lang, text: str, tags, s: int, r: list[int], mention: str | None) -> str:
        if r[10] < EMOJI:
            emoji = L.emoji[s]
            text += L.sep + emoji[r[10] % len(emoji)]
        if r[9] < HASHTAG:  # Weibo puts #topic# first; X/Mastodon append #tags
            tag = tags[r[9] % len(tags)]
            text = text + " " + tag if L.en else tag + text
        if mention:
            text += f" cc @{mention}" if L.en else f" @{mention}"
        return text

    def _pii(self, L: _Lang, x: int) -> str:
        """A sentence with a made-up e-mail address or phone number (reserved domains and numbers)."""
        d = f"{x * 7919 % 10**9:09d}"
        email = f"{_at(vocab_en.FIRST, x)}.{_at(vocab_en.LAST, x // 7)}{d[:2]}@{_at(('example.com', 'example.org'), x // 3)}"
        phone = L.phone.format(a=d[3], b=d[4], c=d[5], d=d[6], e=d[7], f=d[8])
        return _at(L.pii, x // 11).format(email=email, phone=phone)


def _at(seq, r: int):
    """seq[r % len(seq)] for the rarer kinds of post, where a helper call costs nothing that matters."""
    return seq[r % len(seq)]
