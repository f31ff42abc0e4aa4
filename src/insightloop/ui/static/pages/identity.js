// Identity pages: a decision takes a few seconds (customers, golden records and profile documents
// are rewritten before the answer), so a decision form says it is working and is sent only once;
// the unmerge form counts the records checked.
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-busy")) return;
    if (form.dataset.sent) {
      event.preventDefault();
      return;
    }
    // Buttons are not disabled: a disabled submitter would drop its name and value
    // (accept or reject) from the form data.
    form.dataset.sent = "1";
    form.setAttribute("aria-busy", "true");
    var busy = form.querySelector(".busy");
    if (busy) busy.hidden = false;
  });

  // Coming back to a page from the browser's history: its forms may be sent again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-busy]").forEach(function (form) {
      delete form.dataset.sent;
      form.removeAttribute("aria-busy");
      var busy = form.querySelector(".busy");
      if (busy) busy.hidden = true;
    });
  });

  function countChecked() {
    var form = document.getElementById("unmerge-form");
    var out = document.getElementById("checked-count");
    if (!form || !out) return;
    var checked = form.querySelectorAll('input[name="record"]:checked').length;
    var all = form.querySelectorAll('input[name="record"]').length;
    out.textContent = checked ? checked + " of " + all + " records checked" : "";
  }

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el instanceof HTMLInputElement && el.name === "record") countChecked();
  });
  document.addEventListener("DOMContentLoaded", countChecked);
})();
