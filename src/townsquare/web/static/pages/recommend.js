// Recommend: pick any user (search by handle or type an id) and see their feed — each post with the reasons it is
// there and the source that proposed it — next to the profile it was built from, and the A/B report panel.
// `#/recommend?user=42` opens a user directly (the address keeps the choice, so a reload shows the same feed).
import { fmt, h, languageName } from "../dom.js";
import { renderExperiments } from "./experiments.js";

const css = document.createElement("link");
css.rel = "stylesheet";
css.href = "/static/pages/recommend.css";
if (!document.querySelector(`link[href="${css.href}"]`)) document.head.append(css);

const SOURCE = {
  in_network: "following", friends: "friends", similar: "similar", collaborative: "similar taste",
  trending: "trending", promoted: "promoted",
};

function chosenUser() {
  const m = window.location.hash.match(/[?&]user=(\d+)/);
  return m ? Number(m[1]) : null;
}

function hoursStrip(active) {
  // 24 cells, one per UTC hour; filled where the user is active.
  const on = new Set(active || []);
  return h("div", { class: "hours-strip", "aria-label": `active hours (UTC): ${[...on].join(", ") || "none"}` },
    Array.from({ length: 24 }, (_, i) => h("span", {
      class: on.has(i) ? "on" : null, title: `${String(i).padStart(2, "0")}:00 UTC${on.has(i) ? " · active" : ""}`,
    })));
}

function profilePanel(p) {
  const interests = p.declared_interests.length
    ? p.declared_interests.map((d) => h("span", { class: "badge", title: d.topic ? `matched to ${d.topic}` : "no catalogue topic" },
      d.topic && d.topic !== d.label ? `${d.label} → ${d.topic}` : d.label))
    : [h("span", { class: "muted" }, "none declared")];
  return h("div", { class: "panel profile", "data-user": p.user_id },
    h("h2", {}, `@${p.handle}`, p.display_name ? h("span", { class: "muted" }, ` · ${p.display_name}`) : null),
    h("p", { class: "muted" }, `id ${p.user_id} · follows ${fmt.number(p.follows)} · ${fmt.number(p.followers)} followers`
      + ` · ${p.history.written} posts written, ${p.history.engaged} engaged with`),
    h("h4", {}, "Declared interests"), h("div", { class: "interests" }, interests),
    h("h4", {}, "Interest vector"),
    h("p", { class: "muted" }, p.interest_vector.from === "none"
      ? "no history yet: the feed leans on declared interests, follows and what is trending"
      : `from posts ${p.interest_vector.from === "both" ? "written and engaged with" : p.interest_vector.from}`
        + ` (${p.interest_vector.dim}-d, recency-weighted)`),
    h("h4", {}, "Top topics"),
    h("p", {}, p.top_topics.map((t) => `${t.topic} (${t.count})`).join(", ") || "—"),
    h("h4", {}, "Languages"), h("p", {}, p.langs.map(languageName).join(", ") || "unknown"),
    h("h4", {}, `Active hours (UTC, ${p.active_hours_source})`), hoursStrip(p.active_hours),
    h("h4", {}, "Engages most with"),
    h("p", {}, (p.top_authors || []).map((a) => `@${a.handle}`).join(", ") || "—"),
    h("p", { class: "muted small" }, `as of ${fmt.time(p.clock)} · ${p.seen} posts seen · ${p.blocked} blocked or muted`));
}

function feedItem(it, n) {
  return h("li", { class: "post feed-item", "data-post": it.post_id, "data-source": it.source },
    h("div", { class: "post-meta" },
      h("b", {}, `${n}.`), h("span", { class: "author" }, `@${it.author || "?"}`),
      h("span", { class: `badge ${it.promoted ? "tone-bad" : ""}` }, it.promoted ? "promoted" : SOURCE[it.source] || it.source),
      h("span", { class: "badge muted", title: "predicted chance of engagement" }, `score ${it.score.toFixed(3)}`),
      it.lang ? h("span", {}, it.lang) : null,
      h("time", { datetime: it.created_at }, fmt.time(it.created_at))),
    h("p", { class: "post-text" }, it.text),
    h("p", { class: "reasons muted small" }, it.reasons.join(" · ")));
}

export default {
  title: "Recommend",
  async render(root, ctx) {
    const { api } = ctx;
    const state = { user: chosenUser(), strategy: "ranked", k: 30 };
    const status = h("p", { class: "muted", "data-role": "feed-status" }, "");
    const search = h("input", { type: "search", id: "user-search", placeholder: "@handle or user id",
      "aria-label": "find a user" });
    const picker = h("select", { id: "user-pick", "aria-label": "user" });
    const strategy = h("select", { id: "feed-strategy", "aria-label": "feed strategy" },
      h("option", { value: "ranked" }, "ranked (full pipeline)"),
      h("option", { value: "chronological" }, "chronological (baseline)"));
    const kInput = h("input", { type: "number", id: "feed-k", min: 1, max: 500, value: state.k });
    const profileBox = h("div", { class: "profile-box" });
    const feedList = h("ol", { class: "feed" });
    const feedHead = h("h2", {}, "Feed");
    const feedNote = h("p", { class: "muted" }, "");
    const abBox = h("div", { class: "ab-box" });
    root.append(
      h("header", { class: "page-head" }, h("h1", {}, "Recommend"),
        h("p", { class: "lead" }, "Each person's feed — posts from people they follow, similar posts, what friends "
          + "liked, what people with similar taste read and what is trending in their languages — ranked by a "
          + "learned model, filtered, and every item with its reason.")),
      h("div", { class: "panel" },
        h("div", { class: "filters" },
          h("label", { class: "field grow" }, "Find a user", search),
          h("label", { class: "field grow" }, "User", picker),
          h("label", { class: "field" }, "Feed", strategy),
          h("label", { class: "field" }, "Items", kInput)),
        status),
      h("div", { class: "grid halves" },
        h("div", { class: "panel feed-panel" }, feedHead, feedNote, feedList), profileBox),
      abBox);

    async function loadUsers(q = "") {
      const found = await api("/recommend/users", { query: { q, limit: 50 } });
      const users = found.users;
      if (/^\d+$/.test(q.trim()) && !users.some((u) => u.id === Number(q))) {
        users.unshift({ id: Number(q), handle: `user ${q}`, followers: 0 });
      }
      picker.replaceChildren(...users.map((u) => h("option", { value: u.id, selected: u.id === state.user },
        `@${u.handle} (id ${u.id}${u.lang ? `, ${u.lang}` : ""}${u.followers ? `, ${fmt.number(u.followers)} followers` : ""})`)));
      return users;
    }

    async function show() {
      if (state.user === null) return;
      const hash = `#/recommend?user=${state.user}`;
      // Only while the URL is still this page's: a feed that loads after the user clicked on to another page
      // must not put #/recommend back (the shell reads the hash when it handles the click, and showed Recommend).
      if (/^#\/recommend(?:[?]|$)/.test(window.location.hash) && window.location.hash !== hash) {
        history.replaceState(null, "", hash);
      }
      root.dataset.state = "loading";
      status.textContent = `loading the feed of user ${state.user} …`;
      try {
        const started = performance.now();
        const [feed, profile] = await Promise.all([
          api(`/users/${state.user}/feed`, { query: { k: state.k, strategy: state.strategy } }),
          api(`/users/${state.user}/profile`),
        ]);
        const ms = Math.round(performance.now() - started);
        feedHead.textContent = `Feed of @${profile.handle} · ${feed.count} posts`;
        feedNote.textContent = feed.note || `${feed.strategy} · ranker: ${feed.ranker} · as of ${fmt.time(feed.clock)}`;
        feedList.replaceChildren(...feed.items.map((it, i) => feedItem(it, i + 1)));
        profileBox.replaceChildren(profilePanel(profile));
        status.textContent = `answered in ${ms} ms`;
        root.dataset.user = String(state.user);
        root.dataset.state = "ready";
      } catch (err) {
        feedList.replaceChildren();
        profileBox.replaceChildren();
        feedHead.textContent = "Feed";
        feedNote.textContent = "";
        status.textContent = err.message;
        root.dataset.state = "error";
      }
    }

    picker.addEventListener("change", () => { state.user = Number(picker.value); show(); });
    strategy.addEventListener("change", () => { state.strategy = strategy.value; show(); });
    kInput.addEventListener("change", () => {
      state.k = Math.max(1, Math.min(500, Number(kInput.value) || 30));
      kInput.value = state.k;
      show();
    });
    let timer;
    search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const q = search.value.trim().replace(/^@/, "");
        const users = await loadUsers(q).catch((err) => { status.textContent = err.message; return []; });
        // an exact handle (or id) wins; otherwise the first match, unless the shown user is among the matches
        const exact = users.find((u) => u.handle.toLowerCase() === q.toLowerCase() || String(u.id) === q);
        const pick = exact || (users.some((u) => u.id === state.user) ? null : users[0]);
        if (pick && pick.id !== state.user) {
          state.user = pick.id;
          picker.value = String(state.user);
          show();
        }
      }, 250);
    });

    const users = await loadUsers();
    if (state.user === null && users.length) state.user = users[0].id;
    picker.value = String(state.user);
    const svc = api("/recommend/status").then((s) => {
      status.dataset.service = `${s.posts_in_window} posts in the window · index ${s.index} · ranker ${s.ranker}`;
    }).catch(() => {});
    await Promise.all([show(), svc, renderExperiments(abBox, ctx)]);
  },
};
