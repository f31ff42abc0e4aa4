// The quarantine page: "select every row of this page", and "Retry the selected rows" enabled
// only with a selection. Works on the rows HTMX swaps in (the listeners sit on the document).
(function () {
  "use strict";

  function refresh(root) {
    root.querySelectorAll("#retry-form").forEach(function (form) {
      var boxes = form.querySelectorAll('input[name="ids"]');
      var picked = form.querySelectorAll('input[name="ids"]:checked').length;
      var button = form.querySelector("#retry-selected");
      if (button) button.disabled = picked === 0;
      var all = form.querySelector("[data-pick-all]");
      if (all) {
        all.checked = boxes.length > 0 && picked === boxes.length;
        all.indeterminate = picked > 0 && picked < boxes.length;
        all.disabled = boxes.length === 0;
      }
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!(target instanceof HTMLInputElement)) return;
    var form = target.closest("#retry-form");
    if (!form) return;
    if (target.hasAttribute("data-pick-all")) {
      form.querySelectorAll('input[name="ids"]').forEach(function (box) {
        box.checked = target.checked;
      });
    }
    refresh(document);
  });
  document.addEventListener("DOMContentLoaded", function () {
    refresh(document);
  });
  document.addEventListener("htmx:afterSettle", function () {
    refresh(document);
  });
})();
