// Live preview and validation for the course editor: sends the text to the
// server (which renders and sanitises it exactly as a sync would) after a pause.
const form = document.getElementById("editor-form");
const textarea = document.getElementById("text");
const preview = document.getElementById("preview");
const issues = document.getElementById("live-issues");
const csrf = document.querySelector('meta[name="csrf-token"]').content;
let timer = null;

async function refresh() {
  const response = await fetch(form.dataset.previewUrl, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
    body: JSON.stringify({ text: textarea.value }),
  });
  if (!response.ok) {
    issues.textContent = "Preview unavailable: the server answered " + response.status + ".";
    return;
  }
  const body = await response.json();
  if (preview) preview.innerHTML = body.html; // sanitised by the server (nh3)
  issues.replaceChildren(...body.issues.map((text) => {
    const line = document.createElement("div");
    line.textContent = text;
    return line;
  }));
}

textarea.addEventListener("input", () => {
  clearTimeout(timer);
  timer = setTimeout(refresh, 400);
});
refresh();
