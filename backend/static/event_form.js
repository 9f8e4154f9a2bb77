// The event form's question editor: add, remove and reorder questions, and show the
// options only for "one of the options". Without this script the form still works: it
// shows the questions and one empty row, and each save adds the row filled in.
const list = document.getElementById("question-list");
const template = document.getElementById("question-template");
const add = document.getElementById("add-question");

// Names follow the order on the page (q-0-…, q-1-…): the server reads them in that order.
function renumber() {
  const rows = list.querySelectorAll("[data-question]");
  rows.forEach((row, n) => {
    row.querySelector('[data-move="-1"]').disabled = n === 0;
    row.querySelector('[data-move="1"]').disabled = n === rows.length - 1;
    for (const field of row.querySelectorAll("[data-name]")) {
      field.name = `q-${n}-${field.dataset.name}`;
      field.id = field.name;
    }
    for (const label of row.querySelectorAll("[data-for]")) {
      label.htmlFor = `q-${n}-${label.dataset.for}`;
    }
  });
}

function showOptions(row) {
  const choice = row.querySelector('[data-name="type"]').value === "choice";
  for (const box of row.querySelectorAll(".question-options")) box.hidden = !choice;
}

function wire(row) {
  row.querySelector(".question-actions").hidden = false;
  showOptions(row);
  row.querySelector('[data-name="type"]').addEventListener("change", () => showOptions(row));
  row.querySelector("[data-remove]").addEventListener("click", () => {
    const next = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    renumber();
    next?.querySelector("input, select")?.focus();
  });
  for (const button of row.querySelectorAll("[data-move]")) {
    button.addEventListener("click", () => {
      const up = button.dataset.move === "-1";
      const other = up ? row.previousElementSibling : row.nextElementSibling;
      if (!other) return;
      if (up) list.insertBefore(row, other);
      else list.insertBefore(other, row);
      renumber();
      (button.disabled ? row.querySelector("[data-move]:not(:disabled)") : button)?.focus();
    });
  }
}

if (list && template && add) {
  // The empty row the page keeps for forms without this script: the button replaces it.
  const rows = list.querySelectorAll("[data-question]");
  const last = rows[rows.length - 1];
  const blank = last && [...last.querySelectorAll("input:not([type=hidden]), textarea")].every((f) => !f.value);
  if (blank && rows.length > 1) last.remove();
  list.querySelectorAll("[data-question]").forEach(wire);
  add.hidden = false;
  add.addEventListener("click", () => {
    const row = template.content.firstElementChild.cloneNode(true);
    list.appendChild(row);
    wire(row);
    renumber();
    row.querySelector('input:not([type="hidden"])').focus();
  });
  renumber();
}
