// The course editor: CodeMirror 6 (Markdown or YAML, line numbers, problems in the
// gutter at their lines) over the form's textarea, a live preview rendered by the server
// (exactly as a sync would, sanitised) that follows the cursor, and a warning before
// leaving with unsaved changes. Without the CodeMirror bundle the plain textarea works.
const form = document.getElementById("editor-form");
const textarea = document.getElementById("text");
const label = document.getElementById("text-label");
const preview = document.getElementById("preview");
const issues = document.getElementById("live-issues");
const unsavedNote = document.getElementById("unsaved-note");
const csrf = document.querySelector('meta[name="csrf-token"]').content;

// What is on disk; null after a refused save (the text shown is not on disk).
const savedText = form.dataset.unsaved ? null : textarea.value;
let view = null;
let cm = null;
let submitting = false;
let timer = null;

const currentText = () => (view ? view.state.doc.toString() : textarea.value);
const isDirty = () => currentText() !== savedText;

function showDirty() {
  unsavedNote.hidden = !isDirty();
}

window.addEventListener("beforeunload", (event) => {
  if (submitting || !isDirty()) return;
  event.preventDefault();
  event.returnValue = ""; // older browsers need a value to ask
});

form.addEventListener("submit", () => {
  textarea.value = currentText();
  submitting = true;
});

function scheduleRefresh() {
  clearTimeout(timer);
  timer = setTimeout(refresh, 400);
}

function showProblems(sentText, problems) {
  if (!view || currentText() !== sentText) return; // a newer refresh is on its way
  const doc = view.state.doc;
  const diagnostics = problems.map((problem) => {
    const line = doc.line(Math.min(Math.max(problem.line, 1), doc.lines));
    return { from: line.from, to: line.to, severity: "error", message: problem.message };
  });
  view.dispatch(cm.setDiagnostics(view.state, diagnostics));
}

async function refresh() {
  const text = currentText();
  const response = await fetch(form.dataset.previewUrl, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
    body: JSON.stringify({ text }),
  });
  if (!response.ok) {
    issues.textContent = "Preview unavailable: the server answered " + response.status + ".";
    return;
  }
  const body = await response.json();
  if (preview) {
    preview.innerHTML = body.html; // sanitised by the server (nh3)
    followCursor();
  }
  issues.replaceChildren(...body.issues.map((message) => {
    const line = document.createElement("div");
    line.textContent = message;
    return line;
  }));
  showProblems(text, body.problems || []);
}

// Source lines of the Markdown headings (outside fenced code): they pair up, in order,
// with the headings of the preview.
function headingLines(text) {
  const lines = text.split("\n");
  const found = [];
  let fenced = false;
  let start = 0;
  if (lines[0] === "---") {
    const end = lines.indexOf("---", 1);
    start = end > 0 ? end + 1 : 0;
  }
  for (let i = start; i < lines.length; i += 1) {
    if (/^\s*(```|~~~)/.test(lines[i])) fenced = !fenced;
    else if (!fenced && /^#{1,6}\s/.test(lines[i])) found.push(i + 1);
  }
  return { found, total: lines.length };
}

let followPending = false;
function followCursor() {
  if (!preview || !view || followPending) return;
  followPending = true;
  requestAnimationFrame(() => {
    followPending = false;
    const cursorLine = view.state.doc.lineAt(view.state.selection.main.head).number;
    const { found, total } = headingLines(view.state.doc.toString());
    const shown = preview.querySelectorAll("h1, h2, h3, h4, h5, h6");
    const pairs = Math.min(found.length, shown.length);
    let index = -1;
    while (index + 1 < pairs && found[index + 1] <= cursorLine) index += 1;
    if (index < 0) {
      preview.scrollTop = 0;
      return;
    }
    const top = shown[index].offsetTop;
    const nextTop = index + 1 < pairs ? shown[index + 1].offsetTop : preview.scrollHeight;
    const nextLine = index + 1 < pairs ? found[index + 1] : total + 1;
    const fraction = (cursorLine - found[index]) / Math.max(1, nextLine - found[index]);
    preview.scrollTop = top + fraction * (nextTop - top) - preview.clientHeight / 3;
  });
}

async function mountEditor() {
  try {
    cm = await import(form.dataset.editorModule);
  } catch (error) {
    console.warn("code editor unavailable, using the plain text box", error);
    textarea.addEventListener("input", () => { showDirty(); scheduleRefresh(); });
    return;
  }
  const host = document.getElementById("code-editor");
  view = new cm.EditorView({
    parent: host,
    state: cm.EditorState.create({
      doc: textarea.value,
      extensions: [
        cm.basicSetup,
        form.dataset.mode === "yaml" ? cm.yaml() : cm.markdown(),
        cm.lintGutter(),
        cm.EditorView.lineWrapping,
        cm.EditorView.contentAttributes.of({ "aria-labelledby": "text-label" }),
        cm.EditorView.updateListener.of((update) => {
          if (update.docChanged) {
            showDirty();
            scheduleRefresh();
          }
          if (update.docChanged || update.selectionSet) followCursor();
        }),
      ],
    }),
  });
  textarea.hidden = true;
  label.removeAttribute("for"); // the editor is labelled by it now
  label.addEventListener("click", () => view.focus());
  host.hidden = false;
}

await mountEditor();
showDirty();
refresh();
