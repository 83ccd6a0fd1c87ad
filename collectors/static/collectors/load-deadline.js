// A flexible load's deadline is on its site's clock. Django's admin fills the clock's "Now" on
// the clock of <body data-admin-utc-offset> (the server's TIME_ZONE): the chosen site's UTC
// offset goes there instead (the site field's data-utc-offsets, by site id, from the server).
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var site = document.getElementById("id_site");
  if (!site || !site.dataset.utcOffsets) return;
  var offsets = JSON.parse(site.dataset.utcOffsets);
  function follow() {
    if (offsets[site.value] !== undefined) document.body.dataset.adminUtcOffset = offsets[site.value];
  }
  follow();
  site.addEventListener("change", follow);
});
