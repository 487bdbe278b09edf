// Understand: paste posts (one per line, English or Chinese) and see every label with its confidence.
import { h } from "../dom.js";

const EXAMPLE = [
  "Just got the new Acme Phone X and the camera is amazing 😍 #AcmePhone",
  "My Acme Phone X gets so hot while charging, this is dangerous. Contact me: jane.doe@example.com",
  "这家店的服务太差了，再也不来了！",
  "新买的耳机音质很好，性价比高👍",
].join("\n");
const PROBABILITIES = ["toxicity", "offensive", "hate", "irony", "crisis_informative"];
const TONE = { negative: "bad", positive: "good", neutral: "muted" };
// What each probability learnt from, shown on hover: none of these heads saw a Chinese label.
const LEARNT = {
  toxicity: "The larger of offensive and hate.",
  offensive: "Learnt from TweetEval's English offensive tweets.",
  hate: "Learnt from TweetEval's English hate-speech tweets.",
  irony: "Learnt from TweetEval's English irony tweets, half of them ironic: a weak signal that marks most "
    + "ordinary posts as 50% or more.",
  crisis_informative: "Learnt from CrisisLexT26's English disaster tweets.",
};
const ACROSS = " Read across languages here: no Chinese post was labelled for it.";

const pct = (p) => `${Math.round(p * 100)}%`;

function meter(label, p, note) {
  const fill = h("span", { class: "meter-fill" });
  fill.style.width = pct(p); // CSSOM, not a style attribute: the page's CSP forbids inline styles
  return h("div", { class: "meter" + (p >= 0.5 ? " hot" : ""), title: note },
    h("span", { class: "meter-label" }, label.replace("_", " ")),
    h("span", { class: "meter-track" }, fill),
    h("span", { class: "meter-value" }, pct(p)));
}

function resultCard(text, r) {
  if (r.error) {
    return h("li", { class: "post analysis" }, h("p", { class: "post-text" }, text), h("p", { class: "error" }, r.error));
  }
  const s = r.sentiment;
  return h("li", { class: "post analysis" },
    h("div", { class: "post-meta" },
      h("span", { class: `badge tone-${TONE[s.label]}` }, `${s.label} ${pct(s.scores[s.label])}`),
      h("span", { class: "badge muted" }, `${r.emotion.label} ${pct(r.emotion.scores[r.emotion.label])}`),
      h("span", { class: "badge muted" }, r.lang),
      r.pii.length ? h("span", { class: "badge tone-bad" }, `PII: ${r.pii.map((p) => p.kind).join(", ")}`) : null),
    h("p", { class: "post-text", lang: r.lang }, text),
    h("div", { class: "meters" }, PROBABILITIES.map((name) =>
      meter(name, r[name], LEARNT[name] + (r.lang.startsWith("zh") ? ACROSS : "")))));
}

export default {
  title: "Understand",
  async render(root, { api }) {
    const box = h("textarea", { id: "analyze-input", rows: 6, maxlength: 200000,
      placeholder: "One post per line — English, Chinese or both" }, EXAMPLE);
    const status = h("p", { class: "muted", id: "analyze-status" });
    const list = h("ul", { class: "posts", id: "analyze-results" });
    const button = h("button", { type: "submit", class: "primary", id: "analyze-button" }, "Analyse");
    async function run(event) {
      event?.preventDefault();
      const texts = box.value.split("\n").map((t) => t.trim()).filter(Boolean).slice(0, 500);
      if (!texts.length) {
        status.textContent = "text: nothing to analyse — paste at least one post";
        return;
      }
      button.disabled = true;
      status.textContent = `Analysing ${texts.length} post(s)…`;
      const started = performance.now();
      try {
        const out = await api("/analyze", { method: "POST", body: { posts: texts.map((text, i) => ({ id: i, text })) } });
        list.replaceChildren(...out.results.map((r, i) => resultCard(texts[i], r)));
        status.textContent = `${texts.length} post(s) analysed in ${Math.round(performance.now() - started)} ms.`;
        status.className = "muted";
      } catch (err) {
        status.textContent = err.message;
        status.className = "error";
      } finally {
        button.disabled = false;
      }
    }
    root.append(
      h("header", { class: "page-head" }, h("h1", {}, "Understand"),
        h("p", { class: "muted" }, "Sentiment, emotion, toxicity, irony, crisis relevance, language and personal data "
          + "for each post, in one batched pass. Probabilities of 50% or more count as yes.")),
      h("section", { class: "panel wide" }, h("h2", {}, "Analyse posts"),
        h("form", { class: "analyze-form", onsubmit: run }, box, h("div", { class: "actions" }, button)),
        status, list));
    await run();
  },
};
