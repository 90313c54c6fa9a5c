// medlens web page: talks only to the service that served it (no CDN, no build step).
"use strict";

const EXAMPLE = `CHIEF COMPLAINT: Chest pain.

HISTORY OF PRESENT ILLNESS:
58-year-old man with hypertension and type 2 diabetes mellitus presents with chest pain radiating to the left arm and shortness of breath since this morning. He reports nausea. He denies fever, cough or hemoptysis. Rule out myocardial infarction.

PAST MEDICAL HISTORY: HTN, DM2, hyperlipidemia.

FAMILY HISTORY: Father had a myocardial infarction at 55. Mother with breast cancer.

MEDICATIONS:
- Metformin 500 mg PO BID
- Lisinopril 20 mg PO daily
- Aspirin 81 mg PO daily

ASSESSMENT AND PLAN:
Possible acute coronary syndrome. No evidence of pneumonia. Start heparin. Return if chest pain worsens.
`;

const FLAGS = { negated: "¬", uncertain: "?", hypothetical: "if", family: "FH", historical: "hx" };
const LABELS = ["DISEASE", "SYMPTOM", "FINDING", "DRUG", "CHEMICAL", "TEST", "PROCEDURE", "ANATOMY"];
const state = { text: "", result: null, info: null };
const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function headers() {
  const h = { "Content-Type": "application/json" };
  const key = $("api-key").value.trim();
  if (key) h["X-API-Key"] = key;
  return h;
}

async function api(path, options = {}) {
  const resp = await fetch(path, { ...options, headers: { ...headers(), ...(options.headers || {}) } });
  const body = await resp.json().catch(() => null);
  if (!resp.ok) {
    const msg = body && body.error ? `${body.error.type}: ${body.error.message}` : `HTTP ${resp.status}`;
    const err = new Error(msg); err.status = resp.status; throw err;
  }
  return body;
}

function setStatus(msg, isError = false) {
  $("status").textContent = msg;
  $("status").className = isError ? "error" : "";
}

async function loadInfo() {
  try { state.info = await api("/v1/info"); }
  catch (e) { state.info = null; if (e.status === 401) setStatus("This service needs an API key (field at the top right).", true); }
}

function statusOf(a) { return a && a.status ? a.status : "present"; }

function renderLegend() {
  const legend = $("legend"); legend.replaceChildren();
  for (const l of LABELS) legend.append(el("span", { class: `lab-${l}` }, l.toLowerCase()));
  legend.append(el("span", { class: "badge status-negated" }, "¬ negated (struck through)"),
                el("span", { class: "badge status-uncertain" }, "? uncertain (dashed, italic)"),
                el("span", { class: "badge status-family" }, "FH family"),
                el("span", { class: "badge status-historical" }, "hx historical"));
}

const ATTRIBUTE_ORDER = ["strength", "dose", "route", "frequency", "duration", "status", "indication"];

// drug attributes ("attributes" of the JSON result) as lines: "strength 500 mg", "frequency BID (2/day)"
function attributeLines(e) {
  const attrs = e.attributes || {};
  return ATTRIBUTE_ORDER.filter((k) => attrs[k]).map((k) => {
    const a = attrs[k], d = a.details || {};
    let line = `${k} ${a.value}`;
    if (k === "route" && a.source === "implied") line += " (from the form)";
    if (k === "frequency" && d.per_day != null) line += ` (${d.per_day}${d.per_day_max != null ? `-${d.per_day_max}` : ""}/day)`;
    if (k === "frequency" && d.as_needed_reason) line += ` as needed for ${d.as_needed_reason}`;
    return line;
  });
}

function entityTitle(e) {
  const top = (e.concepts || [])[0];
  const lines = attributeLines(e);
  return `${e.label} · ${statusOf(e.assertion)}` + (top ? ` · ${top.id} ${top.name}` : "") + ` · section ${e.section}`
    + (lines.length ? "\n" + lines.join("\n") : "");
}

function renderDocument(text, result) {
  const doc = $("document"); doc.replaceChildren();
  const titles = new Map();
  for (const s of result.sections || []) {
    if (s.title && text.startsWith(s.title, s.start)) titles.set(s.start, s.start + s.title.length);
  }
  const ents = (result.entities || []).map((e, i) => ({ ...e, index: i })).sort((a, b) => a.start - b.start || b.end - a.end);
  // boundaries: entity spans (non-overlapping) and section titles
  const marks = [];
  let last = -1;
  for (const e of ents) { if (e.start >= last) { marks.push({ kind: "ent", start: e.start, end: e.end, e }); last = e.end; } }
  for (const [start, end] of titles) if (!marks.some((m) => m.start < end && start < m.end)) marks.push({ kind: "title", start, end });
  marks.sort((a, b) => a.start - b.start);
  let pos = 0;
  for (const m of marks) {
    if (m.start > pos) doc.append(text.slice(pos, m.start));
    if (m.kind === "title") doc.append(el("span", { class: "section-title" }, text.slice(m.start, m.end)));
    else {
      const st = statusOf(m.e.assertion);
      const classes = ["ent", `lab-${m.e.label}`, st];
      const a = m.e.assertion || {};
      for (const f of Object.keys(FLAGS)) if (a[f] && f !== st) classes.push(f);
      const mark = el("mark", { class: classes.join(" "), tabindex: "0",
                                title: entityTitle(m.e), "data-attributes": attributeLines(m.e).join("; "), "data-label": m.e.label, "data-status": st, "data-index": String(m.e.index) },
                      text.slice(m.start, m.end));
      if (FLAGS[st]) mark.append(el("span", { class: "flag", "aria-hidden": "true" }, FLAGS[st]));
      mark.addEventListener("click", () => showDetail(m.e, mark));
      mark.addEventListener("keydown", (ev) => { if (ev.key === "Enter") showDetail(m.e, mark); });
      doc.append(mark);
    }
    pos = m.end;
  }
  if (pos < text.length) doc.append(text.slice(pos));
}

function showDetail(e, mark) {
  document.querySelectorAll("mark.ent.selected").forEach((m) => m.classList.remove("selected"));
  if (mark) mark.classList.add("selected");
  const d = $("detail"); d.replaceChildren();
  const st = statusOf(e.assertion);
  d.append(el("h2", {}, e.text, " ", el("span", { class: `badge status-${st}` }, st)),
           el("p", { class: "muted" }, `${e.label} · section ${e.section} · chars ${e.start}–${e.end}`));
  const lines = attributeLines(e);
  if (lines.length) d.append(el("ul", { class: "attributes" }, ...lines.map((l) => el("li", {}, l))));
  const cues = (e.assertion && e.assertion.cues) || [];
  if (cues.length) d.append(el("p", {}, "Cues: ", ...cues.map((c, i) => el("span", {}, i ? ", " : "", el("code", {}, c.text), ` (${c.category.toLowerCase()})`))));
  const table = el("table", { class: "codes" }, el("thead", {}, el("tr", {}, el("th", {}, "code"), el("th", {}, "name"), el("th", {}, "source"), el("th", {}, "score"))));
  const body = el("tbody");
  for (const c of e.concepts || []) body.append(el("tr", {}, el("td", {}, el("code", {}, c.id)), el("td", {}, c.name), el("td", {}, c.source), el("td", {}, `${c.score.toFixed(2)} ${c.method}`)));
  table.append(body);
  d.append((e.concepts || []).length ? table : el("p", { class: "muted" }, "No linked concept."));
}

function renderSections(result) {
  const ol = $("sections"); ol.replaceChildren();
  for (const s of result.sections || []) ol.append(el("li", {}, el("strong", {}, s.category.replaceAll("_", " ")), s.title ? ` — ${s.title}` : ""));
  if (!ol.children.length) ol.append(el("li", { class: "muted" }, "No section headers found."));
}

function renderEntities(result) {
  const tbody = $("entities").querySelector("tbody"); tbody.replaceChildren();
  (result.entities || []).forEach((e) => {
    const st = statusOf(e.assertion);
    const top = (e.concepts || [])[0];
    const row = el("tr", { "data-status": st }, el("td", {}, e.text), el("td", {}, e.label),
                   el("td", {}, el("span", { class: `badge status-${st}` }, st)), el("td", {}, top ? el("code", { title: top.name }, top.id) : ""));
    row.addEventListener("click", () => showDetail(e, document.querySelector(`mark.ent[data-index="${(result.entities || []).indexOf(e)}"]`)));
    tbody.append(row);
  });
}

function listOf(obj) {
  if (Array.isArray(obj)) return obj;
  for (const k of ["differential", "diagnoses", "candidates", "results", "ranked"]) if (obj && Array.isArray(obj[k])) return obj[k];
  return [];
}

async function renderDifferential(text) {
  const box = $("differential"); box.replaceChildren();
  if (!state.info || !state.info.capabilities || !state.info.capabilities.diagnose) {
    box.append(el("p", { class: "muted", id: "dx-unavailable" }, "diagnosis not available"));
    return;
  }
  box.append(el("p", { class: "muted" }, "ranking…"));
  try {
    const dx = await api("/v1/diagnose", { method: "POST", body: JSON.stringify({ text }) });
    box.replaceChildren();
    const items = listOf(dx);
    if (dx.triage) {
      box.append(el("p", { class: `triage triage-${dx.triage.level}`, id: "dx-triage" },
                    el("strong", {}, "Triage: "), dx.triage.advice, el("span", { class: "muted" }, ` (${dx.triage.reason})`)));
      if ((dx.triage.vitals || []).length) {
        box.append(el("p", { class: "muted", id: "dx-vitals" }, "Vital signs read: " + dx.triage.vitals.map((v) => v.text).join(", ") +
                      (dx.triage.news2 != null ? ` · NEWS2 ${dx.triage.news2}` : "")));
      }
    }
    const who = dx.patient ? [dx.patient.age != null ? `${dx.patient.age} years` : null, dx.patient.sex].filter(Boolean).join(", ") : "";
    box.append(el("p", { class: "muted", id: "dx-mode" }, `Mode: ${dx.mode || dx.method}` + (who ? ` · patient: ${who}` : "") +
                  ((dx.knowledge || []).length ? ` · ranked by ${dx.knowledge.map((k) => k.split(":")[0]).join(", ")}` : "")));
    if ((dx.risk_factors || []).length) {
      box.append(el("p", { class: "muted", id: "dx-risk" }, "Risk factors used: " +
                    dx.risk_factors.map((r) => r.name + (r.status === "absent" ? " (absent)" : "") + (r.context === "family" ? " (family)" : "")).join(", ")));
    }
    if ((dx.drug_reactions || []).length) {
      // possible adverse drug reactions: read from this text or learned from text, never curated (listed apart)
      box.append(el("p", { class: "muted", id: "dx-drugs" }, "Possible drug reactions (not curated knowledge): " +
                    dx.drug_reactions.map((r) => `${r.drug_text || r.drug_name} → ${r.finding_text || r.finding_name}` +
                      (r.predicate === "after_starting" ? " (started, then this)" : r.knowledge === "read from this text" ?
                        " (the text says so)" : ` (learned, score ${Number(r.score).toFixed(2)})`)).join("; ")));
    }
    if (!items.length) { box.append(el("p", { class: "muted" }, "No diagnosis suggested from these findings.")); return; }
    for (const item of items.slice(0, 10)) {
      const name = item.name || item.label || (item.concept && item.concept.name) || item.id || "?";
      const id = item.id || item.concept_id || (item.concept && item.concept.id) || "";
      const score = item.probability ?? item.score;
      const ev = item.evidence || item.supporting || [];
      const evList = el("ul");
      const label = (x) => typeof x === "string" ? x : (x.relation === "p_finding_given_disease" ? x.term_name :
        x.relation === "stated_diagnosis" ? `stated in the text: ${x.term_name}` :
        x.relation === "abnormal_result" ? `abnormal result: ${x.text}` : (x.finding_name || x.text || x.name || x.finding || x.id || JSON.stringify(x)));
      for (const x of (Array.isArray(ev) ? ev : []).slice(0, 6)) {
        const via = x && x.term_name && x.term_name !== x.finding_name && x.relation === "has_phenotype" ? ` (via ${x.term_name})` : "";
        evList.append(el("li", {}, "for: " + label(x) + via));
      }
      for (const x of (item.contradicting || []).slice(0, 3)) evList.append(el("li", {}, "against: " + label(x)));
      const tags = [];
      if (item.icd10cm) tags.push(el("code", { class: "icd", title: item.icd10cm_name || "" }, `ICD-10-CM ${item.icd10cm}`));
      if (item.cant_miss) tags.push(el("span", { class: "badge cant-miss" }, "can't miss"));
      if (item.urgency) tags.push(el("span", { class: `badge urgency-${item.urgency}` }, item.urgency));
      box.append(el("div", { class: "dx" }, el("strong", {}, name), " ", el("code", {}, id), " ", ...tags,
                    score !== undefined ? el("span", { class: "score" }, Number(score).toFixed(3)) : null, evList));
    }
    if ((dx.rare || []).length) {
      box.append(el("p", { class: "muted", id: "dx-rare" }, "Also consider (rare diseases, HPO phenotypes): " +
                    dx.rare.map((d) => `${d.name} (${d.id})`).join(", ")));
    }
  } catch (e) {
    box.replaceChildren(el("p", { class: "muted" }, `diagnosis not available (${e.message})`));
  }
}

// -- summary (issue 16): grounded note summary, or a visit note from a conversation ------------------------
const SUMMARY_PARTS = [["problems", "Problems"], ["medications", "Medications"], ["allergies", "Allergies"],
  ["positive_findings", "Key findings"], ["pertinent_negatives", "Pertinent negatives"],
  ["abnormal_results", "Abnormal results"], ["procedures", "Procedures"], ["changes", "What changed"], ["follow_up", "Follow-up and pending"]];

function sourceTitle(item) {
  return (item.sources || []).map((s) => `${s.section.replaceAll("_", " ")} ${s.start}–${s.end}`).join("; ");
}

function renderNoteSummary(box, s) {
  for (const [key, title] of SUMMARY_PARTS) {
    const items = s[key] || [];
    if (!items.length && !(key === "allergies" && s.no_known_allergies)) continue;
    const ul = el("ul", { "data-part": key });
    if (!items.length) ul.append(el("li", { class: "muted" }, "no known allergies"));
    for (const item of items) {
      const extra = key === "changes" ? ` (${item.status})` : key === "problems" ? ` (${item.status.replaceAll("_", " ")}${item.dates && item.dates.length ? ", " + item.dates.join(", ") : ""})` : "";
      const li = el("li", { title: `from ${sourceTitle(item)}${item.reason ? " · " + item.reason : ""}`, tabindex: "0" }, item.text + extra);
      li.addEventListener("click", () => {
        const src = (item.sources || [])[0]; if (!src) return;
        const mark = [...document.querySelectorAll("mark.ent")].find((m) => state.result && state.result.entities[Number(m.dataset.index)] && state.result.entities[Number(m.dataset.index)].start === src.start);
        if (mark) { mark.scrollIntoView({ block: "center" }); mark.classList.add("selected"); }
      });
      ul.append(li);
    }
    box.append(el("h3", {}, title), ul);
  }
  if (!box.children.length) box.append(el("p", { class: "muted" }, "Nothing to summarize was found in this note."));
}

function renderVisitNote(box, note) {
  for (const section of note.sections || []) {
    if (!(section.sentences || []).length) continue;
    box.append(el("h3", {}, section.title));
    const p = el("p", { "data-section": section.name });
    for (const sent of section.sentences) p.append(el("span", { title: `from turns ${sent.turns.join(", ")}` }, sent.text + " "));
    box.append(p);
  }
  for (const w of note.warnings || []) box.append(el("p", { class: "muted" }, w));
}

async function renderSummary(text, kind = "note") {
  const box = $("summary"); box.replaceChildren();
  if (!state.info || !state.info.capabilities || !state.info.capabilities.summarize) {
    box.append(el("p", { class: "muted", id: "summary-unavailable" }, "summaries not available"));
    return;
  }
  box.append(el("p", { class: "muted" }, "summarizing…"));
  try {
    const s = await api("/v1/summarize", { method: "POST", body: JSON.stringify({ text, kind }) });
    box.replaceChildren();
    if (kind === "dialogue") renderVisitNote(box, s); else renderNoteSummary(box, s);
  } catch (e) {
    box.replaceChildren(el("p", { class: "muted" }, `summary not available (${e.message})`));
  }
}

async function visitNote() {
  const text = $("note").value;
  if (!text.trim()) { setStatus("Paste or upload a conversation first ([doctor] / [patient] turns).", true); return; }
  $("visit").disabled = true; setStatus("writing the visit note…");
  try {
    if (!state.info) await loadInfo();
    $("results").hidden = false;
    $("document").replaceChildren(el("pre", {}, text));
    await renderSummary(text, "dialogue");
    setStatus("visit note written (hover a sentence for its source turns)");
  } finally { $("visit").disabled = false; }
}

function download(name, data, type) {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const a = el("a", { href: url, download: name }); document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

async function analyze() {
  const text = $("note").value;
  if (!text.trim()) { setStatus("Paste or upload a note first.", true); return; }
  $("analyze").disabled = true; setStatus("analyzing…");
  const t0 = performance.now();
  try {
    if (!state.info) await loadInfo();
    const result = await api("/v1/analyze", { method: "POST", body: JSON.stringify({ text, id: "note" }) });
    state.text = text; state.result = result;
    $("results").hidden = false;
    renderLegend(); renderDocument(text, result); renderSections(result); renderEntities(result);
    $("detail").replaceChildren(el("p", { class: "muted" }, "Click an entity for its concept codes."));
    setStatus(`${(result.entities || []).length} entities in ${Math.round(performance.now() - t0)} ms`);
    await Promise.all([renderDifferential(text), renderSummary(text)]);
  } catch (e) {
    setStatus(e.message, true);
  } finally {
    $("analyze").disabled = false;
  }
}

async function downloadFhir() {
  if (!state.text) return;
  try {
    const bundle = await api("/v1/analyze?format=fhir", { method: "POST", body: JSON.stringify({ text: state.text, id: "note" }) });
    download("note.fhir.json", JSON.stringify(bundle, null, 2), "application/fhir+json");
  } catch (e) { setStatus(e.message, true); }
}

document.addEventListener("DOMContentLoaded", () => {
  const saved = sessionStorage.getItem("medlens-key");
  if (saved) $("api-key").value = saved;
  $("api-key").addEventListener("change", () => { sessionStorage.setItem("medlens-key", $("api-key").value.trim()); state.info = null; loadInfo(); });
  $("analyze").addEventListener("click", analyze);
  $("example").addEventListener("click", () => { $("note").value = EXAMPLE; });
  $("visit").addEventListener("click", visitNote);
  $("upload").addEventListener("change", async (ev) => {
    const file = ev.target.files[0]; if (!file) return;
    $("note").value = await file.text(); setStatus(`loaded ${file.name}`);
  });
  $("dl-json").addEventListener("click", () => state.result && download("note.medlens.json", JSON.stringify(state.result, null, 2), "application/json"));
  $("dl-fhir").addEventListener("click", downloadFhir);
  loadInfo();
});

// ---- question box: POST /v1/ask, the answer with its evidence highlighted ----

function fillAskSources() {
  const sel = $("ask-source");
  for (const name of (state.info && state.info.indexes) || []) {
    if (![...sel.options].some((o) => o.value === `index:${name}`)) sel.append(el("option", { value: `index:${name}` }, `documents: ${name}`));
  }
}

// the text with the [start, end) spans marked
function highlighted(text, spans) {
  const out = el("div", { class: "passage" });
  let last = 0;
  for (const [s, e] of [...spans].sort((a, b) => a[0] - b[0])) {
    if (s < last || e > text.length) continue;
    out.append(text.slice(last, s), el("mark", { class: "evidence" }, text.slice(s, e)));
    last = e;
  }
  out.append(text.slice(last));
  return out;
}

function renderAnswer(a, context) {
  const box = $("answer"); box.hidden = false; box.replaceChildren();
  if (a.kind === "research" && a.research) {
    const r = a.research;
    const probs = Object.entries(r.probabilities).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ");
    box.append(el("p", {}, el("span", { class: `badge label-${r.label}` }, r.label.toUpperCase()), ` ${probs}`));
    const spans = (r.evidence || []).filter((e) => e.start !== null && e.end !== null).map((e) => [e.start, e.end]);
    if (context && spans.length) box.append(highlighted(context, spans));
    else for (const e of r.evidence || []) box.append(el("p", {}, el("mark", { class: "evidence" }, e.text)));
    return;
  }
  if (a.intent && a.kind !== "documents") box.append(el("p", { class: "understood" }, `understood as: ${a.intent.replaceAll("_", " ")}`));
  if (a.readings && a.readings.length) {
    const ul = el("ul"); for (const r of a.readings) ul.append(el("li", {}, r));
    box.append(el("p", {}, "The question can be read several ways:"), ul);
  }
  const ol = el("ol");
  for (const item of a.answers || []) {
    const li = el("li");
    if (a.kind === "documents") {
      const ev = item.evidence[0];
      li.append(el("div", { class: "muted" }, `${ev.doc_id} [${ev.start}:${ev.end}] · score ${item.score.toFixed(3)}`),
                el("div", { class: "passage" }, el("mark", { class: "evidence" }, item.text)));
    } else {
      li.append(el("strong", {}, item.text), item.id ? el("code", { class: "icd" }, item.id) : null,
                el("span", { class: "muted" }, ` ${item.score.toFixed(2)}`));
      const facts = el("ul", { class: "facts" });
      for (const e of (item.evidence || []).slice(0, 3)) {
        facts.append(el("li", {}, e.text, el("span", { class: "muted" }, ` (${[e.source, e.provenance].filter(Boolean).join("; ")})`)));
      }
      li.append(facts);
    }
    ol.append(li);
  }
  if ((a.answers || []).length) box.append(ol);
  if (a.message) box.append(el("p", { class: a.kind === "none" ? "none" : "muted" }, a.message));
  for (const s of a.searched || []) box.append(el("p", { class: "muted" }, `searched: ${s}`));
}

async function askQuestion() {
  const question = $("question").value.trim();
  if (!question) { setStatus("Type a question first.", true); return; }
  const source = $("ask-source").value;
  const body = { question };
  let context = null;
  if (source === "context") {
    context = $("note").value;
    if (!context.trim()) { setStatus("Paste the abstract or note the question is about in the text box.", true); return; }
    body.context = context;
  } else if (source.startsWith("index:")) body.index = source.slice(6);
  $("ask").disabled = true; setStatus("asking…");
  const t0 = performance.now();
  try {
    const a = await api("/v1/ask", { method: "POST", body: JSON.stringify(body) });
    renderAnswer(a, context);
    setStatus(`answered in ${Math.round(performance.now() - t0)} ms`);
  } catch (e) {
    setStatus(e.message, true);
  } finally {
    $("ask").disabled = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("ask").addEventListener("click", askQuestion);
  $("question").addEventListener("keydown", (ev) => { if (ev.key === "Enter") askQuestion(); });
  const refresh = async () => {
    if (!state.info) await loadInfo();
    if (state.info && state.info.capabilities && state.info.capabilities.ask === false) $("ask-panel").hidden = true;
    fillAskSources();
  };
  refresh();
  $("api-key").addEventListener("change", () => setTimeout(refresh, 300));
});
