// A job's page before its issue fills it: says what will appear here.
import { h } from "../dom.js";

export function placeholderPage({ title, intro, panels }) {
  return {
    title,
    render(root) {
      root.append(
        h("header", { class: "page-head" }, h("h1", {}, title), h("p", { class: "lead" }, intro)),
        h("div", { class: "grid" }, panels.map(([name, text]) =>
          h("div", { class: "panel placeholder" }, h("span", { class: "badge muted" }, "coming"),
            h("h2", {}, name), h("p", {}, text)))),
      );
    },
  };
}
