// Buttons with data-copy-target="#id" copy that element's value (inputs) or text to the
// clipboard and say so on the button; the element is also selected, for copying by hand
// where the clipboard is not available (plain HTTP).
for (const button of document.querySelectorAll("[data-copy-target]")) {
  button.addEventListener("click", async () => {
    const source = document.querySelector(button.dataset.copyTarget);
    if (!source) return;
    const text = "value" in source ? source.value : source.textContent;
    const label = button.textContent;
    try {
      await navigator.clipboard.writeText(text.trim());
      button.textContent = "Copied";
    } catch {
      if (source.select) source.select();
      else window.getSelection().selectAllChildren(source);
      button.textContent = "Selected: press Ctrl+C";
    }
    setTimeout(() => { button.textContent = label; }, 2500);
  });
}
