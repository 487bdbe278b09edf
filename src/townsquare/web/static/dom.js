// Building DOM safely: text always goes in as text (post content is untrusted), never as HTML.
const SVG_NS = "http://www.w3.org/2000/svg";

function build(el, attrs, children) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// h("p", {class: "muted"}, "text", h("b", {}, "bold"))
export const h = (tag, attrs, ...children) => build(document.createElement(tag), attrs, children);
export const svg = (tag, attrs, ...children) => build(document.createElementNS(SVG_NS, tag), attrs, children);

export const fmt = {
  number: (n) => Number(n).toLocaleString("en-US"),
  // Times arrive as UTC ISO 8601; show them as UTC so every reader sees the same clock.
  time: (iso) => (iso ? `${iso.replace("T", " ").slice(0, 16)} UTC` : ""),
  day: (iso) => (iso ? iso.slice(0, 10) : ""),
};

const LANGUAGES = {
  en: "English", zh: "Chinese", es: "Spanish", fr: "French", de: "German", ja: "Japanese", ko: "Korean",
  pt: "Portuguese", ar: "Arabic", ru: "Russian", it: "Italian", unknown: "unknown",
};
export const languageName = (code) => (LANGUAGES[code] ? `${LANGUAGES[code]} (${code})` : code);

export function debounce(fn, ms = 250) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
