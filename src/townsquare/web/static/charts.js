// Small charts with no library: an SVG column chart for counts per day, CSS bars for shares.
import { fmt, h, svg } from "./dom.js";

// days: [{day: "2026-11-28", count: 12}, ...]
export function dailyColumns(days, { height = 220, width = 1100 } = {}) {
  const max = Math.max(1, ...days.map((d) => d.count));
  const left = 44, bottom = 22, top = 10;
  const plotW = width - left - 4, plotH = height - bottom - top;
  const step = plotW / Math.max(1, days.length);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img",
    "aria-label": `posts per day, ${days.length} days, at most ${max} a day` });
  for (const frac of [0, 0.5, 1]) {
    const y = top + plotH * (1 - frac);
    chart.append(svg("line", { x1: left, x2: width - 4, y1: y, y2: y, class: "grid" }),
      svg("text", { x: left - 6, y: y + 4, class: "axis", "text-anchor": "end" }, fmt.number(Math.round(max * frac))));
  }
  days.forEach((d, i) => {
    const barH = (d.count / max) * plotH;
    const bar = svg("rect", { x: left + i * step + 1, y: top + plotH - barH, width: Math.max(1, step - 2),
      height: barH, rx: 2, class: "bar" });
    bar.append(svg("title", {}, `${d.day}: ${fmt.number(d.count)} posts`));
    chart.append(bar);
    const every = Math.ceil(days.length / 6);
    if (i % every === 0 || i === days.length - 1) {
      chart.append(svg("text", { x: left + i * step + step / 2, y: height - 4, class: "axis", "text-anchor": "middle" },
        d.day.slice(5)));
    }
  });
  return chart;
}

// items: [{label, count}] -> rows of label, bar, count
export function shareBars(items) {
  const total = items.reduce((s, it) => s + it.count, 0) || 1;
  const max = Math.max(1, ...items.map((it) => it.count));
  return h("ul", { class: "bars" }, items.map((it) => {
    const fill = h("span", { class: "fill" });
    fill.style.width = `${(100 * it.count) / max}%`; // CSSOM, allowed by the page's CSP
    return h("li", {},
      h("span", { class: "label", title: it.label }, it.label),
      h("span", { class: "track" }, fill),
      h("span", { class: "count" }, `${fmt.number(it.count)} · ${Math.round((100 * it.count) / total)}%`));
  }));
}
