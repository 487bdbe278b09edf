// Overview: what is in the store — totals, posts per day, languages, platforms, and the latest posts.
import { dailyColumns, shareBars } from "../charts.js";
import { debounce, fmt, h, languageName } from "../dom.js";

const PAGE_SIZE = 20;

function stat(id, label, value, note) {
  return h("div", { class: "stat" }, h("span", { class: "stat-label" }, label),
    h("span", { class: "stat-value", id }, value), note ? h("span", { class: "stat-note" }, note) : null);
}

function postItem(p) {
  return h("li", { class: "post" },
    h("div", { class: "post-meta" },
      h("span", { class: "author" }, p.author ? `@${p.author}` : "unknown author"),
      h("span", { class: "badge" }, p.platform),
      p.lang ? h("span", { class: "badge muted" }, p.lang) : null,
      p.reply_to ? h("span", { class: "badge muted" }, "reply") : null,
      h("time", { datetime: p.created_at }, fmt.time(p.created_at))),
    h("p", { class: "post-text", lang: p.lang || undefined }, p.text));
}

function select(name, label, options) {
  return h("label", { class: "field" }, h("span", {}, label),
    h("select", { name }, h("option", { value: "" }, "all"),
      options.map((o) => h("option", { value: o.value }, o.label))));
}

function latestPosts(api, data) {
  const list = h("ul", { class: "posts", id: "latest-posts" });
  const status = h("p", { class: "muted", id: "latest-status" }, "Loading posts…");
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Show more");
  const form = h("form", { class: "filters", role: "search", onsubmit: (e) => e.preventDefault() },
    h("label", { class: "field grow" }, h("span", {}, "Text contains"),
      h("input", { name: "contains", type: "search", placeholder: "e.g. refund, 退款, #launch", maxlength: 200,
        id: "filter-contains" })),
    select("lang", "Language", data.by_lang.map((l) => ({ value: l.lang === "unknown" ? "" : l.lang,
      label: languageName(l.lang) })).filter((o) => o.value)),
    select("platform", "Platform", data.by_platform.map((p) => ({ value: p.platform, label: p.platform }))));
  let offset = 0;
  let query = {};
  let generation = 0;

  async function load(reset) {
    const mine = reset ? ++generation : generation;
    if (reset) {
      offset = 0;
      query = Object.fromEntries(new FormData(form));
    }
    status.textContent = "Loading posts…";
    try {
      const page = await api("/posts", { query: { ...query, limit: PAGE_SIZE, offset } });
      if (mine !== generation) return; // the filter changed while this page was loading
      if (reset) list.replaceChildren();
      list.append(...page.posts.map(postItem));
      offset += page.count;
      more.hidden = page.count < PAGE_SIZE;
      status.textContent = offset ? `Showing the ${fmt.number(offset)} newest matching posts.` : "No posts match these filters.";
    } catch (err) {
      status.textContent = err.message;
      status.className = "error";
    }
  }
  form.addEventListener("input", debounce(() => load(true)));
  more.addEventListener("click", () => load(false));
  return { element: h("div", { class: "panel wide" }, h("h2", {}, "Latest posts"), form, status, list, more),
    ready: load(true) };
}

export default {
  title: "Overview",
  async render(root, { api }) {
    const data = await api("/overview", { query: { days: 30 } });
    const range = data.posts
      ? `Posts from ${fmt.day(data.first_post_at)} to ${fmt.day(data.last_post_at)} (UTC).`
      : "No posts yet: ingest some with `townsquare ingest FILE` or POST /posts.";
    const latest = latestPosts(api, data);
    root.append(
      h("header", { class: "page-head" }, h("h1", {}, "Overview"), h("p", { class: "muted" }, range)),
      h("div", { class: "stats" },
        stat("stat-posts", "Posts", fmt.number(data.posts)),
        stat("stat-authors", "Authors", fmt.number(data.authors)),
        stat("stat-languages", "Languages", fmt.number(data.by_lang.length)),
        stat("stat-quarantined", "Quarantined", fmt.number(data.quarantined),
          data.quarantined ? "see `townsquare quarantine list`" : "nothing waiting")),
      h("div", { class: "grid halves" },
        h("div", { class: "panel wide" }, h("h2", {}, "Posts per day"),
          h("p", { class: "muted" }, `The ${data.by_day.length} days up to the newest post, UTC.`), dailyColumns(data.by_day)),
        h("div", { class: "panel" }, h("h2", {}, "Languages"),
          shareBars(data.by_lang.map((l) => ({ label: languageName(l.lang), count: l.count })))),
        h("div", { class: "panel" }, h("h2", {}, "Platforms"),
          shareBars(data.by_platform.map((p) => ({ label: p.platform, count: p.count })))),
        latest.element),
    );
    await latest.ready;
  },
};
