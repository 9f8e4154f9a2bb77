// The office queue, progressively enhanced: poll for leads routed since the page was built
// and add them to the table without a reload. Text goes in with textContent only, so a
// name such as "<script>" stays text.

const POLL_MS = 10000;

const table = document.getElementById("queue");
const news = document.getElementById("queue-news");
// Words in the page's language, rendered by the server next to the table.
const words = JSON.parse(table?.dataset.i18n || "{}");
const plural = new Intl.PluralRules(document.documentElement.lang || "en");

function word(group, code) {
  return (words[group] && words[group][code]) || code.replaceAll("_", " ");
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function tag(text, className) {
  const node = el("span", text, className ? `tag ${className}` : "tag");
  return node;
}

function row(item) {
  const tr = el("tr", null, item.escalated ? "ws-escalated ws-arrived" : "ws-arrived");
  tr.dataset.leadId = String(item.id);

  const lead = el("td");
  const link = el("a", item.name);
  link.href = item.url;
  lead.append(link);
  if (item.company) lead.append(el("br"), el("span", item.company, "muted"));
  lead.append(" ", tag(words.new || "new", "ws-flag-new"));

  const rating = el("td", word("ratings", item.rating || "unrated"), `rating-${item.rating || "none"}`);
  const sla = el("td", item.sla.label, item.sla.overdue ? "overdue" : "");
  if (item.sla.due_local) {
    const due = (words.due || "due {time}").replace("{time}", item.sla.due_local);
    sla.append(el("br"), el("span", due, "muted ws-small"));
  }

  const flags = el("td");
  if (item.escalated) flags.append(tag(words.escalated || "escalated", "ws-flag-escalated"), " ");
  for (const flag of item.flags) flags.append(tag(word("flags", flag)), " ");

  tr.append(
    lead,
    el("td", item.event.name),
    rating,
    el("td", item.age_label),
    sla,
    flags,
    el("td", item.claimed_by ? item.claimed_by.name : "—"),
  );
  // On a phone each row is a card and each cell says what it is (its column's heading).
  const headings = [...table.querySelectorAll("thead th")].map((th) => th.textContent);
  [...tr.children].forEach((td, i) => { td.dataset.label = headings[i] || ""; });
  return tr;
}

function announce(count) {
  if (!news || count === 0) return;
  const total = Number(news.dataset.count || 0) + count;
  news.dataset.count = String(total);
  const forms = words.arrived || {};
  const text = forms[plural.select(total)] || forms.other;
  news.textContent = text
    ? text.replace("{n}", total.toLocaleString(document.documentElement.lang || "en"))
    : `${total} new lead${total === 1 ? "" : "s"} arrived — shown at the top.`;
  news.hidden = false;
}

async function poll(state) {
  const params = new URLSearchParams(table.dataset.filters || "");
  params.delete("page");
  params.set("since", state.since);
  try {
    const response = await fetch(`${table.dataset.pollUrl}?${params}`, {
      headers: { "X-Requested-With": "fetch", Accept: "application/json" },
      credentials: "same-origin",
    });
    if (!response.ok) return; // signed out or server busy: try again on the next tick
    const data = await response.json();
    state.since = data.now;
    const body = table.tBodies[0];
    const fresh = data.items.filter((item) => !body.querySelector(`tr[data-lead-id="${item.id}"]`));
    if (fresh.length === 0) return;
    body.querySelector("tr.ws-empty")?.remove();
    // Items come most urgent first; insert in reverse so the most urgent ends on top.
    for (const item of fresh.reverse()) body.prepend(row(item));
    announce(fresh.length);
  } catch {
    // Offline for a moment: the next tick retries.
  }
}

if (table) {
  const state = { since: table.dataset.since };
  const tick = () => {
    if (document.visibilityState === "visible") poll(state);
  };
  setInterval(tick, Number(table.dataset.pollMs || POLL_MS));
  document.addEventListener("visibilitychange", tick);
}
