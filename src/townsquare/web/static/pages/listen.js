// Listen: watches, a live chart of volume and negative posts per bucket (uPlot, served locally), alert markers,
// and each alert's explanation — clusters, summary and an editable holding statement. New alerts arrive over
// Server-Sent Events (read with fetch so the API key travels in a header) and appear without a reload.
import uPlot from "../vendor/uplot/uPlot.esm.js";
import { fmt, h, languageName } from "../dom.js";

const css = document.createElement("link");
css.rel = "stylesheet";
css.href = "/static/vendor/uplot/uPlot.min.css";
if (!document.querySelector(`link[href="${css.href}"]`)) document.head.append(css);

const METRIC = { volume: "volume", negative: "negative posts" };
const toSec = (iso) => Date.parse(iso) / 1000;

function alertMarkers(getAlerts) {
  // A uPlot plugin: a red line at each alert's bucket.
  return {
    hooks: {
      draw: (u) => {
        const { ctx } = u;
        ctx.save();
        ctx.strokeStyle = "#d14343";
        ctx.lineWidth = 2 * devicePixelRatio;
        for (const a of getAlerts()) {
          const x = Math.round(u.valToPos(toSec(a.bucket_start), "x", true));
          if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
        }
        ctx.restore();
      },
    },
  };
}

function topList(title, items, label) {
  return h("div", { class: "panel" }, h("h3", {}, title),
    items.length ? h("ol", { class: "top-list" }, items.map((it) => h("li", {}, label(it))))
      : h("p", { class: "muted" }, "nothing yet"));
}

function alertDetail(a, watchName) {
  const e = a.explanation || {};
  const summary = e.summary || {};
  const draft = e.draft || {};
  const draftBox = h("textarea", { class: "draft", rows: 4, lang: draft.language || "en" });
  draftBox.value = draft.text || "";
  const copy = h("button", { type: "button", class: "secondary", onclick: async () => {
    await navigator.clipboard?.writeText(draftBox.value).catch(() => {});
    copy.textContent = "Copied";
  } }, "Copy");
  return h("div", { class: "panel alert-detail", "data-alert": a.id },
    h("h3", {}, `Alert #${a.id}: ${watchName} — ${METRIC[a.metric] || a.metric}`),
    h("p", { class: "muted" }, `${fmt.time(a.bucket_start)} · ${a.minutes}-minute bucket · ${a.value} vs usual `
      + `${Number(a.expected).toFixed(1)} · score ${a.score}`
      + (e.also || []).map((o) => ` · also ${METRIC[o.metric] || o.metric} ${o.value} vs usual `
      + `${Number(o.expected).toFixed(1)}`).join("")),
    h("h4", {}, "What happened ", h("span", { class: "badge muted" }, summary.method || "pending")),
    h("p", { class: "summary" }, summary.text || "The explanation is being written…"),
    summary.note ? h("p", { class: "muted small" }, summary.note) : null,
    h("h4", {}, "Holding statement ", h("span", { class: "badge muted" }, draft.method || "")),
    draftBox, h("div", { class: "actions" }, copy),
    draft.note ? h("p", { class: "muted small" }, draft.note) : null,
    h("h4", {}, "Conversations"),
    h("ul", { class: "clusters" }, (e.clusters || []).map((c) => h("li", { class: "cluster" },
      h("div", { class: "post-meta" }, h("b", {}, c.label), h("span", { class: "badge" }, `${c.posts} posts`)),
      h("ul", { class: "posts" }, c.examples.map((p) => h("li", { class: "post" },
        h("div", { class: "post-meta" }, h("span", {}, `@${p.author || "?"}`), h("span", {}, fmt.time(p.created_at))),
        h("p", { class: "post-text" }, p.text))))))),
    h("p", { class: "muted" }, "Languages: ",
      Object.entries(e.languages || {}).map(([k, v]) => `${languageName(k)} ${Math.round(v * 100)}%`).join(", ")),
    h("p", { class: "muted" }, "Most-reached authors: ",
      (e.top_authors || []).map((t) => `@${t.handle} (${fmt.number(t.followers)})`).join(", ") || "—"));
}

async function* sse(path, apiKey, signal) {
  // EventSource cannot send an Authorization header; fetch can, and streams the body.
  const response = await fetch(path, { headers: { Authorization: `Bearer ${apiKey}` }, signal });
  if (!response.ok) throw new Error(`events: ${response.status}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const event = /^event: (.*)$/m.exec(block);
      const data = /^data: (.*)$/m.exec(block);
      if (event && data) yield { event: event[1], data: JSON.parse(data[1]) };
    }
  }
}

export default {
  title: "Listen",
  async render(root, { api, apiKey, toast }) {
    const state = { watches: [], watch: null, minutes: 60, alerts: [], plot: null, selected: null };
    const chartBox = h("div", { class: "listen-chart" });
    const tops = h("div", { class: "grid" });
    const alertList = h("ul", { class: "alert-list" });
    const detail = h("div", { class: "alert-detail-box" });
    const tabs = h("div", { class: "tabs" });
    const status = h("p", { class: "muted", "data-role": "stream-status" }, "");
    const minutes = h("select", { "aria-label": "bucket size" },
      [1, 5, 60].map((m) => h("option", { value: m, selected: m === 60 }, `${m} min`)));
    const form = h("form", { class: "filters" },
      h("label", { class: "field" }, "Name", h("input", { name: "name", required: true, placeholder: "Acme Phone" })),
      h("label", { class: "field" }, "Keywords, #hashtags, @handles",
        h("input", { name: "keywords", placeholder: "Acme Phone, #AcmePhone, acme手机" })),
      h("label", { class: "field" }, "Languages", h("input", { name: "langs", placeholder: "en, zh (all if empty)" })),
      h("button", { type: "submit" }, "Add watch"));
    root.append(
      h("header", { class: "page-head" }, h("h1", {}, "Listen"),
        h("p", { class: "lead" }, "What is said about the things you watch, bucket by bucket — with alerts that "
          + "say what broke, show the posts behind it and draft a first answer.")),
      h("div", { class: "panel" }, tabs, h("div", { class: "filters" }, h("label", { class: "field" }, "Bucket", minutes)),
        status, chartBox),
      tops,
      h("div", { class: "grid" }, h("div", { class: "panel" }, h("h2", {}, "Alerts"), alertList), detail),
      h("details", { class: "panel" }, h("summary", {}, "Add a watch"), form));

    const watchName = (id) => (state.watches.find((w) => w.id === id) || {}).name || `watch ${id}`;

    function showDetail(a) {
      state.selected = a.id;
      detail.replaceChildren(alertDetail(a, watchName(a.watch_id)));
      for (const li of alertList.children) li.classList.toggle("active", Number(li.dataset.alert) === a.id);
    }

    function renderAlerts() {
      alertList.replaceChildren(...state.alerts.map((a) => h("li", { class: "alert-item", "data-alert": a.id,
        onclick: () => showDetail(a) },
      h("span", { class: "badge tone-bad" }, METRIC[a.metric] || a.metric),
      ` ${watchName(a.watch_id)} · ${fmt.time(a.bucket_start)} · ${a.value} (usual ${Number(a.expected).toFixed(1)})`)));
      if (!state.alerts.length) alertList.append(h("li", { class: "muted" }, "No alerts yet."));
    }

    async function refreshChart() {
      if (!state.watch) return;
      const s = await api(`/watches/${state.watch}/series`, { query: { minutes: state.minutes,
        hours: state.minutes === 60 ? 24 * 10 : state.minutes === 5 ? 48 : 6 } });
      const xs = s.buckets.map((b) => toSec(b.start));
      const data = [xs, s.buckets.map((b) => b.volume), s.buckets.map((b) => b.negative)];
      state.seriesAlerts = s.alerts;
      status.textContent = s.watermark ? `Stream at ${fmt.time(s.watermark)} · ${s.buckets.length} buckets`
        : "No posts have reached this watch yet.";
      chartBox.dataset.buckets = String(s.buckets.length);
      chartBox.dataset.alerts = String(s.alerts.length);
      const width = Math.max(320, chartBox.clientWidth || 900);
      if (!state.plot) {
        state.plot = new uPlot({ width, height: 260, scales: { x: { time: true } },
          series: [{}, { label: "volume", stroke: "#3b6fd8", width: 2, fill: "rgba(59,111,216,0.08)" },
            { label: "negative", stroke: "#d14343", width: 2 }],
          axes: [{}, { label: "posts" }], plugins: [alertMarkers(() => state.seriesAlerts || [])] }, data, chartBox);
      } else {
        state.plot.setData(data);
      }
      tops.replaceChildren(
        topList("Top terms", s.top.terms || [], (t) => `${t.key} · ${t.count}`),
        topList("Top hashtags", s.top.hashtags || [], (t) => `#${t.key} · ${t.count}`),
        topList("Most-reached authors", s.top.authors || [], (t) => `@${t.key} · ${fmt.number(t.reach)} followers`));
    }

    async function loadAlerts() {
      state.alerts = (await api("/alerts", { query: { limit: 50 } })).alerts;
      renderAlerts();
      if (state.alerts.length && !state.selected) showDetail(state.alerts[0]);
    }

    async function loadWatches() {
      state.watches = (await api("/watches")).watches;
      if (!state.watch && state.watches.length) state.watch = state.watches[0].id;
      tabs.replaceChildren(...state.watches.map((w) => h("button", { type: "button",
        class: w.id === state.watch ? "tab active" : "tab",
        onclick: async () => { state.watch = w.id; state.plot?.destroy(); state.plot = null; await loadWatches(); } },
      w.name)));
      if (!state.watches.length) tabs.append(h("p", { class: "muted" }, "No watches yet: add one below."));
      await refreshChart();
    }

    minutes.addEventListener("change", async () => { state.minutes = Number(minutes.value); await refreshChart(); });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const f = new FormData(form);
      const split = (v) => String(v || "").split(/[,，]/).map((x) => x.trim()).filter(Boolean);
      try {
        const w = await api("/watches", { method: "POST", body: { name: f.get("name"), keywords: split(f.get("keywords")),
          langs: split(f.get("langs")) } });
        state.watch = w.id;
        form.reset();
        toast(`Watching “${w.name}”.`);
        await loadWatches();
      } catch (err) { toast(err.message); }
    });

    await loadWatches();
    await loadAlerts();

    // Live: alerts and stream progress pushed by the server; stop when the page is left.
    const abort = new AbortController();
    let pending = false;
    const refreshSoon = () => {
      if (pending) return;
      pending = true;
      setTimeout(async () => { pending = false; if (root.isConnected) await refreshChart().catch(() => {}); }, 1500);
    };
    const watchdog = setInterval(() => { if (!root.isConnected) { abort.abort(); clearInterval(watchdog); } }, 1000);
    (async () => {
      while (root.isConnected) {
        try {
          const last = state.alerts.length ? Math.max(...state.alerts.map((a) => a.id)) : 0;
          for await (const msg of sse(`/listen/events?after=${last}`, apiKey, abort.signal)) {
            if (msg.event === "alert") {
              state.alerts = [msg.data, ...state.alerts.filter((a) => a.id !== msg.data.id)];
              renderAlerts();
              showDetail(msg.data);
              toast(`Alert: ${watchName(msg.data.watch_id)} — ${METRIC[msg.data.metric] || msg.data.metric}`);
              refreshSoon();
            } else if (msg.event === "progress") {
              refreshSoon();
            }
          }
        } catch (err) {
          if (abort.signal.aborted) return;
        }
        await new Promise((r) => setTimeout(r, 2000));
      }
    })();
  },
};
