// The assessment form: choosing a Norwood grade fills the graft range with Bernstein
// Medical's first-session range for it (the consultant may change it; the server checks it).
(function () {
  "use strict";
  const form = document.querySelector("form.assessment-form");
  if (!form) return;
  const suggested = JSON.parse(form.dataset.suggested || "{}");
  const crown = JSON.parse(form.dataset.crown || "{}");
  const pattern = form.querySelector("[name=pattern]");
  const low = form.querySelector("[name=grafts_min]");
  const high = form.querySelector("[name=grafts_max]");
  const hint = form.querySelector("[data-graft-hint]");
  pattern.addEventListener("change", function () {
    const range = suggested[pattern.value];
    if (!range) {
      hint.textContent = "No suggested range for this pattern; enter your estimate.";
      return;
    }
    low.value = range[0];
    high.value = range[1];
    const withCrown = crown[pattern.value];
    hint.textContent =
      "Suggested " + range[0] + "–" + range[1] + " grafts" +
      (withCrown ? " (" + withCrown[0] + "–" + withCrown[1] + " with the crown)" : "") +
      "; change it as you judge.";
  });
})();
