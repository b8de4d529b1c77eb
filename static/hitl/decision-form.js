/* The decision form's keys and its outcome-dependent parts (oversight/admin/decision_form.py).
   A static file: the Content-Security-Policy allows no inline script.

   A key picks the outcome whose radio button carries it (data-shortcut), N records and opens
   the next case, Enter records; Ctrl+Enter (or Cmd+Enter) records from anywhere, even while
   typing. The other keys never fire while the person types in a field. */
(function () {
  "use strict";

  const form = document.getElementById("decision-form");
  if (!form) {
    return;
  }
  const NOT_TYPING = new Set(["radio", "checkbox", "submit", "button", "reset"]);

  function isTyping(element) {
    if (!element || element === document.body) {
      return false;
    }
    if (element.isContentEditable) {
      return true;
    }
    const tag = element.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") {
      return true;
    }
    return tag === "INPUT" && !NOT_TYPING.has(element.type);
  }

  function submitWith(name) {
    const button = form.querySelector('[data-submit="' + name + '"]');
    if (typeof form.requestSubmit === "function") {
      form.requestSubmit(button);
    } else {
      button.click();
    }
  }

  // Parts that matter for some outcomes only (data-outcome="modify reject") show for those.
  function showParts() {
    const chosen = form.querySelector('input[name="outcome"]:checked');
    const value = chosen ? chosen.value : "";
    form.querySelectorAll("[data-outcome]").forEach(function (part) {
      part.hidden = !part.dataset.outcome.split(" ").includes(value);
    });
  }

  form.addEventListener("change", function (event) {
    if (event.target.name === "outcome") {
      showParts();
    }
  });
  showParts();

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.isComposing) {
      return;
    }
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      submitWith("record");
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) {
      return;
    }
    const tag = event.target && event.target.tagName;
    if (event.key === "Enter") {
      if (tag === "BUTTON" || tag === "A" || tag === "SUMMARY") {
        return; // Enter keeps its own meaning there.
      }
      event.preventDefault();
      submitWith("record");
      return;
    }
    const key = event.key.toLowerCase();
    if (key === "n") {
      event.preventDefault();
      submitWith("next");
      return;
    }
    const radio = form.querySelector('input[name="outcome"][data-shortcut="' + key + '"]');
    if (radio) {
      event.preventDefault();
      radio.checked = true;
      radio.focus();
      showParts();
    }
  });
  // The keys listen from here on (browser tests wait for this mark before pressing one).
  form.dataset.keys = "ready";
})();
