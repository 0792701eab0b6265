// The parts of CodeMirror 6 the course editor uses, bundled into one ES module by
// scripts/copy-assets.sh (esbuild, from node_modules installed by package-lock.json) as
// lms/static/vendor/codemirror/codemirror.js. Not served from here.
export { basicSetup, EditorView } from "codemirror";
export { EditorState } from "@codemirror/state";
export { keymap } from "@codemirror/view";
export { markdown } from "@codemirror/lang-markdown";
export { yaml } from "@codemirror/lang-yaml";
export { setDiagnostics, lintGutter } from "@codemirror/lint";
