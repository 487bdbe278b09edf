// The dashboard shell: hash routes (#/listen), the API key prompt, and one module per page in pages/.
// A page module exports default {title, render(root, ctx)}; render may be async and may throw ApiError.
import { api, ApiError, key } from "./api.js";
import { h } from "./dom.js";

const PAGES = ["overview", "listen", "understand", "recommend", "create", "respond"];
const main = document.getElementById("page");
const dialog = document.getElementById("key-dialog");
const keyInput = document.getElementById("key-input");
const keyError = document.getElementById("key-error");
const roleBadge = document.getElementById("who-role");
let renderCount = 0;

function pageName() {
  const name = window.location.hash.replace(/^#\/?/, "").split(/[/?]/)[0];
  return PAGES.includes(name) ? name : "overview";
}

export function toast(message, kind = "info") {
  const el = document.getElementById("toast");
  el.textContent = message;
  el.className = `toast ${kind}`;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (el.hidden = true), 3000);
}

function showRole(me) {
  roleBadge.textContent = me ? `${me.role}${me.name ? ` · ${me.name}` : ""}` : "no key";
  roleBadge.className = `badge ${me ? "role-" + me.role : "muted"}`;
}

function askForKey(message = "") {
  keyInput.value = "";
  keyError.textContent = message;
  keyError.hidden = !message;
  if (!dialog.open) dialog.showModal();
  keyInput.focus();
}

function problemPanel(err) {
  if (err instanceof ApiError && err.status === 401) {
    return h("div", { class: "panel notice" }, h("h2", {}, "This page needs an API key"),
      h("p", {}, err.message),
      h("button", { type: "button", class: "primary", onclick: () => askForKey() }, "Enter API key"));
  }
  if (err instanceof ApiError && err.status === 403) {
    return h("div", { class: "panel notice" }, h("h2", {}, "Your key may not see this page"), h("p", {}, err.message));
  }
  return h("div", { class: "panel notice error" }, h("h2", {}, "Something went wrong"), h("p", {}, err.message));
}

async function render() {
  const name = pageName();
  const mine = ++renderCount; // a newer navigation wins over a slower, older one
  for (const a of document.querySelectorAll("nav.jobs a")) {
    a.classList.toggle("active", a.dataset.page === name);
    if (a.dataset.page === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  main.dataset.state = "loading";
  const root = h("section", { class: "page", "data-page": name });
  main.replaceChildren(root);
  try {
    const page = (await import(`./pages/${name}.js`)).default;
    document.title = `${page.title} · townsquare`;
    // The page calls with the key it was drawn for: a key changed meanwhile (another tab, the key dialog, which
    // draws the page again) never reaches a page that is still polling with what the old key allowed.
    const pageKey = key.get();
    const pageApi = (path, options = {}) => api(path, { apiKey: pageKey, ...options });
    await page.render(root, { api: pageApi, apiKey: pageKey, toast, askForKey });
    if (mine === renderCount) main.dataset.state = "ready";
  } catch (err) {
    if (mine !== renderCount) return;
    root.replaceChildren(problemPanel(err));
    main.dataset.state = err instanceof ApiError && err.status === 401 ? "needs-key" : "error";
    if (!(err instanceof ApiError)) console.error(err);
  }
}

async function checkKey(candidate) {
  const me = await api("/me", { apiKey: candidate });
  key.set(candidate);
  showRole(me);
  return me;
}

document.getElementById("key-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const candidate = keyInput.value.trim();
  try {
    await checkKey(candidate);
    dialog.close();
    toast("Key saved in this browser.");
    render();
  } catch (err) {
    keyError.textContent = err.message;
    keyError.hidden = false;
  }
});
document.getElementById("key-button").addEventListener("click", () => askForKey());
document.getElementById("key-cancel").addEventListener("click", () => dialog.close());
document.getElementById("key-forget").addEventListener("click", () => {
  key.clear();
  showRole(null);
  dialog.close();
  toast("Key removed from this browser.");
  render();
});
window.addEventListener("hashchange", render);

async function start() {
  // `#key=ts_...` (printed by `townsquare serve --demo`) saves the key and drops it from the address bar.
  const fromLink = window.location.hash.match(/^#key=(ts_[\w-]+)$/);
  if (fromLink) {
    key.set(fromLink[1]);
    history.replaceState(null, "", "#/overview");
  }
  if (key.get()) {
    try {
      await checkKey(key.get());
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) key.clear();
    }
  }
  await render();
  if (!key.get()) askForKey();
}

start();
