// needle-router playground: plain JS, no build step. Talks to the same server's
// /v1/chat/completions (OpenAI format), /playground/examples and /playground/finetune.
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

// ---- fine-tune on these tools: start a server-side job, poll its status, then route with it
const PHASES = { starting: "starting", data: "making examples", training: "training", scoring: "scoring base vs tuned",
                 done: "done", error: "failed" };
const pct = (v) => (v === null || v === undefined ? "–" : v.toFixed(1) + "%");

function showFinetuneError(message) {
  $("ft-error").textContent = message;
  $("ft-error").hidden = !message;
}

function showProgress(status) {
  const bar = $("ft-bar");
  if (status.total) { bar.max = status.total; bar.value = status.step; } else bar.removeAttribute("value");
  if (status.phase === "done") { bar.max = 1; bar.value = 1; }
  const parts = [PHASES[status.phase] || status.phase];
  if (status.total) parts.push(`step ${status.step}/${status.total}`);
  if (status.loss !== null) parts.push(`loss ${status.loss.toFixed(3)}`);
  if (status.validation_exact_match !== null) parts.push(`validation exact ${pct(status.validation_exact_match)}`);
  parts.push(`${status.elapsed_s.toFixed(0)} s`);
  $("ft-text").textContent = parts.join(" · ");
}

function useTunedModel(status) {
  modelId = status.model;
  $("model").textContent = `${status.model} · fine-tuned here from ${status.base}`;
  $("model").classList.remove("untrained");
  $("model").classList.add("tuned");
  const r = status.report;
  $("ft-report").textContent =
    `test split exact match (${r.test_examples} examples): base ${pct(r.base_exact_match)} → tuned ${pct(r.tuned_exact_match)}`;
  $("ft-download").href = status.download;
  $("ft-result").hidden = false;
}

async function pollFinetune(jobId) {
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    let status;
    try {
      const res = await fetch("/playground/finetune/" + encodeURIComponent(jobId), { cache: "no-store" });
      status = await res.json();
      if (!res.ok) throw new Error(`${res.status}: ${(status.error || {}).message || res.statusText}`);
    } catch (err) {
      showFinetuneError("lost the fine-tune job: " + err.message);
      return;
    }
    showProgress(status);
    if (status.phase === "done") { useTunedModel(status); return; }
    if (status.phase === "error") { showFinetuneError("fine-tune failed: " + status.error); return; }
  }
}

async function finetune() {
  const { tools, error } = readTools();
  showFinetuneError("");
  if (error) { showFinetuneError(error); return; }
  if (!tools.length) { showFinetuneError("enter a tool set to fine-tune on first"); return; }
  const button = $("finetune");
  button.disabled = true;
  $("ft-result").hidden = true;
  try {
    const minutes = parseFloat($("ft-minutes").value);
    const res = await fetch("/playground/finetune", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(Number.isFinite(minutes) ? { tools, minutes } : { tools }),
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      const err = body.error || {};
      showFinetuneError(`${res.status}: ${err.message || res.statusText}` + (err.param ? `\n(field: ${err.param})` : ""));
      return;
    }
    $("ft-progress").hidden = false;
    showProgress(body);
    await pollFinetune(body.job);
  } catch (err) {
    showFinetuneError("request failed: " + err.message);
  } finally {
    button.disabled = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("finetune").addEventListener("click", finetune);
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
