"""The API shell through a real ASGI client: access control, /posts in and out, readable errors, limits, docs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.pg import fresh_postgres_database
from townsquare.api import create_app
from townsquare.config import Settings
from townsquare.schema import Author, Post
from townsquare.store import Store
from townsquare.store.db import get_engine

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def seed(store: Store, n: int = 30) -> None:
    """n posts over n/3 days by two authors, English (even) and Chinese (odd)."""
    ids = store.upsert_authors([Author("x", "u1", "alice"), Author("x", "u2", "bob"), Author("weibo", "w1", "小王")])
    posts = [
        Post("x", str(i), f"acme launch day {i}" if i % 2 == 0 else f"产品发布 第{i}天", T0 + timedelta(hours=8 * i),
             author_id="u1" if i % 3 else "u2", lang="en" if i % 2 == 0 else "zh")
        for i in range(n)
    ]
    posts.append(Post("weibo", "w-1", "微博上的评论", T0, author_id="w1", lang="zh"))
    store.upsert_posts(posts, ids)


@pytest.fixture
def app(tmp_store, settings_env):
    return create_app(settings_env)


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


@pytest.fixture
def keys(app) -> dict[str, dict[str, str]]:
    """Headers for one key per role."""
    out = {}
    for role in ("admin", "analyst", "agent"):
        _, raw = app.state.keys.create(role, f"test {role}")
        out[role] = {"Authorization": f"Bearer {raw}"}
    return out


def test_health_is_public(client):
    r = client.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "ok" and r.json()["database"] == "ok"


def test_401_without_a_key_or_with_a_wrong_or_revoked_one(client, app, keys):
    r = client.get("/posts")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert r.json()["error"].startswith("authorization: no API key — send `Authorization: Bearer")
    raw = keys["analyst"]["Authorization"].removeprefix("Bearer ")
    assert client.get("/posts", headers={"Authorization": f"Bearer {raw[:-1]}x"}).status_code == 401
    assert client.get("/posts", headers={"X-API-Key": "not-a-key"}).status_code == 401
    assert client.get("/posts", headers={"X-API-Key": raw}).status_code == 200  # the other header works too
    app.state.keys.revoke(app.state.keys.verify(raw).id)
    r = client.get("/posts", headers=keys["analyst"])
    assert r.status_code == 401 and "unknown or revoked" in r.json()["error"]


@pytest.mark.parametrize(
    ("role", "method", "path", "body"),
    [("analyst", "post", "/posts", []), ("agent", "post", "/posts", []), ("analyst", "get", "/keys", None),
     ("agent", "post", "/keys", {"role": "admin"}), ("analyst", "delete", "/keys/1", None)],
)
def test_403_for_a_role_that_may_not(client, keys, role, method, path, body):
    kw = {"json": body} if body is not None else {}
    r = client.request(method.upper(), path, headers=keys[role], **kw)
    assert r.status_code == 403
    assert r.json()["error"].startswith(f"permission: a key with role '{role}' may not use ")
    assert "use a key with role admin" in r.json()["error"]


def test_each_role_reads_what_it_may(client, keys):
    for role in ("admin", "analyst", "agent"):
        assert client.get("/posts", headers=keys[role]).status_code == 200
        me = client.get("/me", headers=keys[role]).json()
        assert me["role"] == role and "posts:read" in me["permissions"]
    assert "posts:write" not in client.get("/me", headers=keys["analyst"]).json()["permissions"]


def test_post_a_mixed_batch_quarantines_the_bad_records(client, keys, tmp_store):
    batch = [
        {"id": "1", "text": "hello from the api", "author": "alice", "created_at": "2026-11-28T14:10:08Z", "lang": "en"},
        {"id": "2", "text": "第二条微博", "author": "小王", "created_at": "2026-11-28T15:00:00+08:00", "platform": "weibo"},
        {"id": "3", "text": "no date", "author": "alice"},
        {"id": "4", "text": "bad date", "author": "bob", "created_at": "yesterday-ish"},
    ]
    r = client.post("/posts", json=batch, headers=keys["admin"])
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["read"], report["new"], report["quarantined"], report["stored"]) == (4, 2, 2, 2)
    assert len(report["reasons"]) >= 1 and all(isinstance(x, str) and x for x in report["reasons"])
    assert report["summary"]
    assert tmp_store.count_quarantine() == 2  # kept with a reason, not dropped
    assert tmp_store.count_posts() == 2

    again = client.post("/posts", json=batch[:2], headers=keys["admin"]).json()
    assert (again["new"], again["unchanged"]) == (0, 2)  # idempotent
    texts = {p["text"] for p in client.get("/posts", headers=keys["analyst"]).json()["posts"]}
    assert texts == {"hello from the api", "第二条微博"}


def test_get_posts_filters(client, keys, tmp_store):
    seed(tmp_store)
    h = keys["analyst"]

    def ids(**query):
        r = client.get("/posts", params=query, headers=h)
        assert r.status_code == 200, r.text
        return [p["platform_id"] for p in r.json()["posts"]]

    assert ids(limit=3) == ["29", "28", "27"]  # newest first
    assert ids(limit=3, offset=3) == ["26", "25", "24"]
    assert set(ids(lang="zh", platform="x", limit=100)) == {str(i) for i in range(1, 30, 2)}
    assert ids(platform="weibo") == ["w-1"]
    assert len(ids(author="bob", limit=100)) == 10 and ids(author="小王") == ["w-1"]
    assert len(ids(contains="acme", limit=100)) == 15
    since = (T0 + timedelta(hours=8 * 27)).isoformat()
    assert ids(since=since) == ["29", "28", "27"]
    assert ids(since=since, until=(T0 + timedelta(hours=8 * 29)).isoformat()) == ["28", "27"]
    assert ids(since="2026-11-10T00:00:00") == ids(since="2026-11-10T00:00:00Z")  # no zone means UTC
    post = client.get("/posts", params={"limit": 1}, headers=h).json()["posts"][0]
    assert post["author"] in ("alice", "bob") and post["created_at"].endswith("Z")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"limit": 0}, "limit: input should be greater than or equal to 1 (got '0') — use a value ≥ 1"),
        ({"limit": 5000}, "limit: input should be less than or equal to 1000 (got '5000') — use a value ≤ 1000"),
        ({"limit": "ten"}, "limit: input should be a valid integer"),
        ({"offset": -1}, "offset: input should be greater than or equal to 0"),
        ({"since": "last tuesday"}, "since: input should be a valid datetime"),
        ({"contains": "x" * 201}, "contains: string should have at most 200 characters"),
    ],
)
def test_validation_errors_name_the_field_and_the_fix(client, keys, query, expected):
    r = client.get("/posts", params=query, headers=keys["analyst"])
    assert r.status_code == 422
    body = r.json()
    assert body["error"].startswith(expected) and " — " in body["error"]
    assert body["errors"] == [body["error"]]


def test_until_before_since_is_refused(client, keys):
    r = client.get("/posts", params={"since": "2026-11-02", "until": "2026-11-01"}, headers=keys["analyst"])
    assert r.status_code == 400 and r.json()["error"].startswith("until: 2026-11-01")
    assert "pass an until later than since" in r.json()["error"]


def test_several_problems_are_one_line_each(client, keys):
    r = client.get("/posts", params={"limit": 0, "since": "soon"}, headers=keys["analyst"])
    lines = r.json()["errors"]
    assert len(lines) == 2 and {line.split(":")[0] for line in lines} == {"limit", "since"}


@pytest.mark.parametrize(
    ("content", "headers", "expected"),
    [
        (b'{"id": "1"}', {"Content-Type": "application/json"}, "body: input should be a valid list — send a JSON list"),
        (b"[{", {"Content-Type": "application/json"}, "body: invalid JSON at character 2"),
        (b'[1, "two"]', {"Content-Type": "application/json"}, "body[0]: input should be a valid dictionary"),
        (b'[{"id": "1"}]', {"Content-Type": "text/plain"}, "body: input should be a valid list — send JSON with the header"),
        (b"", {"Content-Type": "application/json"}, "body: is required — send a JSON list of objects"),
    ],
)
def test_a_body_that_is_not_a_list_of_objects_gets_a_clear_4xx(client, keys, content, headers, expected):
    r = client.post("/posts", content=content, headers={**keys["admin"], **headers})
    assert r.status_code == 422
    assert r.json()["error"].startswith(expected), r.json()


def test_over_size_body_is_413_by_content_length_and_by_stream(tmp_store, settings_env, keys_for_small_app):
    client, headers = keys_for_small_app
    big = b"[" + b'{"id": "1", "text": "' + b"x" * 3000 + b'"}]'
    r = client.post("/posts", content=big, headers={**headers, "Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"].startswith("request body: 3,0") and "over the 2,048 bytes limit" in r.json()["error"]
    assert "TOWNSQUARE_MAX_BODY_BYTES" in r.json()["error"]

    def chunks():  # no Content-Length: the limit must count the stream
        for _ in range(10):
            yield b" " * 500

    r = client.post("/posts", content=chunks(), headers={**headers, "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"].startswith("request body: it is over the 2,048 bytes limit")
    small = client.post("/posts", json=[], headers=headers)
    assert small.status_code == 200 and small.json()["read"] == 0


@pytest.fixture
def keys_for_small_app(tmp_store, settings_env):
    app = create_app(Settings(**{**settings_env.model_dump(), "max_body_bytes": 2048}))
    _, raw = app.state.keys.create("admin")
    with TestClient(app) as c:
        yield c, {"X-API-Key": raw}


def test_unknown_paths_and_methods_answer_in_the_same_shape(client):
    assert client.get("/nowhere").json() == {"error": "path: nothing at /nowhere — see /docs for the API's paths"}
    r = client.delete("/health")
    assert r.status_code == 405 and r.json()["error"].startswith("method: DELETE is not allowed on /health")


def test_docs_and_openapi_are_served_without_a_cdn(client):
    spec = client.get("/openapi.json").json()
    assert {"/health", "/posts", "/overview", "/keys", "/me"} <= set(spec["paths"])
    assert {"HTTPBearer", "APIKeyHeader"} <= set(spec["components"]["securitySchemes"])
    html = client.get("/docs").text
    assert "/docs-assets/swagger-ui-bundle.js" in html and "cdn.jsdelivr" not in html
    js = client.get("/docs-assets/swagger-ui-bundle.js")
    assert js.status_code == 200 and len(js.content) > 100_000
    assert "/docs-assets/redoc.standalone.js" in client.get("/redoc").text


def test_admins_manage_keys_through_the_api(client, keys):
    r = client.post("/keys", json={"role": "analyst", "name": "grafana"}, headers=keys["admin"])
    assert r.status_code == 201
    new = r.json()
    assert new["key"].startswith(f"ts_{new['prefix']}_") and new["role"] == "analyst"
    analyst = {"X-API-Key": new["key"]}
    assert client.get("/posts", headers=analyst).status_code == 200
    listed = client.get("/keys", headers=keys["admin"]).json()
    assert {k["name"] for k in listed} >= {"grafana", "test admin"}
    assert all("key" not in k and "key_hash" not in k for k in listed)  # secrets never leave
    assert client.delete(f"/keys/{new['id']}", headers=keys["admin"]).json()["revoked_at"]
    assert client.get("/posts", headers=analyst).status_code == 401
    r = client.post("/keys", json={"role": "boss"}, headers=keys["admin"])
    assert r.status_code == 422 and r.json()["error"].startswith("body.role: 'boss' is not one of the choices — use one of")
    r = client.delete("/keys/999", headers=keys["admin"])
    assert r.status_code == 404 and r.json()["error"].startswith("key: no key with id 999")


def test_overview_counts(client, keys, tmp_store):
    seed(tmp_store)
    data = client.get("/overview", params={"days": 14}, headers=keys["agent"]).json()
    assert (data["posts"], data["authors"]) == (31, 3)
    assert {d["lang"]: d["count"] for d in data["by_lang"]} == {"zh": 16, "en": 15}
    assert {d["platform"]: d["count"] for d in data["by_platform"]} == {"x": 30, "weibo": 1}
    assert len(data["by_day"]) == 14 and sum(d["count"] for d in data["by_day"]) == 31
    assert data["by_day"][-2:] == [{"day": "2026-11-10", "count": 3}, {"day": "2026-11-11", "count": 1}]
    assert data["by_day"][0] == {"day": "2026-10-29", "count": 0}  # days without posts are there, as 0
    assert data["last_post_at"] == "2026-11-11T01:00:00Z"


def test_overview_on_postgresql():
    with fresh_postgres_database() as url:
        store = Store(get_engine(url))
        seed(store)
        app = create_app(Settings(database_url=url))
        _, raw = app.state.keys.create("analyst")
        with TestClient(app) as c:
            data = c.get("/overview", headers={"X-API-Key": raw}).json()
            posts = c.get("/posts", params={"lang": "zh", "limit": 5}, headers={"X-API-Key": raw}).json()
        assert data["posts"] == 31 and sum(d["count"] for d in data["by_day"]) == 31
        assert data["by_day"][-2:] == [{"day": "2026-11-10", "count": 3}, {"day": "2026-11-11", "count": 1}]
        assert posts["count"] == 5 and all(p["lang"] == "zh" for p in posts["posts"])


def test_an_unexpected_failure_is_a_500_in_the_same_shape_without_internals(app, keys, tmp_store):
    from sqlalchemy import text

    with tmp_store.engine.begin() as conn:  # break the store under the running app
        conn.execute(text("ALTER TABLE posts RENAME TO posts_gone"))
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/posts", headers=keys["analyst"])
    assert r.status_code == 500
    assert r.json() == {"error": "server: internal error (OperationalError) — see the server log; "
                                 "please report this as a bug"}
