// Keyboard shortcuts of the workbench (documented on the page, "快捷键 ?").
// n: next task · a/e/q: jump to attempts/evidence/questionnaire · g: workbench · ?: help.
// Keys are ignored while typing in a field or with a modifier held; no inline code (CSP).
(function () {
  "use strict";

  function typing(target) {
    if (!target) return false;
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  function toggleHelp() {
    var help = document.getElementById("shortcuts");
    if (help) help.hidden = !help.hidden;
  }

  function jump(anchor) {
    var target = document.querySelector('[data-anchor="' + anchor + '"]');
    if (!target) return false;
    target.scrollIntoView({ block: "start" });
    var field = target.querySelector("input:not([type=hidden]), select, textarea, button");
    if (field) field.focus();
    return true;
  }

  function press(key) {
    var el = document.querySelector('[data-key="' + key + '"]');
    if (!el || el.disabled) return false;
    el.click();
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) return;
    var key = event.key;
    var done = false;
    if (key === "?") {
      toggleHelp();
      done = true;
    } else if (key === "a" || key === "e" || key === "q") {
      done = jump(key);
    } else if (key === "n" || key === "g") {
      done = press(key);
    }
    if (done) event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-toggle-shortcuts]");
    if (button) toggleHelp();
  });
})();
