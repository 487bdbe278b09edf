"""What a sample world looks like: sizes, the calendar and the two scripted episodes, in one frozen object.

Every number that shapes the world lives here so a test or a benchmark can ask for exactly the world it needs,
e.g. `WorldConfig(posts=1_000_000)`. Frozen (hashable) so derived tables can be cached per config.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from townsquare.errors import BadInput


@dataclass(frozen=True)
class WorldConfig:
    seed: int = 7
    authors: int = 3_000
    posts: int = 30_000
    days: int = 28
    start: datetime = field(default_factory=lambda: datetime(2026, 10, 1, tzinfo=UTC))
    zh_share: float = 0.4  # share of authors (and so, roughly, of posts) writing in Chinese
    follows_per_author: float = 20.0
    interactions_per_post: float = 3.0  # views, likes, reposts, replies, clicks, hides, reports together
    platform: str = "demo"

    # Everyday texture.
    reply_share: float = 0.2
    spam_share: float = 0.01  # near-duplicate posts from a handful of bot accounts
    pii_share: float = 0.005  # posts carrying a fake e-mail address or phone number
    brand_share: float = 0.1  # share of tech posts that talk about the brand (~1% of all posts)

    # The brand-crisis episode: a burst of negative posts about one product (battery overheating).
    crisis: bool = True
    brand: str = "Acme"
    product_en: str = "Acme Phone X"
    product_zh: str = "Acme手机"
    crisis_share: float = 0.01  # burst size as a share of all posts (300 at the default size)
    crisis_day: int | None = None  # None: three quarters into the world (day 21 of 28)
    crisis_hour: int = 9  # UTC
    crisis_ramp_hours: float = 4.0  # rise to the peak
    crisis_decay_hours: float = 8.0  # e-folding time of the decay; the burst is cut after 4 of them

    # A benign burst (a cup final): a volume spike a crisis detector must NOT call a crisis.
    distractor: bool = True
    distractor_share: float = 0.006

    def __post_init__(self) -> None:
        def need(ok: bool, name: str, problem: str, fix: str) -> None:
            if not ok:
                raise BadInput(name, problem, fix)

        need(self.seed >= 0, "seed", f"{self.seed} is negative", "use 0 or a positive integer")
        need(self.authors >= 20, "authors", f"{self.authors} is too few", "ask for at least 20 authors")
        need(self.posts >= 1, "posts", f"{self.posts} is too few", "ask for at least 1 post")
        need(1 <= self.days <= 3_650, "days", f"{self.days} is out of range", "use 1 to 3650 days")
        need(self.start.tzinfo is not None, "start", "has no time zone", "give an aware UTC datetime")
        need(0.0 <= self.zh_share <= 1.0, "zh_share", f"{self.zh_share} is not a share", "use 0.0 to 1.0")
        need(self.follows_per_author >= 0, "follows_per_author", "is negative", "use 0 or more")
        need(self.interactions_per_post >= 0, "interactions_per_post", "is negative", "use 0 or more")
        for name in ("reply_share", "spam_share", "pii_share", "brand_share", "crisis_share", "distractor_share"):
            value = getattr(self, name)
            need(0.0 <= value <= 0.5, name, f"{value} is out of range", "use 0.0 to 0.5")
        need(bool(self.platform), "platform", "is empty", "name the platform, e.g. demo")
        need(0 <= self.crisis_hour <= 23, "crisis_hour", f"{self.crisis_hour} is not an hour", "use 0 to 23")
        need(self.crisis_ramp_hours > 0 and self.crisis_decay_hours > 0, "crisis_ramp_hours",
             "ramp and decay must be positive", "use e.g. 4 and 8 hours")
        if self.crisis_day is not None:
            need(0 <= self.crisis_day < self.days, "crisis_day", f"day {self.crisis_day} is outside the world",
                 f"use 0 to {self.days - 1}")

    @property
    def hours(self) -> int:
        return self.days * 24

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=self.days)

    @property
    def crisis_start(self) -> datetime:
        day = self.crisis_day if self.crisis_day is not None else int(self.days * 0.75)
        return self.start + timedelta(days=day, hours=self.crisis_hour)

    @property
    def crisis_hours(self) -> float:
        """How long the burst lasts: the ramp plus four decay times (under 2% of the peak left)."""
        return self.crisis_ramp_hours + 4 * self.crisis_decay_hours

    @property
    def distractor_start(self) -> datetime:
        """The cup final's final whistle: evening in Europe, about a third into the world."""
        return self.start + timedelta(days=int(self.days * 0.35), hours=19)
