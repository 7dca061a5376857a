/*
 * Briefing Assistant help widget: cited answers in a chat bubble on any page.
 *
 *   <script src="http://HOST:PORT/widget.js" data-api-key="ASK_ONLY_KEY" async></script>
 *
 * Options are the tag's data- attributes (README, "Help widget"). Everything lives in a shadow
 * root on a <briefing-assistant> element: the page's CSS can't reach in and ours can't leak
 * out. Text from documents and answers is only ever set as textContent, never parsed as HTML.
 * The one global is window.BriefingAssistant; nothing is fetched but the API of the server
 * this script came from.
 */
(() => {
  "use strict";
  if (window.BriefingAssistant) return; // the tag pasted twice

  // The server fills in its default collection (BRIEF_COLLECTION) when it serves this file.
  const SERVER_COLLECTION = "__BRIEF_COLLECTION__";
  const HISTORY_MESSAGES = 10; // earlier messages sent with a question, for follow-ups
  const KEPT_TURNS = 20; // question-answer pairs kept for a reload
  const NOT_FOUND = "Not found in the documents";
  const UNSUPPORTED = "⚠ not supported by the cited source";

  // An async script may run after the parser has moved on: then find the tag by its address.
  const tag =
    document.currentScript || [...document.querySelectorAll("script[src*='widget.js']")].pop();
  if (!tag || !tag.src) return;
  const data = tag.dataset;
  const base = tag.src.replace(/\/widget\.js(?:[?#].*)?$/, "");
  const flag = (v) => v !== undefined && !/^(false|0|no)$/i.test(v);
  const config = {
    key: data.apiKey || "",
    collection: data.collection || "",
    title: data.title || "Ask us",
    left: data.position === "bottom-left",
    colour: data.colour || data.color || "#1f5fbf",
    greeting:
      data.greeting ||
      "Hello! Ask a question about our documents; every answer shows where it comes from.",
    open: flag(data.open),
    timeoutMs: (Number(data.timeout) > 0 ? Number(data.timeout) : 45) * 1000,
  };
  const collection =
    config.collection || (SERVER_COLLECTION.startsWith("__") ? "default" : SERVER_COLLECTION);
  const storeKey = `briefing-assistant|${base}|${collection}`;

  const STYLE = `
:host { all: initial !important; position: fixed !important; display: block !important;
  bottom: 0 !important; right: 0 !important; width: 0 !important; height: 0 !important;
  z-index: 2147483647 !important; visibility: visible !important; opacity: 1 !important;
  transform: none !important; filter: none !important; contain: none !important; }
.ba { all: initial; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  font-size: 15px; line-height: 1.45; color: #1f2328; --accent: #1f5fbf; --on-accent: #fff; }
.ba *, .ba *::before, .ba *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
button { font: inherit; color: inherit; cursor: pointer; margin: 0; }
:focus-visible { outline: 3px solid #111; outline-offset: 2px; box-shadow: 0 0 0 2px #fff; }
.launcher { position: fixed; bottom: 20px; right: 20px; width: 56px; height: 56px; padding: 0;
  border: 0; border-radius: 50%; background: var(--accent); color: var(--on-accent);
  box-shadow: 0 4px 14px rgba(0, 0, 0, .28); display: flex; align-items: center;
  justify-content: center; }
.launcher svg { width: 28px; height: 28px; fill: currentColor; }
.panel { position: fixed; bottom: 88px; right: 20px; width: 380px;
  height: min(600px, calc(100vh - 108px)); display: flex; flex-direction: column;
  background: #fff; border: 1px solid #c9d1d9; border-radius: 12px; overflow: hidden;
  box-shadow: 0 10px 32px rgba(0, 0, 0, .25); }
.left .launcher, .left .panel { right: auto; left: 20px; }
.head { display: flex; align-items: center; gap: 8px; padding: 10px 10px 10px 14px;
  background: var(--accent); color: var(--on-accent); }
h2 { flex: 1; margin: 0; font-size: 16px; font-weight: 600; }
.head button { background: transparent; border: 1px solid currentColor; border-radius: 6px;
  padding: 3px 8px; font-size: 13px; }
.head .close { border: 0; width: 32px; height: 32px; padding: 0; font-size: 22px;
  line-height: 1; }
.log { flex: 1; overflow-y: auto; padding: 12px; display: flex; flex-direction: column;
  gap: 10px; background: #f6f8fa; }
.msg { max-width: 92%; padding: 8px 11px; border-radius: 10px; overflow-wrap: anywhere; }
.msg p { margin: 0; white-space: pre-wrap; }
.user { align-self: flex-end; background: var(--accent); color: var(--on-accent); }
.bot { align-self: flex-start; background: #fff; border: 1px solid #d0d7de; }
.notfound { border-left: 4px solid #bf8700; background: #fff8e5; }
.label { display: block; font-size: 12px; font-weight: 700; text-transform: uppercase;
  letter-spacing: .04em; color: #7d4e00; margin-bottom: 2px; }
.problem { border-left: 4px solid #cf222e; background: #ffebe9; }
.problem .retry { display: inline-block; margin-top: 6px; background: #fff;
  border: 1px solid #cf222e; border-radius: 6px; padding: 3px 10px; font-size: 13px; }
.typing::after { content: "…"; animation: blink 1s steps(2) infinite; }
@keyframes blink { 50% { opacity: .3; } }
.marker { display: inline; font-size: 12px; font-weight: 600; padding: 0 3px; border: 0;
  border-radius: 4px; background: #ddf4ff; color: #0550ae; vertical-align: 1px; }
.flag { color: #cf222e; font-size: 12px; }
.short { margin: 0 0 6px; font-size: 16px; }
.short .label { display: inline; color: #57606a; margin-right: 4px; }
.sources { margin-top: 8px; padding-top: 6px; border-top: 1px solid #d8dee4; }
.sources h3 { margin: 0 0 2px; font-size: 12px; font-weight: 700; text-transform: uppercase;
  letter-spacing: .04em; color: #57606a; }
.sources ol { list-style: none; margin: 0; padding: 0; }
.src > button { display: block; width: 100%; text-align: left; background: none; border: 0;
  border-radius: 4px; padding: 4px 2px; font-size: 13px; }
.src > button:hover { background: #f3f4f6; }
.src > button::before { content: "▸ "; color: #57606a; }
.src > button[aria-expanded="true"]::before { content: "▾ "; }
.src .n { font-weight: 700; color: #0550ae; }
.src .where { color: #57606a; }
.quote { margin: 2px 0 8px; padding: 6px 8px; border-left: 3px solid var(--accent);
  background: #f6f8fa; font-size: 13px; }
.quote blockquote { margin: 0; white-space: pre-wrap; max-height: 220px; overflow-y: auto; }
.quote a { display: inline-block; margin-top: 4px; color: #0969da; font-size: 12px; }
.form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #d0d7de;
  background: #fff; }
textarea { flex: 1; min-width: 0; height: 42px; max-height: 120px; resize: none; margin: 0;
  padding: 9px 10px; font: inherit; color: inherit; background: #fff;
  border: 1px solid #8c959f; border-radius: 8px; }
.send { border: 0; border-radius: 8px; padding: 0 14px; font-weight: 600;
  background: var(--accent); color: var(--on-accent); }
.send:disabled { opacity: .55; cursor: default; }
.msg .stopped { color: #59636e; font-style: italic; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
  white-space: nowrap; }
@media (max-width: 480px) {
  .panel, .left .panel { left: 8px; right: 8px; top: 8px; bottom: 78px; width: auto;
    height: auto; }
  .launcher { bottom: 12px; right: 12px; }
  .left .launcher { left: 12px; }
}`;

  // --- building blocks ---------------------------------------------------------------------

  function el(name, attrs, ...children) {
    const node = document.createElement(name);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (v !== false && v != null) node.setAttribute(k, v === true ? "" : v);
    }
    node.append(...children.filter((c) => c != null));
    return node;
  }

  function chatIcon() {
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute(
      "d",
      "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z" +
        "m3 6v2h2V9H7zm4 0v2h2V9h-2zm4 0v2h2V9h-2z",
    );
    svg.append(path);
    return svg;
  }

  let ids = 0;
  const nextId = (prefix) => `${prefix}-${++ids}`;

  // --- the shadow root and its parts -------------------------------------------------------

  const host = document.createElement("briefing-assistant");
  // Inline and !important as well as :host, for browsers that rank the page's !important first.
  host.style.cssText =
    "all:initial!important;position:fixed!important;display:block!important;bottom:0!important;" +
    "right:0!important;width:0!important;height:0!important;z-index:2147483647!important";
  const root = host.attachShadow({ mode: "open" });
  const frame = el("div", { class: config.left ? "ba left" : "ba" });
  const launcher = el(
    "button",
    {
      type: "button",
      class: "launcher",
      "aria-label": `${config.title} (help chat)`,
      "aria-expanded": "false",
      "aria-controls": "ba-panel",
      onclick: () => (panel.hidden ? open(true) : close()),
      onkeydown: (e) => e.key === "Escape" && !panel.hidden && close(),
    },
    chatIcon(),
  );
  // Focusable, so that a keyboard can scroll a long conversation.
  const log = el("div", {
    class: "log",
    role: "log",
    "aria-live": "polite",
    "aria-label": "Conversation",
    tabindex: "0",
  });
  const input = el("textarea", {
    id: "ba-question",
    rows: "1",
    placeholder: "Ask a question…",
    onkeydown: (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        if (!busy) submit(); // Enter asks; only the Stop button stops
      }
    },
  });
  const send = el("button", { type: "submit", class: "send", text: "Ask" });
  const form = el(
    "form",
    {
      class: "form",
      onsubmit: (e) => {
        e.preventDefault();
        submit();
      },
    },
    el("label", { for: "ba-question", class: "sr", text: "Your question" }),
    input,
    send,
  );
  const panel = el(
    "div",
    {
      id: "ba-panel",
      class: "panel",
      role: "dialog",
      "aria-modal": "true",
      "aria-labelledby": "ba-title",
      hidden: true,
      onkeydown: onPanelKey,
    },
    el(
      "div",
      { class: "head" },
      el("h2", { id: "ba-title", text: config.title }),
      el("button", { type: "button", class: "new", text: "New chat", onclick: clear }),
      el("button", {
        type: "button",
        class: "close",
        "aria-label": "Close",
        text: "×",
        onclick: () => close(),
      }),
    ),
    log,
    form,
  );
  frame.append(panel, launcher);
  // Keys typed here are ours: the page's own shortcuts must not fire while someone types.
  for (const kind of ["keydown", "keyup", "keypress"]) {
    frame.addEventListener(kind, (e) => e.stopPropagation());
  }
  root.append(el("style", { text: STYLE }), frame);

  function setColour(colour) {
    if (!window.CSS || !window.CSS.supports("color", colour)) return;
    frame.style.setProperty("--accent", colour);
    const [r, g, b] = (getComputedStyle(launcher).backgroundColor.match(/[\d.]+/g) || [])
      .slice(0, 3)
      .map((x) => {
        const c = Number(x) / 255;
        return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
      });
    // White or near-black labels on it, whichever contrasts more (WCAG relative luminance).
    const lum = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    if ((lum + 0.05) / 0.0556 > 1.05 / (lum + 0.05)) frame.style.setProperty("--on-accent", "#111");
  }

  // --- opening, closing, keyboard ----------------------------------------------------------

  function open(focus) {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    remember("open", true);
    log.scrollTop = log.scrollHeight;
    if (focus) input.focus();
  }

  function close() {
    const hadFocus = root.activeElement && panel.contains(root.activeElement);
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    remember("open", false);
    if (hadFocus || root.activeElement === launcher) launcher.focus();
  }

  function focusable() {
    return [...panel.querySelectorAll("button, textarea, a[href], [tabindex='0']")].filter(
      (n) => !n.disabled && n.getClientRects().length > 0,
    );
  }

  function onPanelKey(e) {
    if (e.key === "Escape") {
      e.preventDefault();
      close();
    } else if (e.key === "Tab") {
      // Focus stays in the open panel: Tab from the last control goes to the first, and back.
      const items = focusable();
      const first = items[0];
      const last = items[items.length - 1];
      const active = root.activeElement;
      if (e.shiftKey && (active === first || !panel.contains(active))) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && active === last) {
        e.preventDefault();
        first.focus();
      }
    }
  }

  // --- the conversation, kept for the session ----------------------------------------------

  let turns = [];
  let busy = null; // the AbortController of the question in flight

  function remember(field, value) {
    try {
      const saved = JSON.parse(sessionStorage.getItem(storeKey) || "{}");
      saved[field] = value;
      sessionStorage.setItem(storeKey, JSON.stringify(saved));
    } catch (_) {
      // Storage off or full: the conversation just won't survive a reload.
    }
  }

  function restore() {
    try {
      return JSON.parse(sessionStorage.getItem(storeKey) || "{}");
    } catch (_) {
      return {};
    }
  }

  function keep(question, answer) {
    const pick = (o, names) => Object.fromEntries(names.map((k) => [k, o[k]]));
    const cited = ["n", "doc_id", "title", "location", "quote", "start", "end", "supported", "view"];
    turns.push({
      question,
      answer: {
        text: answer.text,
        abstained: !!answer.abstained,
        short: answer.short || null,
        short_citation: answer.short_citation || null,
        citations: (answer.citations || []).map((c) => pick(c, cited)),
        related: (answer.related || []).map((p) =>
          pick(p, ["doc_id", "title", "location", "text", "start", "end", "view"]),
        ),
        sentences: answer.sentences || [],
      },
    });
    turns = turns.slice(-KEPT_TURNS);
    remember("turns", turns);
  }

  function history() {
    return turns
      .flatMap((t) => [
        { role: "user", content: t.question },
        { role: "assistant", content: t.answer.text },
      ])
      .slice(-HISTORY_MESSAGES);
  }

  function clear() {
    if (busy) busy.abort();
    turns = [];
    remember("turns", []);
    log.replaceChildren(greeting());
    input.focus();
  }

  // --- showing messages --------------------------------------------------------------------

  const greeting = () =>
    el("div", { class: "msg bot greeting" }, el("p", { text: config.greeting }));

  function addMessage(kind, ...children) {
    const node = el("div", { class: `msg ${kind}` }, ...children);
    log.append(node);
    log.scrollTop = log.scrollHeight;
    return node;
  }

  // The server gives each citation its viewer address ("view", signed when it has API keys);
  // an older server did not, and its viewer needs no signature.
  function viewUrl(item) {
    if (typeof item.view === "string" && item.view.startsWith("/view/")) return base + item.view;
    const where = `${encodeURIComponent(collection)}/${encodeURIComponent(item.doc_id)}`;
    return `${base}/view/${where}?start=${item.start}&end=${item.end}#hl`;
  }

  // A source: a button with its title and location that shows the quote below it.
  function source(id, label, item, words) {
    const toggle = el(
      "button",
      { type: "button", "aria-expanded": "false", "aria-controls": `${id}-q`, id },
      label ? el("span", { class: "n", text: `${label} ` }) : null,
      el("span", { class: "title", text: item.title || "Untitled" }),
      item.location ? el("span", { class: "where", text: ` · ${item.location}` }) : null,
    );
    const body = el(
      "div",
      { class: "quote", id: `${id}-q`, hidden: true },
      el("blockquote", { text: words }),
      item.doc_id
        ? el("a", {
            href: viewUrl(item),
            target: "_blank",
            rel: "noopener noreferrer",
            text: "Open the document ↗",
          })
        : null,
    );
    toggle.addEventListener("click", () =>
      reveal(toggle, toggle.getAttribute("aria-expanded") !== "true"),
    );
    return el("li", { class: "src" }, toggle, body);
  }

  function reveal(toggle, show) {
    toggle.setAttribute("aria-expanded", String(show));
    root.getElementById(toggle.getAttribute("aria-controls")).hidden = !show;
  }

  function marker(n, id, cite) {
    return el("button", {
      type: "button",
      class: "marker",
      text: `[${n}]`,
      "aria-label": `Source ${n}: ${cite.title || "Untitled"}`,
      "aria-controls": `${id}-s${n}-q`,
      onclick: () => {
        const toggle = root.getElementById(`${id}-s${n}`);
        reveal(toggle, true);
        toggle.focus();
        toggle.parentNode.scrollIntoView({ block: "nearest" });
      },
    });
  }

  // Text with each known marker [n] as a button that opens source n; other text stays text.
  function marked(text, cites, id) {
    const out = [];
    let last = 0;
    for (const m of text.matchAll(/\[(\d+)\]/g)) {
      const cite = cites[m[1]];
      if (!cite) continue;
      out.push(text.slice(last, m.index), marker(m[1], id, cite));
      last = m.index + m[0].length;
    }
    out.push(text.slice(last));
    return out;
  }

  function showAnswer(node, answer) {
    const id = nextId("ba-a");
    node.replaceChildren();
    node.classList.toggle("notfound", !!answer.abstained);
    if (answer.abstained) {
      // Not an answer: the server's words, then the closest passages, labelled as such.
      node.append(el("span", { class: "label", text: NOT_FOUND }), el("p", { text: answer.text }));
      if (answer.related && answer.related.length) {
        node.append(
          el(
            "div",
            { class: "sources related" },
            el("h3", { text: "Closest passages (not an answer)" }),
            el("ol", {}, ...answer.related.map((p, i) => source(`${id}-r${i + 1}`, "", p, p.text))),
          ),
        );
      }
      return;
    }
    const cites = Object.fromEntries((answer.citations || []).map((c) => [c.n, c]));
    const text = el("p");
    const sentences = answer.sentences && answer.sentences.length ? answer.sentences : null;
    if (sentences) {
      sentences.forEach((s, i) => {
        const markers = (s.citations || []).map((n) => ` [${n}]`).join("");
        text.append(i ? " " : "", ...marked(s.text + markers, cites, id));
        if (!s.supported) text.append(" ", el("span", { class: "flag", text: UNSUPPORTED }));
      });
    } else {
      text.append(...marked(answer.text || "", cites, id));
    }
    // The short answer ("Priya Raman") first, as text, with the marker of the source it is in.
    const shortCite = answer.short ? cites[answer.short_citation] : null;
    if (shortCite) {
      node.append(
        el(
          "div",
          { class: "short" },
          el("span", { class: "label", text: "Answer:" }),
          " ",
          el("strong", { text: answer.short }),
          " ",
          marker(answer.short_citation, id, shortCite),
        ),
      );
    }
    node.append(text);
    if (answer.citations && answer.citations.length) {
      node.append(
        el(
          "div",
          { class: "sources" },
          el("h3", { text: "Sources" }),
          el(
            "ol",
            {},
            ...answer.citations.map((c) => source(`${id}-s${c.n}`, `[${c.n}]`, c, c.quote)),
          ),
        ),
      );
    }
  }

  function showProblem(node, problem, retry) {
    node.removeAttribute("aria-busy");
    node.className = "msg bot problem";
    node.setAttribute("role", "alert");
    node.replaceChildren(el("p", { text: problem.message }));
    if (problem.retry) {
      node.append(
        el("button", {
          type: "button",
          class: "retry",
          text: "Try again",
          onclick: () => {
            node.remove();
            retry();
          },
        }),
      );
    }
  }

  // --- asking ------------------------------------------------------------------------------

  class Problem extends Error {
    constructor(message, retry) {
      super(message);
      this.retry = retry;
    }
  }

  // What the user is told for a refused request; the site owner also gets a console hint.
  function refusal(status, body, retryAfter) {
    const error = (body && body.error) || {};
    if (error.code === "origin_not_allowed") {
      console.warn(
        `Briefing Assistant: ${error.message}. ` +
          `Add ${location.origin} to BRIEF_WIDGET_ORIGINS on the server.`,
      );
      return new Problem(
        "This site is not allowed to use the assistant. Please contact the site's owner.",
        false,
      );
    }
    if (status === 401 || status === 403) {
      console.warn(`Briefing Assistant: the API key was refused (${status}): ${error.message}`);
      return new Problem(
        "The assistant isn't set up correctly on this site: its key was refused.",
        false,
      );
    }
    if (status === 429) {
      const wait = Math.max(1, Math.ceil(Number(retryAfter) || 10));
      return new Problem(`Too many questions right now; try again in ${wait} s.`, true);
    }
    if (status >= 500 || !error.message) {
      return new Problem(`The assistant ran into a problem (HTTP ${status}). Try again.`, true);
    }
    return new Problem(`The question was refused: ${error.message}.`, false);
  }

  // Server-sent events from a fetch body (EventSource can't POST): one call per event.
  async function readEvents(body, onData, onEvent) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      onData();
      buffer += decoder.decode(value, { stream: true }).replace(/\r/g, "");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let name = "message";
        const lines = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) name = line.slice(6).trim();
          else if (line.startsWith("data:")) lines.push(line.slice(5).replace(/^ /, ""));
        }
        if (lines.length && onEvent(name, JSON.parse(lines.join("\n"))) === false) {
          reader.cancel().catch(() => {});
          return;
        }
      }
    }
  }

  async function ask(question, asked) {
    if (busy) return;
    const controller = new AbortController();
    busy = controller;
    stopping(true);
    const turn = history();
    asked = asked || addMessage("user", el("p", { text: question }));
    const reply = addMessage("bot", el("p", { class: "typing", text: "Looking it up" }));
    reply.setAttribute("aria-busy", "true");
    let timer = 0;
    let timedOut = false;
    const wait = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, config.timeoutMs);
    };
    const headers = { "Content-Type": "application/json", Accept: "text/event-stream" };
    if (config.key) headers.Authorization = `Bearer ${config.key}`;
    const body = { question, history: turn };
    if (config.collection) body.collection = config.collection;
    try {
      wait();
      const response = await fetch(`${base}/api/v1/ask/stream`, {
        method: "POST",
        mode: "cors",
        credentials: "omit",
        cache: "no-store",
        headers,
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      if (!response.ok) {
        const problem = await response.json().catch(() => null);
        throw refusal(response.status, problem, response.headers.get("Retry-After"));
      }
      let text = "";
      let answer = null;
      const words = reply.firstChild;
      await readEvents(response.body, wait, (name, payload) => {
        if (name === "delta") {
          text += payload.text || "";
          words.className = "";
          words.textContent = text;
          log.scrollTop = log.scrollHeight;
        } else if (name === "done") {
          answer = payload;
          return false;
        } else if (name === "error") {
          throw new Problem(payload.message || "The assistant could not answer.", true);
        }
        return true;
      });
      if (!answer) throw new Problem("The answer was cut off. Try again.", true);
      reply.removeAttribute("aria-busy");
      showAnswer(reply, answer);
      keep(question, answer);
    } catch (err) {
      if (controller.signal.aborted && !timedOut) {
        if (controller.stopped) {
          // Stopped by the reader: nothing half-checked is shown, and the turn is not kept.
          reply.removeAttribute("aria-busy");
          reply.replaceChildren(el("p", { class: "stopped", text: "Stopped." }));
        } else {
          reply.remove(); // cleared on purpose
        }
        return;
      }
      // The server's refusals are readable (it sends CORS headers with them, even to a site it
      // refuses), so a fetch that fails outright means the server could not be reached.
      let problem = err;
      if (!(err instanceof Problem)) {
        problem = new Problem(
          timedOut
            ? "The assistant is taking too long to answer. Try again in a moment."
            : "Can't reach the assistant. Check your connection and try again.",
          true,
        );
      }
      showProblem(reply, problem, () => ask(question, asked));
    } finally {
      clearTimeout(timer);
      controller.abort(); // whatever is left of the response
      if (busy === controller) {
        busy = null;
        stopping(false);
      }
      log.scrollTop = log.scrollHeight;
    }
  }

  // While an answer is on its way, the Ask button is a Stop button.
  function stopping(on) {
    send.textContent = on ? "Stop" : "Ask";
    send.classList.toggle("stop", on);
    if (on) send.setAttribute("aria-label", "Stop the answer");
    else send.removeAttribute("aria-label");
  }

  function submit() {
    if (busy) {
      busy.stopped = true;
      busy.abort();
      return;
    }
    const question = input.value.trim();
    if (!question) return;
    input.value = "";
    ask(question);
  }

  // --- start -------------------------------------------------------------------------------

  function start() {
    document.body.append(host);
    setColour(config.colour);
    const saved = restore();
    log.append(greeting());
    for (const t of Array.isArray(saved.turns) ? saved.turns : []) {
      if (!t || typeof t.question !== "string" || !t.answer) continue;
      turns.push(t);
      addMessage("user", el("p", { text: t.question }));
      showAnswer(addMessage("bot"), t.answer);
    }
    // Opened on load (data-open) or open before a reload: shown, without taking the focus.
    if (config.open || saved.open) open(false);
  }

  window.BriefingAssistant = Object.freeze({
    version: "1",
    open: () => open(true),
    close,
    ask: (question) => {
      open(false);
      return ask(String(question));
    },
    clear,
  });
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start, { once: true });
})();
