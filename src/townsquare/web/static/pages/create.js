// Create: a brief in, ranked candidates out — each checked for length, language, toxicity, PII and tone, with
// the reason for every rejection. English and Chinese; X, Mastodon and Weibo limits.
import { h } from "../dom.js";

const LIMITS = { x: 280, mastodon: 500, weibo: 140 };

function candidateCard(c) {
  const copy = h("button", { type: "button", class: "secondary", onclick: async () => {
    await navigator.clipboard?.writeText(c.text).catch(() => {});
    copy.textContent = "Copied";
  } }, "Copy");
  return h("li", { class: "post candidate" + (c.passed ? "" : " rejected"), "data-passed": String(c.passed) },
    h("div", { class: "post-meta" },
      h("span", { class: `badge ${c.passed ? "tone-good" : "tone-bad"}` }, c.passed ? `#${c.rank} passed` : "rejected"),
      h("span", { class: "badge muted" }, `${[...c.text].length} chars`),
      h("span", { class: "badge muted" }, `score ${c.score.toFixed(2)}`),
      c.passed ? copy : null),
    h("p", { class: "post-text" }, c.text || "(empty)"),
    c.reasons.length ? h("ul", { class: "reasons" }, c.reasons.map((r) => h("li", { class: "error" }, r))) : null);
}

export default {
  title: "Create",
  async render(root, { api }) {
    const brief = h("textarea", { id: "create-brief", rows: 3, maxlength: 2000,
      placeholder: "What to write about: topic, key points — e.g. our oat latte is back on Monday" });
    const lang = h("select", { id: "create-lang" }, h("option", { value: "en" }, "English"),
      h("option", { value: "zh" }, "Chinese 中文"));
    const platform = h("select", { id: "create-platform" },
      Object.entries(LIMITS).map(([p, n]) => h("option", { value: p }, `${p} (${n})`)));
    const tone = h("select", { id: "create-tone" }, ["", "joy", "optimism", "neutral", "apologetic"].map(
      (t) => h("option", { value: t }, t || "any tone")));
    const n = h("input", { id: "create-n", type: "number", min: 1, max: 20, value: 5 });
    const tags = h("input", { id: "create-hashtags", type: "checkbox", checked: true });
    const replyTo = h("textarea", { id: "create-reply-to", rows: 2, maxlength: 5000,
      placeholder: "Optional: paste a post to write a reply to it instead" });
    const button = h("button", { type: "submit", class: "primary", id: "create-button" }, "Write candidates");
    const status = h("p", { class: "muted", id: "create-status" });
    const notes = h("ul", { class: "notes", id: "create-notes" });
    const list = h("ol", { class: "posts", id: "create-results" });

    async function run(event) {
      event?.preventDefault();
      button.disabled = true;
      status.className = "muted";
      status.textContent = "Writing…";
      const started = performance.now();
      try {
        const out = await api("/generate", { method: "POST", body: {
          brief: brief.value, lang: lang.value, platform: platform.value, tone: tone.value || null,
          n: Number(n.value), hashtags: tags.checked, reply_to: replyTo.value.trim() || null } });
        notes.replaceChildren(...out.warnings.map((w) => h("li", { class: "muted" }, w)));
        list.replaceChildren(...out.candidates.map(candidateCard));
        const passed = out.candidates.filter((c) => c.passed).length;
        status.textContent = `${passed} of ${out.candidates.length} passed the checks · ranked by ${out.ranking} · `
          + `${((performance.now() - started) / 1000).toFixed(1)} s${out.adapter ? " · fine-tuned adapter" : ""}`;
      } catch (err) {
        status.textContent = err.message;
        status.className = "error";
      } finally {
        button.disabled = false;
      }
    }

    root.append(
      h("header", { class: "page-head" }, h("h1", {}, "Create"),
        h("p", { class: "lead" }, "Posts and replies from a language model fine-tuned on social text. Every "
          + "candidate is checked — length, language, toxicity, personal data, tone — and ranked by the "
          + "engagement similar posts got here before.")),
      h("section", { class: "panel wide" },
        h("form", { class: "create-form", onsubmit: run },
          h("label", { class: "field" }, "Brief", brief),
          h("div", { class: "filters" },
            h("label", { class: "field" }, "Language", lang), h("label", { class: "field" }, "Platform", platform),
            h("label", { class: "field" }, "Tone", tone), h("label", { class: "field" }, "Candidates", n),
            h("label", { class: "field" }, "Hashtags", tags)),
          h("label", { class: "field" }, "Reply to", replyTo),
          h("div", { class: "actions" }, button)),
        status, notes, list));
  },
};
