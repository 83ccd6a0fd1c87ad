// Ticks the keyless providers that serve the chosen country, until the user ticks by hand.
(function () {
  "use strict";
  var defaults = JSON.parse(document.getElementById("provider-defaults").textContent);
  var country = document.getElementById("id_country");
  var boxes = document.querySelectorAll("input[name=providers]");
  var key = document.getElementById("id_electricitymaps_key");
  var touched = false;
  boxes.forEach(function (box) {
    box.addEventListener("change", function () { touched = true; });
  });
  function apply() {
    if (touched) return;
    var wanted = (defaults[country.value] || []).slice();
    if (key.value) wanted.push("electricitymaps");
    boxes.forEach(function (box) { box.checked = wanted.indexOf(box.value) !== -1; });
  }
  country.addEventListener("change", apply);
  key.addEventListener("input", apply);
  if (!document.querySelector("input[name=providers]:checked")) apply();
})();
