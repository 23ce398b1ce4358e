// The page of `dialectic serve`: no build step, no framework. Text from debates is put in the
// page with textContent; only HTML the server rendered from Markdown (raw HTML escaped) and
// mermaid's sanitized SVG are inserted as markup. The Content-Security-Policy forbids inline
// scripts, so an injected <script> would not run even if it got through.
"use strict";

const main = document.getElementById("main");
let current = null; // the view in place: {stop()}

// --- helpers ---------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function markdown(html) {
  // Server-rendered Markdown: markdown-it with html off (web/views.py).
  const box = el("div", { class: "md" });
  box.innerHTML = html || "";
  return box;
}

async function api(path, options = {}) {
  const init = { headers: {}, ...options };
  if (options.json !== undefined) {
    init.method = init.method || "POST";
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.json);
  }
  const response = await fetch(path, init);
  const data = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
  if (!response.ok) throw new Error((data && data.error) || `${response.status} ${response.statusText}`);
  return data;
}

function statusBadge(status) {
  return el("span", { class: `status ${status}`, "data-status": status, text: status.replaceAll("_", " ") });
}

function number(value) {
  return value === undefined || value === null ? "–" : Number(value).toLocaleString("en");
}

function cost(value) {
  return value === undefined || value === null ? "unknown" : `$${Number(value).toFixed(4)}`;
}

function show(...nodes) {
  main.replaceChildren(...nodes);
}

// --- routing -------------------------------------------------------------------------

function route() {
  if (current) current.stop();
  current = null;
  const hash = location.hash || "#/";
  const match = hash.match(/^#\/d\/([A-Za-z0-9][A-Za-z0-9._-]{0,99})$/);
  if (match) current = debatePage(match[1]);
  else if (hash === "#/new") current = newDebatePage();
  else current = listPage();
}

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", () => {
  if (location.search.includes("token=")) history.replaceState(null, "", location.pathname + location.hash);
  if (window.mermaid) window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });
  route();
});

// --- the list of debates -----------------------------------------------------------------

function listPage() {
  let timer = null;
  let rows = [];
  const filter = el("input", { type: "text", id: "filter", placeholder: "Filter by id, problem or status" });
  const statusFilter = el("select", { id: "status-filter" },
    el("option", { value: "", text: "any status" }),
    ...["running", "completed", "degraded", "waiting_for_input", "paused", "interrupted", "failed"].map(
      (s) => el("option", { value: s, text: s.replaceAll("_", " ") })));
  const body = el("tbody");
  const empty = el("p", { class: "muted", text: "" });
  const draw = () => {
    const text = filter.value.trim().toLowerCase();
    const shown = rows.filter((r) =>
      (!statusFilter.value || r.status === statusFilter.value) &&
      (!text || `${r.id} ${r.problem} ${r.status}`.toLowerCase().includes(text)));
    body.replaceChildren(...shown.map((r) => el("tr", { "data-id": r.id },
      el("td", {}, el("a", { href: `#/d/${r.id}`, text: r.id })),
      el("td", {}, statusBadge(r.status)),
      el("td", { class: "num", text: `${r.rounds_done}/${r.max_rounds}` }),
      el("td", { text: r.created_at.slice(0, 19).replace("T", " ") }),
      el("td", { text: r.problem }))));
    empty.textContent = rows.length ? (shown.length ? "" : "No debate matches.") : "No debates in this store yet.";
  };
  filter.addEventListener("input", draw);
  statusFilter.addEventListener("change", draw);
  const load = async () => {
    try {
      rows = await api("/api/debates");
      draw();
    } catch (error) {
      empty.textContent = error.message;
    }
    if (rows.some((r) => r.status === "running")) timer = setTimeout(load, 2000);
  };
  show(el("section", {},
    el("div", { class: "actions" }, el("h1", { text: "Debates" }), el("a", { class: "button", href: "#/new", text: "New debate" })),
    el("div", { class: "row" }, el("div", { style: "flex:3" }, filter), el("div", { style: "flex:1" }, statusFilter)),
    el("table", { id: "debates" },
      el("thead", {}, el("tr", {}, ...["id", "status", "rounds", "created (UTC)", "problem"].map((h) => el("th", { text: h })))),
      body),
    empty));
  load();
  return { stop: () => clearTimeout(timer) };
}

// --- starting a debate ----------------------------------------------------------------------

function newDebatePage() {
  const error = el("p", { class: "error", id: "form-error", role: "alert" });
  const notices = el("div", { class: "notice" });
  show(el("section", {}, el("h1", { text: "New debate" }), el("p", { class: "muted", text: "Loading the config…" })));
  api("/api/config").then((config) => {
    const problem = el("textarea", { id: "problem", rows: 8, placeholder: "Describe the design problem (Markdown)…" });
    const file = el("input", { type: "file", id: "problem-file", accept: ".md,.txt,text/*" });
    file.addEventListener("change", async () => {
      if (file.files.length) problem.value = await file.files[0].text();
    });
    const rounds = el("input", { type: "number", id: "rounds", min: 1, max: 100, value: config.rounds });
    const agents = config.agents.filter((a) => a.enabled).map((a) =>
      el("label", { class: "inline" }, el("input", { type: "checkbox", name: "agent", value: a.role, checked: true }),
        `${a.name} (${a.role}, ${a.model})`));
    const clarify = el("input", { type: "checkbox", id: "clarify" });
    const steer = el("input", { type: "checkbox", id: "steer" });
    const maxTokens = el("input", { type: "number", id: "max-tokens", min: 1, placeholder: "none" });
    const maxCost = el("input", { type: "number", id: "max-cost", min: 0, step: "any", placeholder: "none" });
    const original = JSON.stringify(config.document, null, 2);
    const configText = el("textarea", { id: "config", class: "code", spellcheck: "false" });
    configText.value = original;
    const submit = el("button", { class: "primary", id: "start", type: "submit", text: "Start debate" });
    const form = el("form", { id: "new-debate" },
      el("label", { for: "problem", text: "Problem" }), problem,
      el("div", { class: "actions" }, el("span", { class: "muted", text: "or read it from a file:" }), file),
      el("div", { class: "row" },
        el("div", {}, el("label", { for: "rounds", text: "Rounds" }), rounds),
        el("div", {}, el("label", { for: "max-tokens", text: "Token budget" }), maxTokens),
        el("div", {}, el("label", { for: "max-cost", text: "Cost budget (USD)" }), maxCost)),
      el("label", { text: "Agents" }), el("div", {}, agents),
      el("label", { text: "Taking part" }),
      el("div", {},
        el("label", { class: "inline" }, clarify, "Clarify: the agents ask you questions before round 1"),
        el("label", { class: "inline" }, steer, "Steer: pause after each round for your note")),
      el("details", {}, el("summary", { text: `Config (${config.source}${config.offline ? ", offline model" : ""})` }),
        el("p", { class: "muted", text: "Edit it here for this debate only; it is checked like a config file." }), configText),
      el("div", { class: "actions" }, submit), error, notices);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.textContent = "";
      const roles = [...form.querySelectorAll("input[name=agent]:checked")].map((box) => box.value);
      const body = { problem: problem.value, rounds: rounds.value, roles, clarify: clarify.checked, steer: steer.checked };
      if (maxTokens.value) body.maxTokens = Number(maxTokens.value);
      if (maxCost.value) body.maxCost = Number(maxCost.value);
      if (configText.value.trim() !== original.trim()) {
        try {
          body.config = JSON.parse(configText.value);
        } catch (parseError) {
          error.textContent = `the config is not valid JSON: ${parseError.message}`;
          return;
        }
      }
      submit.disabled = true;
      try {
        const started = await api("/api/debates", { json: body });
        location.hash = `#/d/${started.id}`;
      } catch (startError) {
        error.textContent = startError.message;
        submit.disabled = false;
      }
    });
    notices.replaceChildren(...config.notices.map((n) => el("p", { text: n })));
    show(el("section", {}, el("h1", { text: "New debate" }), form));
  }).catch((loadError) => {
    error.textContent = loadError.message;
    show(el("section", {}, el("h1", { text: "New debate" }), error));
  });
  return { stop: () => {} };
}

// --- one debate --------------------------------------------------------------------------

const PHASES = { clarify: "clarifying", summarize: "summarizing", propose: "proposing", critique: "critiquing", refine: "refining", convergence: "judging consensus", synthesize: "synthesizing" };

function debatePage(id) {
  let source = null;
  let poll = null;
  let refreshTimer = null;
  let stopped = false;
  let runEnded = false; // the run this page watched has ended: a stale "live" view must not replay it
  let view = null;
  const live = { round: 0, rounds: 0, phase: "starting", tokens: 0, agents: {} };
  const log = el("div", { id: "log", "aria-live": "polite" });
  const livePanel = el("section", { id: "live", hidden: true });
  const top = el("div");
  const body = el("div");
  show(top, livePanel, body);

  const say = (line) => {
    log.append(el("div", { text: line }));
    while (log.childElementCount > 300) log.firstChild.remove();
    log.scrollTop = log.scrollHeight;
  };

  const drawLive = () => {
    const rows = Object.entries(live.agents).map(([agent, a]) =>
      el("tr", {}, el("td", { text: agent }), el("td", { text: a.state }), el("td", { class: "num", text: number(a.tokens) })));
    livePanel.replaceChildren(
      el("h2", { text: "Live" }),
      el("p", { id: "live-summary", text: `round ${live.round}/${live.rounds} · ${PHASES[live.phase] || live.phase} · ${number(live.tokens)} tokens` }),
      el("table", {}, el("thead", {}, el("tr", {}, el("th", { text: "agent" }), el("th", { text: "state" }), el("th", { class: "num", text: "tokens" }))), el("tbody", {}, rows)),
      log);
  };

  const onEvent = (event) => {
    const kind = event.event;
    const agent = event.agent || "";
    if (kind === "run_started") {
      live.rounds = event.rounds;
      for (const a of event.agents) live.agents[a] = live.agents[a] || { state: "waiting", tokens: 0 };
      say(`run started: ${event.agents.join(", ")}`);
    } else if (kind === "round_started") {
      live.round = event.round;
      say(`round ${event.round} started`);
    } else if (kind === "call_started") {
      live.phase = event.phase;
      live.agents[agent] = { ...(live.agents[agent] || { tokens: 0 }), state: `${PHASES[event.phase] || event.phase}…` };
    } else if (kind === "call_finished") {
      live.tokens += event.tokens || 0;
      const a = live.agents[agent] || { tokens: 0 };
      live.agents[agent] = { state: "done", tokens: a.tokens + (event.tokens || 0) };
      say(`${agent} ${event.phase}${event.target ? ` → ${event.target}` : ""}: ${number(event.tokens)} tokens, ${number(event.latency_ms)} ms`);
      scheduleRefresh();
    } else if (kind === "call_failed") {
      live.tokens += event.tokens || 0; // replies billed before the call failed
      if (agent) {
        const a = live.agents[agent] || { tokens: 0 };
        live.agents[agent] = { state: "failed", tokens: a.tokens + (event.tokens || 0) };
      }
      say(`failed: ${agent} ${event.phase}: ${event.error}`);
    } else if (kind === "phase_done") {
      say(`round ${event.round}: ${event.phase} done`);
      scheduleRefresh();
    } else if (["notice", "warning", "extension_failed"].includes(kind)) {
      say(`${kind === "notice" ? "" : "warning: "}${event.message || event.error}`);
    } else if (kind === "answers") {
      say(`clarification batch ${event.iteration}: ${event.questions} answers`);
    } else if (kind === "steering") {
      say(`after round ${event.round}: ${event.note ? "note added" : "no note"}`);
    } else if (kind === "consensus") {
      say(`round ${event.round}: consensus ${event.score} (stop at ${event.threshold})`);
    } else if (kind === "run_ended") {
      say(`run ended: ${event.status}${event.message && event.status === "error" ? `: ${event.message}` : ""}`);
      if (event.status === "error") top.dataset.error = event.message;
      runEnded = true;
      closeStream();
      refresh();
      return;
    } else if (kind === "idle") {
      // Nothing runs here (any more): the page shows what the API says, once.
      runEnded = true;
      closeStream();
      refresh();
      return;
    }
    drawLive();
  };

  const closeStream = () => {
    if (source) source.close();
    source = null;
  };

  const openStream = () => {
    if (source || stopped) return;
    livePanel.hidden = false;
    drawLive();
    source = new EventSource(`/api/debates/${id}/events`);
    source.onmessage = (message) => onEvent(JSON.parse(message.data));
  };

  const scheduleRefresh = () => {
    if (refreshTimer) return;
    refreshTimer = setTimeout(() => { refreshTimer = null; refresh(); }, 400);
  };

  const refresh = async () => {
    clearTimeout(poll);
    try {
      view = await api(`/api/debates/${id}`);
    } catch (error) {
      top.replaceChildren(el("section", {}, el("h1", { text: id }), el("p", { class: "error", text: error.message })));
      return;
    }
    if (stopped) return;
    draw(view);
    if (view.live && !runEnded) openStream();
    else if (view.detail && view.detail.status === "running") poll = setTimeout(refresh, 2000); // run by another process
  };

  const act = async (path, json, button) => {
    if (button) button.disabled = true;
    const message = top.querySelector("#action-error");
    try {
      await api(`/api/debates/${id}/${path}`, { json });
      if (message) message.textContent = "";
      delete top.dataset.error;
      if (path === "resume") {
        Object.assign(live, { phase: "starting" });
        runEnded = false;
        closeStream(); // the stream of the run before, whose end is not this run's
        openStream();
      }
      refresh();
    } catch (error) {
      if (message) message.textContent = error.message;
      if (button) button.disabled = false;
    }
  };

  const draw = (v) => {
    const record = v.record || {};
    const detail = v.detail || {};
    const status = v.live ? "running" : detail.status || record.status || "unknown";
    const problem = record.problem || "";
    const usage = (record.usage && record.usage.total) || detail.usage || {};
    const feedback = record.userFeedback;
    const buttons = [];
    if (v.live) buttons.push(el("button", { id: "stop", onclick: (e) => act("stop", {}, e.target), text: "Stop" }));
    const budgetInputs = el("span", { class: "row" });
    if (!v.live && ["interrupted", "paused", "failed"].includes(status)) {
      const tokens = el("input", { type: "number", id: "resume-max-tokens", min: 1, placeholder: "token budget" });
      const dollars = el("input", { type: "number", id: "resume-max-cost", min: 0, step: "any", placeholder: "cost budget $" });
      buttons.push(el("button", {
        id: "resume", class: "primary", text: "Resume", onclick: (e) => {
          const body = {};
          if (tokens.value) body.maxTokens = Number(tokens.value);
          if (dollars.value) body.maxCost = Number(dollars.value);
          act("resume", body, e.target);
        },
      }));
      if (status === "paused") budgetInputs.append(tokens, dollars);
    }
    if (record.id) {
      buttons.push(el("a", { class: "button", id: "download-json", href: `/api/debates/${id}/json`, download: `${id}.json`, text: "Download JSON" }));
      buttons.push(el("a", { class: "button", id: "download-report", href: `/api/debates/${id}/report`, download: `${id}.md`, text: "Download report" }));
    }
    if (record.id && !v.live) { // feedback once the run has stopped (the server refuses it before)
      buttons.push(el("button", { id: "thumbs-up", title: "Good debate", "aria-pressed": String(feedback === 1), text: "▲ Good", onclick: (e) => act("feedback", { value: 1 }, null) }));
      buttons.push(el("button", { id: "thumbs-down", title: "Poor debate", "aria-pressed": String(feedback === -1), text: "▼ Poor", onclick: (e) => act("feedback", { value: -1 }, null) }));
    }
    top.replaceChildren(el("section", {},
      el("h1", {}, `${id} `, statusBadge(status)),
      el("p", { class: "muted", text: `rounds done ${detail.rounds_done ?? record.currentRound ?? 0} of ${detail.max_rounds ?? record.maxRounds ?? "?"} · ${number(usage.calls)} calls · ${number((usage.inputTokens || 0) + (usage.outputTokens || 0))} tokens · cost ${cost(usage.costUsd)}` }),
      detail.running_by && !v.live ? el("p", { class: "notice", text: `running: ${detail.running_by}` }) : null,
      el("div", { class: "actions" }, buttons, budgetInputs),
      el("p", { class: "error", id: "action-error", role: "alert", text: top.dataset.error || "" }),
      pauseMessage(v, status)));
    body.replaceChildren(...[
      keptWhileTyping(waitingForInput(v)),
      record.finalSolution ? el("section", { id: "final" }, el("h2", { text: `Final design · confidence ${record.finalSolution.confidence}/100` }), markdown(v.html.final)) : null,
      el("section", { id: "problem" }, el("h2", { text: "Problem" }), v.html ? markdown(v.html.problem) : el("p", { text: problem })),
      clarifications(record),
      rounds(record, v.html),
      usageSection(record),
      failures(record, detail),
      graphSection(v),
    ].filter(Boolean));
  };

  const pauseMessage = (v, status) => {
    const detail = v.detail || {};
    if (v.live) return null;
    if (status === "paused" || status === "failed") {
      const pending = (detail.pending || [])[0];
      const text = pending && pending.kind === "budget"
        ? `Budget reached before ${pending.phase} of round ${pending.round}: raise the token or cost budget and resume.`
        : detail.failures && detail.failures.length ? "Calls failed; resume retries them." : "";
      return text ? el("p", { class: "notice", id: "pause-message", text }) : null;
    }
    if (status === "interrupted") return el("p", { class: "notice", id: "pause-message", text: "This debate was stopped before it finished; resume continues where it stopped (finished calls are not made again)." });
    return null;
  };

  // A redraw keeps the answers being typed: the same pause's form stays as it is.
  const keptWhileTyping = (form) => {
    const shown = form && body.querySelector(`section[data-pause="${CSS.escape(form.dataset.pause)}"]`);
    return shown || form;
  };

  const waitingForInput = (v) => {
    const detail = v.detail || {};
    if (v.live || detail.status !== "waiting_for_input") return null;
    const kinds = (detail.pending || []).map((p) => p.kind);
    if (kinds.includes("clarification") && detail.questions.length) {
      const inputs = {};
      let agent = null;
      const items = [];
      for (const q of detail.questions) {
        if (q.agentId !== agent) {
          agent = q.agentId;
          items.push(el("h3", { text: `${q.agentName} (${q.role})` }));
        }
        inputs[q.id] = el("textarea", { rows: 2, id: `answer-${q.id}`, "data-question": q.id, placeholder: "Your answer (empty: NA)" });
        items.push(el("div", { class: "question" }, el("label", { for: `answer-${q.id}`, text: `${q.id}: ${q.question}` }), inputs[q.id]));
      }
      const send = el("button", { class: "primary", id: "send-answers", type: "submit", text: "Send answers" });
      const form = el("form", { id: "answers" }, items, el("div", { class: "actions" }, send));
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        const answers = Object.fromEntries(Object.entries(inputs).map(([key, box]) => [key, box.value.trim()]));
        act("resume", { answers }, send);
      });
      const pause = `clarification-${detail.questions.map((q) => q.id).join(",")}-${(detail.pending[0] || {}).iteration}`;
      return el("section", { id: "questions", "data-pause": pause }, el("h2", { text: "The agents have questions before the debate starts" }), form);
    }
    if (kinds.includes("steering")) {
      const pause = detail.pending.find((p) => p.kind === "steering");
      const note = el("textarea", { id: "note", rows: 3, placeholder: "A note for the agents and the judge (optional)" });
      const send = el("button", { class: "primary", id: "send-note", type: "submit", text: "Continue" });
      const form = el("form", { id: "steering" }, note, el("div", { class: "actions" }, send));
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        act("resume", { note: note.value }, send);
      });
      return el("section", { id: "steer", "data-pause": `steering-${pause.round}` }, el("h2", { text: `Round ${pause.round} of ${pause.rounds} is done: steer the debate` }), form);
    }
    return null;
  };

  const clarifications = (record) => {
    const groups = (record.clarifications || []).filter((g) => g.items.some((i) => i.answer && i.answer !== ""));
    if (!groups.length) return null;
    return el("section", { id: "clarifications" }, el("h2", { text: "Clarifications" }),
      groups.map((g) => el("div", {}, el("h3", { text: `${g.agentName || g.agentId} (${g.role})` }),
        el("ul", {}, g.items.map((i) => el("li", {}, el("strong", { text: `${i.id} ` }), i.question, el("br"), el("span", { class: "muted", text: `Answer: ${i.answer}` })))))));
  };

  const rounds = (record, html) => {
    if (!record.rounds || !record.rounds.length) return null;
    const titles = { proposal: "Proposals", critique: "Critiques", refinement: "Refinements" };
    return el("section", { id: "rounds" }, el("h2", { text: "Rounds" }),
      record.rounds.map((r, ri) => el("div", { class: "round", "data-round": r.roundNumber }, el("h3", { text: `Round ${r.roundNumber}` }),
        ["proposal", "critique", "refinement"].map((kind) => {
          const items = r.contributions.map((c, ci) => [c, ci]).filter(([c]) => c.type === kind);
          if (!items.length) return null;
          return el("div", {}, el("h4", { text: titles[kind] }), items.map(([c, ci]) =>
            el("details", { class: "contribution", "data-agent": c.agentId, "data-type": c.type },
              el("summary", { text: `${c.agentId}${c.targetAgentId ? ` → ${c.targetAgentId}` : ""} · ${number(c.metadata && c.metadata.tokensUsed)} tokens` }),
              markdown(html && html.rounds[ri] ? html.rounds[ri][ci] : ""))));
        }))));
  };

  const usageSection = (record) => {
    const usage = record.usage;
    if (!usage || !usage.byAgent) return null;
    const rows = Object.entries(usage.byAgent).map(([agent, u]) => el("tr", {},
      el("td", { text: agent }), el("td", { class: "num", text: number(u.calls) }), el("td", { class: "num", text: number(u.inputTokens) }),
      el("td", { class: "num", text: number(u.outputTokens) }), el("td", { class: "num", text: cost(u.costUsd) })));
    const t = usage.total || {};
    rows.push(el("tr", {}, el("th", { text: "total" }), el("th", { class: "num", text: number(t.calls) }), el("th", { class: "num", text: number(t.inputTokens) }),
      el("th", { class: "num", text: number(t.outputTokens) }), el("th", { class: "num", text: cost(t.costUsd) })));
    return el("section", { id: "usage" }, el("h2", { text: "Usage" }), el("table", {},
      el("thead", {}, el("tr", {}, ["agent", "calls", "input tokens", "output tokens", "cost"].map((h, i) => el("th", { class: i ? "num" : null, text: h })))),
      el("tbody", {}, rows)));
  };

  const failures = (record, detail) => {
    const items = record.failures || [];
    if (!items.length) return null;
    return el("section", { id: "failures" }, el("h2", { text: "Failures" }), el("ul", {},
      items.map((f) => el("li", { text: `${f.agentId || f.agent} in ${f.phase} of round ${f.round}: ${f.error}${f.recovered ? " (recovered)" : ""}` }))));
  };

  const graphSection = (v) => {
    const box = el("div", { class: "graph", id: "graph" });
    const section = el("section", {}, el("details", { id: "graph-details" }, el("summary", { text: "Debate graph" }), box));
    section.querySelector("details").addEventListener("toggle", async (event) => {
      if (!event.target.open || box.childElementCount) return;
      try {
        const { mermaid: text } = await api(`/api/graph?clarify=${v.graph.clarify}&steer=${v.graph.steer}`);
        const next = (v.detail && v.detail.next) || [];
        const marked = next.length ? `${text}\n\tclassDef now fill:#fde68a,stroke:#b45309;\n\tclass ${next.join(",")} now;\n` : text;
        const { svg } = await window.mermaid.render(`graph-${Date.now()}`, marked);
        box.innerHTML = svg; // mermaid's output, sanitized (securityLevel strict)
      } catch (error) {
        box.replaceChildren(el("p", { class: "error", text: `cannot draw the graph: ${error.message}` }));
      }
    });
    return section;
  };

  refresh();
  return {
    stop: () => {
      stopped = true;
      closeStream();
      clearTimeout(poll);
      clearTimeout(refreshTimer);
    },
  };
}
