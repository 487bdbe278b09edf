// The A/B report panel of the Recommend page: pick an experiment, see per-arm means with intervals, the lift
// against the control with its interval and p-value, the sample-ratio check and the sequential-testing caution.
// `renderExperiments(root, ctx)` appends the panel to `root`; ctx.api is the dashboard's API helper.
import { h, fmt } from "../dom.js";

function stylesheet() {
  if (document.getElementById("experiments-css")) return;
  document.head.append(h("link", { id: "experiments-css", rel: "stylesheet", href: "/static/pages/experiments.css" }));
}

const num = (x, digits = 3) => (x === null || x === undefined ? "–" : Number(x).toPrecision(digits));
const pct = (x) => (x === null || x === undefined ? "–" : `${x >= 0 ? "+" : ""}${(100 * x).toFixed(1)}%`);
const pval = (p) => (p === null || p === undefined ? "–" : p < 0.0001 ? "< 0.0001" : p.toFixed(4));
const interval = (ci, f = num) => (ci ? `[${f(ci[0])}, ${f(ci[1])}]` : "–");

function metricTable(m, alpha) {
  const level = `${Math.round(100 * (1 - alpha))}% CI`;
  const cmp = Object.fromEntries(m.comparisons.map((c) => [c.arm, c]));
  const what = m.kind === "rate" ? `share of users with any ${m.event}` : `mean ${m.event} per user`;
  return h("div", { class: "ab-metric", "data-metric": m.name },
    h("h3", {}, m.name, " ", h("span", { class: "muted small" }, `${what} · ${m.test}`)),
    h("table", { class: "ab-table" },
      h("thead", {}, h("tr", {}, ["arm", "users", "mean", level, "lift vs control", `lift ${level}`, "p-value", ""]
        .map((t, i) => h("th", { class: i && i < 7 ? "n" : null }, t)))),
      h("tbody", {}, m.arms.map((a) => {
        const c = cmp[a.arm];
        const verdict = !c ? h("span", { class: "badge tone-muted" }, "control")
          : c.significant ? h("span", { class: "badge tone-good" }, "significant")
            : h("span", { class: "badge tone-muted" }, "not significant");
        return h("tr", { "data-arm": a.arm },
          h("td", {}, a.arm), h("td", { class: "n" }, fmt.number(a.n)), h("td", { class: "n" }, num(a.mean, 4)),
          h("td", { class: "n" }, interval(a.ci)), h("td", { class: "n lift" }, c ? pct(c.lift) : ""),
          h("td", { class: "n" }, c ? interval(c.lift_ci, pct) : ""), h("td", { class: "n p" }, c ? pval(c.p_value) : ""),
          h("td", {}, verdict));
      }))));
}

function reportView(rep) {
  const exp = rep.experiment;
  const meta = exp.meta || {};
  const srm = rep.srm;
  return h("div", { id: "ab-report", "data-experiment": exp.name },
    h("p", {}, h("strong", {}, exp.name), " ",
      h("span", { class: `badge ${exp.status === "running" ? "tone-good" : "tone-muted"}` }, exp.status), " ",
      meta.simulated ? h("span", { class: "badge tone-bad", id: "ab-simulated" }, "simulated outcomes") : null, " ",
      h("span", { class: "muted small" }, `${fmt.number(rep.users)} users · created ${fmt.time(exp.created_at)}`)),
    exp.description ? h("p", { class: "muted" }, exp.description) : null,
    meta.simulated ? h("p", { class: "ab-note small" }, meta.note,
      meta.ranker ? ` Ranker: ${meta.ranker}.` : "", meta.clock ? ` Feeds at ${fmt.time(meta.clock)}.` : "") : null,
    h("p", { class: "ab-arms" }, "Arms: ", rep.arms.flatMap((a, i) => [i ? ", " : "",
      h("span", {}, `${a.name} ${fmt.number(a.n)} (expected ${fmt.number(Math.round(a.expected || 0))})`)])),
    h("p", { id: "ab-srm" }, h("span", { class: `badge ${srm.mismatch ? "tone-bad" : "tone-good"}` },
      srm.mismatch ? "sample ratio mismatch" : "sample ratio OK"), " ", h("span", { class: "small" }, srm.verdict)),
    rep.metrics.map((m) => metricTable(m, rep.alpha)),
    h("p", { class: "ab-caution small", id: "ab-caution" }, h("strong", {}, "Caution: "), rep.caution));
}

export async function renderExperiments(root, ctx) {
  stylesheet();
  const body = h("div", { class: "ab-body" });
  const panel = h("div", { class: "panel wide", id: "experiments" }, h("h2", {}, "A/B tests"), body);
  root.append(panel);
  const { experiments } = await ctx.api("/experiments");
  if (!experiments.length) {
    const status = h("p", { class: "muted small" });
    const run = h("button", { type: "button", class: "primary", id: "ab-simulate" }, "Run the simulated test");
    run.addEventListener("click", async () => {
      run.disabled = true;
      status.textContent = "Simulating ranked vs chronological feeds on the demo world …";
      try {
        await ctx.api("/experiments/simulate/feed", { method: "POST", body: {} });
        panel.remove();
        await renderExperiments(root, ctx);
      } catch (err) {
        status.textContent = err.message;
        run.disabled = false;
      }
    });
    body.append(h("p", {}, "No experiments yet. Create one with ", h("code", {}, "townsquare experiment create"),
      " or POST /experiments, or simulate ranked vs chronological feeds on the demo world:"), run, status);
    return;
  }
  const view = h("div", {});
  const show = async (name) => {
    view.replaceChildren(h("p", { class: "muted" }, "Loading the report …"));
    try {
      view.replaceChildren(reportView(await ctx.api(`/experiments/${encodeURIComponent(name)}/report`)));
    } catch (err) {
      view.replaceChildren(h("p", { class: "error" }, err.message));
    }
  };
  if (experiments.length > 1) {
    const pick = h("select", { id: "ab-pick", "aria-label": "Experiment" },
      experiments.map((e) => h("option", { value: e.name }, `${e.name} (${fmt.number(e.users)} users)`)));
    pick.addEventListener("change", () => show(pick.value));
    body.append(h("label", {}, "Experiment ", pick));
  }
  body.append(view);
  await show(experiments[0].name);
}
