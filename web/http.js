// The page's one way to call Lookout: every request carries the signed-in key as a
// Bearer token, and an answer that is not a success becomes an Error whose message is
// the server's own reason (Prometheus `error`, problem+json `detail`).

export const session = { key: sessionStorage.getItem("lookout-key") ?? "" };

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

/** A Prometheus API call (form body); resolves to its `data`. */
export async function prom(path, params = {}) {
  const res = await fetch(path, {
    method: "POST",
    headers: { authorization: `Bearer ${session.key}`, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(params),
  });
  const json = await res.json().catch(() => ({}));
  if (res.status === 401) throw new ApiError("The API key was not accepted", 401);
  if (json.status !== "success") {
    throw new ApiError(json.error ?? json.detail ?? `HTTP ${res.status}`, res.status);
  }
  return json.data;
}

/** A `/v1` call with an optional JSON body; resolves to `{ body, etag }`. */
export async function v1(method, path, { body, ifMatch } = {}) {
  const headers = { authorization: `Bearer ${session.key}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (ifMatch !== undefined) headers["if-match"] = `"${ifMatch}"`;
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const json = text === "" ? undefined : JSON.parse(text);
  if (!res.ok) throw new ApiError(json?.detail ?? json?.title ?? `HTTP ${res.status}`, res.status);
  return { body: json, etag: res.headers.get("etag") };
}

/** A table body from rows of cell texts; `onPick` makes each row a button. */
export function fillRows(tbody, rows, onPick) {
  tbody.replaceChildren(...rows.map((cells, i) => {
    const tr = document.createElement("tr");
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = text ?? "";
      tr.append(td);
    }
    if (onPick) {
      tr.tabIndex = 0;
      tr.classList.add("pick");
      tr.addEventListener("click", () => onPick(i));
      tr.addEventListener("keydown", (e) => e.key === "Enter" && onPick(i));
    }
    return tr;
  }));
}
