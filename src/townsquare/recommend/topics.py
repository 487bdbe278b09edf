"""A small bilingual topic catalogue: what "popular in 科技" and "matches your interest in food" are measured against.

Declared interests are free text in any language (`["科技", "运动", "美食"]`, `["tech"]`). Each is embedded by the
multilingual embedder and matched to the catalogue topic with the nearest gloss word, so 科技 and tech (and
Fußball and 足球) land on the same topic; an interest that matches nothing well keeps its own embedding. Posts get their nearest topic from their stored
embedding (one matrix product over the feed's window).
"""

from __future__ import annotations

import threading

import numpy as np

# topic -> a gloss in English and Chinese: richer than one word, so a post's embedding lands near it.
CATALOGUE: dict[str, str] = {
    "tech": "tech, technology, gadgets, software, phones, laptops, AI, apps · 科技 数码 手机 电脑 软件 人工智能",
    "sports": "sports, football, basketball, running, the match, the team, fitness · 体育 运动 足球 篮球 比赛 健身",
    "food": "food, cooking, recipes, restaurants, dinner, coffee, baking · 美食 做饭 餐厅 菜谱 咖啡 好吃",
    "travel": "travel, trips, flights, hotels, beaches, holidays, cities · 旅行 旅游 机票 酒店 海边 度假",
    "music": "music, songs, albums, concerts, playlists, bands, singers · 音乐 歌曲 专辑 演唱会 歌手",
    "finance": "money, finance, investing, stocks, savings, budgets, markets · 理财 投资 股票 基金 存钱 金融",
    "gaming": "games, gaming, video games, consoles, players, esports · 游戏 电竞 主机 玩家 手游",
    "movies": "movies, films, cinema, actors, trailers, series, TV shows · 电影 影院 演员 预告片 电视剧",
    "fashion": "fashion, style, clothes, outfits, shoes, brands · 穿搭 时尚 衣服 鞋子 搭配",
    "pets": "pets, cats, dogs, puppies, kittens, animals · 萌宠 宠物 猫咪 狗狗 小猫 动物",
    "news": "news, politics, government, elections, the world · 新闻 时事 政治 政府 国际",
    "science": "science, research, space, physics, biology, discoveries · 科学 研究 太空 物理 生物",
    "health": "health, wellness, sleep, diet, doctors, medicine · 健康 养生 睡眠 饮食 医生",
    "books": "books, reading, novels, authors, libraries · 读书 书籍 小说 作者 阅读",
}
TOPICS: tuple[str, ...] = tuple(CATALOGUE)
INTEREST_MATCH = 0.6  # cosine to a topic's nearest gloss word above which a declared interest means that topic
INTEREST_MARGIN = 0.1  # ... and at least this much nearer than to any other topic
POST_TOPIC_MIN = 0.12  # a post whose best topic is weaker than this has no topic

_lock = threading.Lock()
_cache: dict[str, np.ndarray] = {}
_embedder = []  # loaded on first use, then kept: loading costs about a second


def _embed(texts: list[str]) -> np.ndarray:
    if not _embedder:
        from townsquare.models import get_embedder

        _embedder.append(get_embedder())
    return _embedder[0].embed(texts)


def embed_texts(texts: list[str]) -> np.ndarray:
    """Embeddings of short labels (interests, glosses), batched and cached: the set of labels is small."""
    with _lock:
        missing = [t for t in dict.fromkeys(texts) if t not in _cache]
        if missing:
            for t, v in zip(missing, _embed(missing), strict=True):
                _cache[t] = np.asarray(v, np.float32)
        return np.stack([_cache[t] for t in texts]) if texts else np.zeros((0, 512), np.float32)


def anchors() -> np.ndarray:
    """(topics, dim) unit vectors, one per catalogue topic."""
    return embed_texts(list(CATALOGUE.values()))


def _terms() -> tuple[np.ndarray, np.ndarray]:
    """(term vectors, topic index per term): every word of every gloss, English and Chinese, embedded once."""
    terms, topic = [], []
    for i, gloss in enumerate(CATALOGUE.values()):
        en, zh = gloss.split("·")
        words = [w.strip() for w in en.split(",") if w.strip()] + zh.split()
        terms += words
        topic += [i] * len(words)
    return embed_texts(terms), np.asarray(topic)


def match_interests(interests: list[str]) -> list[tuple[str, str | None, np.ndarray]]:
    """(declared label, catalogue topic or None, vector to match posts with) per declared interest.

    A label matches the topic whose closest gloss word is nearest (美食 ~ food, Fußball ~ football), when that
    word is close enough and clearly closer than any other topic's; otherwise it keeps its own embedding.
    """
    labels = [str(x).strip() for x in interests if str(x).strip()][:20]
    if not labels:
        return []
    vecs, anc = embed_texts(labels), anchors()
    term_vecs, term_topic = _terms()
    out = []
    for label, v, row in zip(labels, vecs, vecs @ term_vecs.T, strict=True):
        per_topic = np.full(len(TOPICS), -1.0, np.float32)
        np.maximum.at(per_topic, term_topic, row)
        best, second = np.argsort(-per_topic)[:2]
        if label.lower() in CATALOGUE:  # an exact catalogue name needs no embedding to match
            best = TOPICS.index(label.lower())
            out.append((label, TOPICS[best], anc[best]))
        elif per_topic[best] >= INTEREST_MATCH and per_topic[best] - per_topic[second] >= INTEREST_MARGIN:
            out.append((label, TOPICS[best], anc[best]))
        else:
            out.append((label, None, v))
    return out


def post_topics(emb: np.ndarray, has: np.ndarray) -> np.ndarray:
    """The nearest catalogue topic of each post (index into TOPICS), −1 without an embedding or a clear topic."""
    out = np.full(len(emb), -1, np.int16)
    if not len(emb):
        return out
    anc = anchors().astype(np.float32)
    for start in range(0, len(emb), 65_536):  # bounded memory at a million posts
        block = np.asarray(emb[start:start + 65_536], np.float32) @ anc.T
        best = block.argmax(1)
        ok = (block[np.arange(len(block)), best] >= POST_TOPIC_MIN) & has[start:start + 65_536]
        out[start:start + 65_536] = np.where(ok, best, -1)
    return out
