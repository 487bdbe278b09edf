"""Domain types shared by every capability. Plain dataclasses: cheap to build by the million."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

INTERACTION_KINDS = ("view", "like", "repost", "reply", "click", "hide", "report")
ROLES = ("admin", "analyst", "agent", "customer")  # customer: chats, sees only its own conversations


@dataclass(slots=True)
class Author:
    platform: str
    platform_id: str
    handle: str = ""
    display_name: str = ""
    followers: int = 0
    created_at: datetime | None = None
    bio: str = ""
    extra: dict = field(default_factory=dict)  # interests, active hours, anything platform-specific


@dataclass(slots=True)
class Post:
    platform: str
    platform_id: str
    text: str
    created_at: datetime
    author_id: str | None = None  # the author's platform id on the same platform
    lang: str | None = None
    reply_to: str | None = None  # platform id of the post this replies to
    quote_of: str | None = None
    repost_of: str | None = None
    metrics: dict = field(default_factory=dict)  # likes, reposts, replies, quotes, views


@dataclass(slots=True)
class Interaction:
    platform: str
    user_id: str  # author platform id of the person who acted
    post_id: str  # post platform id
    kind: str
    created_at: datetime


@dataclass(slots=True)
class Follow:
    platform: str
    follower_id: str
    followee_id: str
    created_at: datetime | None = None
