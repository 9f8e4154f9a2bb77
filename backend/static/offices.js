// The "where would this go?" box: asks the routing preview API and shows the reason in the
// reader's language (reason_display; reason is the stored English).
const form = document.getElementById("route-preview");
const output = document.getElementById("route-result");
// The page's words for methods, flags and messages (the API answers in codes).
const words = JSON.parse(form?.dataset.i18n || "{}");
const word = (kind, code) => words[kind]?.[code] || code;

form?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = Object.fromEntries(new FormData(form));
  for (const key of Object.keys(data)) if (!data[key]) delete data[key];
  if (data.event_id) data.event_id = Number(data.event_id);
  output.textContent = "…";
  const response = await fetch("/api/v1/routing/preview", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-Requested-With": "XMLHttpRequest" },
    body: JSON.stringify(data),
  });
  const body = await response.json();
  if (!response.ok) {
    output.textContent =
      body.error?.message || (words.error || "Error {status}").replace("{status}", response.status);
    return;
  }
  const flagged = (words.flagged || "flags: {flags}").replace(
    "{flags}",
    body.flags.map((flag) => word("flags", flag)).join(", "),
  );
  const flags = body.flags.length ? ` — ${flagged}` : "";
  const method = word("methods", body.method);
  output.textContent = `${body.office.name} (${method}): ${body.reason_display || body.reason}${flags}`;
});
