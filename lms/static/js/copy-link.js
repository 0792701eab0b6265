// "Copy link" buttons: <button data-copy-target="ID"> copies the text of the element ID
// (an invitation link) to the clipboard and says so on the button.
(function () {
  "use strict";

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain HTTP: the Clipboard API is unavailable; a selected textarea still copies.
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      var copied = false;
      try { copied = document.execCommand("copy"); } catch (error) { copied = false; }
      document.body.removeChild(area);
      (copied ? resolve : reject)();
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy-target"));
    if (!source) return;
    var label = button.getAttribute("data-label") || button.innerHTML;
    button.setAttribute("data-label", label);
    copyText(source.textContent.trim()).then(
      function () { button.textContent = "Copied"; },
      function () { button.textContent = "Select and copy the link"; }
    ).then(function () {
      button.setAttribute("aria-live", "polite");
      window.setTimeout(function () { button.innerHTML = label; }, 2500);
    });
  });
})();
