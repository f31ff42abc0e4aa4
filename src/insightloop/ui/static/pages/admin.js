// The administration pages: confirm before a change that cannot be undone, copy a secret
// that is shown once, and switch off the lifetime of a token that never expires.
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  function copied(button, text) {
    button.textContent = text;
    window.setTimeout(function () { button.textContent = "Copy"; }, 2000);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button) return;
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) return;
    field.focus();
    field.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(
        function () { copied(button, "Copied"); },
        function () { copied(button, "Press Ctrl+C"); }
      );
    } else {
      copied(button, "Selected: press Ctrl+C");
    }
  });

  document.addEventListener("focusin", function (event) {
    if (event.target.classList && event.target.classList.contains("secret")) event.target.select();
  });

  document.addEventListener("change", function (event) {
    var box = event.target;
    var id = box.getAttribute && box.getAttribute("data-disables");
    if (!id) return;
    var other = document.getElementById(id);
    if (other) other.disabled = box.checked;
  });
})();
