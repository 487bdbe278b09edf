"""Store-wide counts for the dashboard's overview: totals, posts by language, platform and day.

Grouped queries in the database (one round trip each), so the overview stays fast on a million posts.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from townsquare.store import Store
from townsquare.store.tables import AuthorRow, PostRow, QuarantineRow


def _day(value) -> date:
    # SQLite's date() gives 'YYYY-MM-DD' text, PostgreSQL's a date.
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def overview(store: Store, days: int = 30, top: int = 12) -> dict:
    """Totals and distributions; `by_day` covers the `days` days ending at the newest post (gaps as 0)."""
    p = PostRow.__table__.c
    with store.engine.connect() as conn:
        posts, first, last = conn.execute(select(func.count(), func.min(p.created_at), func.max(p.created_at))).one()
        authors = conn.execute(select(func.count()).select_from(AuthorRow)).scalar_one()
        quarantined = conn.execute(
            select(func.count()).select_from(QuarantineRow).where(QuarantineRow.status == "open")
        ).scalar_one()

        def grouped(col):
            n = func.count().label("n")
            return [(k, c) for k, c in conn.execute(select(col, n).group_by(col).order_by(n.desc(), col).limit(top))]

        by_lang = grouped(p.lang)
        by_platform = grouped(p.platform)
        by_day: list[dict] = []
        if last is not None:
            start = datetime.combine(last.date() - timedelta(days=days - 1), datetime.min.time())
            day = func.date(p.created_at)
            counts = {
                _day(d): n
                for d, n in conn.execute(select(day, func.count()).where(p.created_at >= start).group_by(day))
            }
            by_day = [
                {"day": (start.date() + timedelta(days=i)).isoformat(), "count": counts.get(start.date() + timedelta(days=i), 0)}
                for i in range(days)
            ]
    return {
        "posts": posts,
        "authors": authors,
        "quarantined": quarantined,
        "first_post_at": first,
        "last_post_at": last,
        "by_lang": [{"lang": k or "unknown", "count": n} for k, n in by_lang],
        "by_platform": [{"platform": k, "count": n} for k, n in by_platform],
        "by_day": by_day,
    }
