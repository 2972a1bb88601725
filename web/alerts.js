// Alerts: the tenant's incidents, newest change first, and one incident's timeline
// (every transition with when, who and why) replayed from its event stream.
import { fillRows, v1 } from "./http.js";

const $ = (id) => document.getElementById(id);

function labelText(labels) {
  return Object.entries(labels ?? {}).map(([k, v]) => `${k}="${v}"`).join(", ");
}

export async function showIncidents() {
  $("alerts-error").textContent = "";
  const status = $("incident-status").value;
  const { body } = await v1("GET", `/v1/incidents${status ? `?status=${status}` : ""}`);
  const incidents = body.incidents;
  $("incidents-empty").hidden = incidents.length > 0;
  fillRows(
    $("incident-rows"),
    incidents.map((
      i,
    ) => [i.ruleName, labelText(i.labels), i.status, i.level, i.severity, i.openedAt, i.updatedAt]),
    (n) => showTimeline(incidents[n]).catch((e) => ($("alerts-error").textContent = e.message)),
  );
}

export async function showTimeline(incident) {
  const { body } = await v1("GET", `/v1/incidents/${encodeURIComponent(incident.id)}/timeline`);
  $("timeline-title").textContent = `${incident.ruleName} {${labelText(incident.labels)}}`;
  $("timeline").hidden = false;
  fillRows(
    $("timeline-rows"),
    body.timeline.map((e) => [
      e.at,
      e.type.replace(/^Incident/, ""),
      e.level ?? e.to ?? "",
      e.value === undefined ? "" : String(e.value),
      e.who,
      e.why,
    ]),
  );
}

export function wireAlerts() {
  $("incident-status").addEventListener("change", () => {
    showIncidents().catch((e) => ($("alerts-error").textContent = e.message));
  });
}
