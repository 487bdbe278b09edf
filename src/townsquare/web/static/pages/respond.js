// Respond: a customer chat with the assistant (answers cite the knowledge base, a person takes over when needed)
// and the agents' console: open hand-offs with their summary, the conversation, a reply box.
// A customer key sees only the chat; agent and admin keys see both.
import { h, fmt } from "../dom.js";

const POLL_MS = 2500;
const HANDED_OFF = "A colleague has this conversation and will reply here.";
const REASONS = {
  asked_for_person: "asked for a person", out_of_scope: "out of scope", low_confidence: "no confident answer",
  angry: "angry customer", sensitive: "sensitive topic",
};

function stylesheet() {
  if (document.getElementById("respond-css")) return;
  document.head.append(h("link", { id: "respond-css", rel: "stylesheet", href: "/static/pages/respond.css" }));
}

const storageName = (apiKey) => `townsquare.respond.conversation.${apiKey.slice(0, 12)}`;

function sourcesList(meta) {
  if (!meta.sources || !meta.sources.length) return null;
  return h("ol", { class: "chat-sources" }, meta.sources.map((s) => h("li", { value: s.n },
    h("span", {}, s.title + (s.heading && s.heading !== s.title ? ` › ${s.heading}` : "")),
    h("span", { class: "muted" }, ` ${s.source}`))));
}

// The reply without its "Sources:" block (shown as a list underneath instead).
const body = (m) => (m.meta && m.meta.sources && m.meta.sources.length
  ? m.text.split(/\n\n(?:Sources|来源):\n/)[0] : m.text);

function bubble(m, { api, rate = false } = {}) {
  const who = { customer: "You", assistant: "Assistant", agent: "Agent", system: "" }[m.role] ?? m.role;
  const meta = m.meta || {};
  let rating = null;
  if (rate && m.role === "assistant" && !meta.refused) {
    const status = h("span", { class: "muted small" });
    const vote = (value) => async () => {
      try {
        await api(`/messages/${m.id}/feedback`, { method: "POST", body: { rating: value } });
        status.textContent = value > 0 ? "Thanks!" : "Thanks — an agent will look at it.";
      } catch (err) {
        status.textContent = err.message;
      }
    };
    rating = h("div", { class: "chat-rate" },
      h("button", { type: "button", class: "link rate-up", title: "Helpful", onclick: vote(1) }, "👍"),
      h("button", { type: "button", class: "link rate-down", title: "Not helpful", onclick: vote(-1) }, "👎"),
      status);
  }
  return h("li", { class: `chat-msg role-${m.role}`, "data-id": m.id, "data-role": m.role },
    h("div", { class: "chat-who" }, who, meta.handoff_reason
      ? h("span", { class: "badge tone-bad" }, `hand-off: ${REASONS[meta.handoff_reason] || meta.handoff_reason}`)
      : null),
    h("p", { class: "chat-text", lang: m.lang || null }, body(m)),
    sourcesList(meta), rating);
}

function chatPanel(api, apiKey) {
  const stored = storageName(apiKey);
  const log = h("ol", { class: "chat-log", id: "chat-log" });
  const input = h("textarea", { id: "chat-input", rows: 2, maxlength: 4000,
    placeholder: "Ask about returns, shipping, warranty or your account — English or 中文" });
  const send = h("button", { type: "submit", class: "primary", id: "chat-send" }, "Send");
  const fresh = h("button", { type: "button", class: "secondary", id: "chat-new" }, "New conversation");
  const status = h("p", { class: "muted small", id: "chat-status" });
  let conversation = Number(localStorage.getItem(stored)) || null;
  let last = 0;

  function show(messages) {
    for (const m of messages) {
      if (m.id <= last) continue;
      log.append(bubble(m, { api, rate: true }));
      last = m.id;
    }
    log.scrollTop = log.scrollHeight;
  }

  async function load() {
    if (!conversation) return;
    try {
      const c = await api(`/conversations/${conversation}`, { query: { after: last } });
      show(c.messages);
      if (c.handoff) status.textContent = HANDED_OFF;
    } catch (err) {
      if (err.status === 404) { // e.g. another key's conversation: start over
        localStorage.removeItem(stored);
        conversation = null;
      }
    }
  }

  async function submit(event) {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) {
      status.textContent = "Type a question first.";
      return;
    }
    send.disabled = true;
    status.textContent = "The assistant is answering…";
    try {
      if (!conversation) {
        conversation = (await api("/conversations", { method: "POST", body: { channel: "web" } })).id;
        localStorage.setItem(stored, String(conversation));
      }
      const out = await api(`/conversations/${conversation}/messages`, { method: "POST", body: { text } });
      input.value = "";
      show([out.message, out.reply].filter(Boolean));
      const notes = [];
      if (out.notice) notes.push(out.notice);
      if (out.handoff && !out.notice) notes.push(HANDED_OFF);
      status.textContent = notes.join(" ");
    } catch (err) {
      status.textContent = err.message;
    } finally {
      send.disabled = false;
      input.focus();
    }
  }

  fresh.addEventListener("click", () => {
    localStorage.removeItem(stored);
    conversation = null;
    last = 0;
    log.replaceChildren();
    status.textContent = "";
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) submit(e);
  });

  const panel = h("section", { class: "panel chat-panel", id: "chat-panel" },
    h("h2", {}, "Customer chat"),
    h("p", { class: "muted small" }, "Answers quote the knowledge base and cite it; ask for a person at any time."),
    log,
    h("form", { class: "chat-form", onsubmit: submit }, input, h("div", { class: "actions" }, send, fresh)),
    status);
  return { panel, load };
}

function consolePanel(api) {
  const list = h("ul", { class: "handoff-list", id: "handoff-list" });
  const detail = h("div", { class: "handoff-detail", id: "handoff-detail" },
    h("p", { class: "muted" }, "Pick a hand-off to read the conversation and reply."));
  const count = h("span", { class: "badge muted", id: "handoff-count" }, "0 open");
  let current = null;
  let live = null; // the open conversation: {id, log, last} — new customer messages are appended on each poll

  async function open(id) {
    current = id;
    for (const li of list.children) li.classList.toggle("active", Number(li.dataset.id) === id);
    const hd = await api(`/handoffs/${id}`);
    const reply = h("textarea", { id: "agent-reply", rows: 3, maxlength: 10000,
      placeholder: "Your answer to the customer" });
    const sendBtn = h("button", { type: "submit", class: "primary", id: "agent-send" }, "Send reply");
    const closeBtn = h("button", { type: "button", class: "secondary", id: "handoff-close" }, "Close hand-off");
    const status = h("p", { class: "muted small", id: "agent-status" });
    const log = h("ol", { class: "chat-log agent-log", id: "agent-log" },
      hd.conversation.messages.map((m) => bubble(m)));
    const msgs = hd.conversation.messages;
    live = { id: hd.conversation_id, log, last: msgs.length ? msgs[msgs.length - 1].id : 0 };
    sendBtn.disabled = closeBtn.disabled = hd.status !== "open";
    async function send(event) {
      event.preventDefault();
      if (!reply.value.trim()) {
        status.textContent = "Write the reply first.";
        return;
      }
      sendBtn.disabled = true;
      try {
        const m = await api(`/handoffs/${id}/reply`, { method: "POST", body: { text: reply.value } });
        if (m.id > live.last) {
          log.append(bubble(m));
          live.last = m.id;
        }
        reply.value = "";
        status.textContent = "Sent to the customer.";
      } catch (err) {
        status.textContent = err.message;
      } finally {
        sendBtn.disabled = false;
      }
    }
    closeBtn.addEventListener("click", async () => {
      await api(`/handoffs/${id}/close`, { method: "POST" });
      status.textContent = "Closed: the assistant answers this conversation again.";
      sendBtn.disabled = closeBtn.disabled = true;
      await refresh();
    });
    detail.replaceChildren(
      h("h3", {}, `#${hd.id} · ${REASONS[hd.reason] || hd.reason}`,
        h("span", { class: "muted small" }, ` · conversation ${hd.conversation_id} · ${fmt.time(hd.created_at)}`)),
      h("pre", { class: "handoff-summary", id: "handoff-summary" }, hd.summary),
      log,
      h("form", { class: "chat-form", onsubmit: send }, reply, h("div", { class: "actions" }, sendBtn, closeBtn)),
      status);
  }

  async function follow() {
    if (!live) return;
    const c = await api(`/conversations/${live.id}`, { query: { after: live.last } });
    for (const m of c.messages) {
      if (m.id <= live.last) continue;
      live.log.append(bubble(m));
      live.last = m.id;
    }
  }

  async function refresh() {
    await follow().catch(() => {});
    const { handoffs } = await api("/handoffs");
    count.textContent = `${handoffs.length} open`;
    list.replaceChildren(...handoffs.map((hd) => h("li", {
      class: "handoff-item" + (hd.id === current ? " active" : ""), "data-id": hd.id,
      onclick: () => open(hd.id).catch((err) => { detail.textContent = err.message; }),
    }, h("div", { class: "post-meta" }, h("span", { class: "badge tone-bad" }, REASONS[hd.reason] || hd.reason),
      h("span", {}, `#${hd.id}`), h("time", {}, fmt.time(hd.created_at))),
    h("p", { class: "handoff-title" }, hd.title || "(no question yet)"))));
    if (!handoffs.length) list.append(h("li", { class: "muted" }, "No open hand-offs."));
  }

  const panel = h("section", { class: "panel console-panel", id: "console-panel" },
    h("h2", {}, "Agent console ", count), list, detail);
  return { panel, refresh };
}

export default {
  title: "Respond",
  async render(root, { api, apiKey }) {
    stylesheet();
    const me = await api("/me");
    const agent = me.permissions.includes("*") || me.permissions.includes("respond");
    const chat = chatPanel(api, apiKey);
    const desk = agent ? consolePanel(api) : null;
    root.append(
      h("header", { class: "page-head" }, h("h1", {}, "Respond"),
        h("p", { class: "lead" }, "A customer-service assistant grounded in your knowledge base: every answer "
          + "quotes and cites it, and a person takes over when the question is out of scope, nothing confident "
          + "is found, the customer is upset or asks for one, or the topic is sensitive.")),
      h("div", { class: "grid halves respond-grid" }, chat.panel,
        desk ? desk.panel : h("section", { class: "panel muted" }, h("h2", {}, "Agent console"),
          h("p", {}, "Agent and admin keys see the hand-off queue here."))));
    await Promise.all([chat.load(), desk ? desk.refresh() : null]);
    // Poll while the page is open: agents' replies reach the customer, new hand-offs reach the console.
    (async () => {
      while (root.isConnected) {
        await new Promise((r) => setTimeout(r, POLL_MS));
        if (!root.isConnected) break;
        await Promise.all([chat.load(), desk ? desk.refresh() : null]).catch(() => {});
      }
    })();
  },
};
