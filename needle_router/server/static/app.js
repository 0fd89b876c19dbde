// needle-router playground: plain JS, no build step. Talks to the same server's
// /v1/chat/completions (OpenAI format) and /playground/examples.
"use strict";

const $ = (id) => document.getElementById(id);
let modelId = "needle";

function setStatus(text, bad) {
  const el = $("tools-status");
  el.textContent = text;
  el.style.color = bad ? "var(--bad)" : "";
}

// The tool set in the editor: a JSON list (or {"tools": [...]}); null with a message if not.
function readTools() {
  const text = $("tools").value.trim();
  if (!text) return { tools: [] };
  let value;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { error: "tool set is not valid JSON: " + err.message };
  }
  if (value && !Array.isArray(value) && Array.isArray(value.tools)) value = value.tools;
  if (!Array.isArray(value)) return { error: "tool set must be a JSON list of tools" };
  return { tools: value };
}

function checkTools() {
  const { tools, error } = readTools();
  if (error) setStatus(error, true);
  else setStatus(tools.length + (tools.length === 1 ? " tool" : " tools"));
}

async function loadHealth() {
  try {
    const res = await fetch("/healthz");
    const info = await res.json();
    modelId = info.model;
    $("model").textContent = info.model + (info.untrained ? " · UNTRAINED (random outputs)" : "");
    $("model").classList.toggle("untrained", !!info.untrained);
  } catch (err) {
    $("model").textContent = "server unreachable";
  }
}

async function loadExampleList() {
  const res = await fetch("/playground/examples");
  const { examples } = await res.json();
  const select = $("example");
  for (const ex of examples) {
    const opt = document.createElement("option");
    opt.value = ex.path;
    opt.textContent = `${ex.name} (${ex.tools} tools)`;
    select.appendChild(opt);
  }
  if (examples.length && !$("tools").value.trim()) {
    select.value = examples[0].path;
    await loadExample(examples[0].path);
  }
}

async function loadExample(path) {
  if (!path) return;
  const res = await fetch("/playground/examples/" + path.split("/").map(encodeURIComponent).join("/"));
  if (!res.ok) { setStatus("could not load " + path, true); return; }
  $("tools").value = JSON.stringify(await res.json(), null, 2);
  checkTools();
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = false;
  $("result").hidden = true;
}

function render(body, roundTripMs) {
  const message = body.choices[0].message;
  const calls = message.tool_calls || [];
  const needle = body.needle || {};
  $("error").hidden = true;
  $("result").hidden = false;
  $("confidence").textContent = needle.confidence === undefined ? "–" : needle.confidence.toFixed(3);
  $("latency").textContent = needle.latency_ms === undefined ? "–" : needle.latency_ms.toFixed(1) + " ms";
  $("roundtrip").textContent = roundTripMs.toFixed(1) + " ms";
  $("tokens").textContent = `${body.usage.prompt_tokens} / ${body.usage.completion_tokens}`;
  const list = $("calls");
  list.replaceChildren();
  for (const call of calls) {
    const li = document.createElement("li");
    li.className = "call";
    const name = document.createElement("span");
    name.className = "call-name";
    name.textContent = call.function.name;
    const args = document.createElement("pre");
    args.className = "call-args";
    let parsed = call.function.arguments;
    try { parsed = JSON.stringify(JSON.parse(parsed), null, 2); } catch (err) { /* shown as sent */ }
    args.textContent = parsed;
    li.append(name, args);
    list.appendChild(li);
  }
  $("no-call").hidden = calls.length > 0;
  $("no-call").textContent = calls.length ? "" : "no call: " + (message.content || "");
  return calls;
}

function remember(query, calls) {
  const li = document.createElement("li");
  const summary = calls.length ? calls.map((c) => c.function.name).join(", ") : "no call";
  li.textContent = `${query}  →  ${summary}`;
  li.title = "run again";
  li.addEventListener("click", () => { $("query").value = query; run(); });
  $("history").prepend(li);
  while ($("history").children.length > 20) $("history").lastChild.remove();
}

async function run() {
  const query = $("query").value;
  const { tools, error } = readTools();
  if (error) { showError(error); return; }
  if (!query.trim()) { showError("type a query first"); return; }
  const button = $("run");
  button.disabled = true;
  const started = performance.now();
  try {
    const res = await fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: modelId,
        messages: [{ role: "user", content: query }],
        tools,
        tool_choice: $("tool-choice").value,
      }),
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      const err = body.error || {};
      showError(`${res.status}: ${err.message || res.statusText}` + (err.param ? `\n(field: ${err.param})` : ""));
      return;
    }
    remember(query, render(body, performance.now() - started));
  } catch (err) {
    showError("request failed: " + err.message);
  } finally {
    button.disabled = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("run").addEventListener("click", run);
  $("query").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) run(); });
  $("tools").addEventListener("input", () => { $("example").value = ""; checkTools(); });
  $("example").addEventListener("change", (e) => loadExample(e.target.value));
  $("upload").addEventListener("change", async (e) => {
    const file = e.target.files[0];
    if (!file) return;
    $("tools").value = await file.text();
    $("example").value = "";
    checkTools();
  });
  loadHealth();
  loadExampleList().catch(() => setStatus("no examples", true));
});
