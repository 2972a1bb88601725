// Rules editor: the tenant's rules, one rule's spec as JSON to edit, and save (a new
// rule is POSTed; an existing one is PUT with If-Match on the version it was loaded at,
// so a concurrent edit answers 409 instead of being overwritten), delete, and history.
import { fillRows, v1 } from "./http.js";

const $ = (id) => document.getElementById(id);
/** The rule in the editor: its id and the version it was loaded at, or none for a new one. */
const editing = { id: undefined, version: undefined };

const EXAMPLE = {
  name: "cpu_high",
  metric: "cpu_usage",
  filters: {},
  agg: "avg",
  window: "1m",
  by: ["host"],
  condition: { op: ">", critical: 90, criticalRecovery: 80 },
  for: "30s",
  severity: "page",
  mode: "streaming",
};
const META = new Set(["id", "version", "updatedAt", "updatedBy"]);

function specOf(rule) {
  return Object.fromEntries(Object.entries(rule).filter(([k]) => !META.has(k)));
}

function say(text, isError = false) {
  $("rule-status").textContent = text;
  $("rule-status").classList.toggle("error", isError);
}

export async function showRules() {
  const { body } = await v1("GET", "/v1/rules");
  const rules = body.rules;
  fillRows(
    $("rule-rows"),
    rules.map((
      r,
    ) => [r.name, r.metric, `${r.agg} ${r.condition.op} ${r.condition.critical}`, r.mode, `${r.version}`]),
    (i) => edit(rules[i]),
  );
}

function edit(rule) {
  editing.id = rule?.id;
  editing.version = rule?.version;
  $("rule-spec").value = JSON.stringify(rule ? specOf(rule) : EXAMPLE, null, 2);
  $("rule-editing").textContent = rule ? `${rule.name} (version ${rule.version})` : "new rule";
  $("rule-delete").disabled = rule === undefined;
  say("");
}

async function save() {
  let spec;
  try {
    spec = JSON.parse($("rule-spec").value);
  } catch (error) {
    return say(`The rule is not valid JSON: ${error.message}`, true);
  }
  const { body } = editing.id === undefined
    ? await v1("POST", "/v1/rules", { body: spec })
    : await v1("PUT", `/v1/rules/${encodeURIComponent(editing.id)}`, {
      body: spec,
      ifMatch: editing.version,
    });
  edit(body);
  say(`Saved ${body.name}, version ${body.version}`);
  await showRules();
}

async function remove() {
  if (editing.id === undefined) return;
  await v1("DELETE", `/v1/rules/${encodeURIComponent(editing.id)}`, { ifMatch: editing.version });
  edit(undefined);
  say("Deleted");
  await showRules();
}

export function wireRules() {
  const guard = (run) => () => run().catch((e) => say(e.message, true));
  $("rule-new").addEventListener("click", () => edit(undefined));
  $("rule-save").addEventListener("click", guard(save));
  $("rule-delete").addEventListener("click", guard(remove));
  edit(undefined);
}
