"use strict";
(function () {
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var form = document.getElementById("filters");
  var cards = document.querySelectorAll("article.card");
  var shown = document.getElementById("shown");
  var empty = document.getElementById("empty");

  function matches(video, f) {
    if (f.status && video.status !== f.status) return false;
    if (f.syntax && video.syntax !== f.syntax) return false;
    if (f.finding && video.findings.indexOf(f.finding) < 0) return false;
    if (f.q && video.search.indexOf(f.q) < 0) return false;
    return true;
  }

  function apply() {
    var f = { status: form.status.value, syntax: form.syntax.value,
              finding: form.finding.value, q: form.q.value.trim().toLowerCase() };
    var count = 0;
    cards.forEach(function (card) {
      var ok = matches(data.videos[Number(card.dataset.index)], f);
      card.hidden = !ok;
      if (ok) count += 1;
    });
    shown.textContent = "showing " + count + " of " + data.videos.length;
    empty.hidden = count !== 0;
  }

  // A thumbnail that fails to load gives way to a plain label, not a broken image.
  function fallback(img) {
    var box = img.parentNode;
    box.textContent = "thumbnail unavailable";
  }
  document.querySelectorAll(".thumb img").forEach(function (img) {
    if (img.complete && img.naturalWidth === 0 && img.getAttribute("src")) fallback(img);
    else img.addEventListener("error", function () { fallback(img); });
  });

  // A count tile shows just what it counts (the "videos" tile shows everything again).
  document.querySelectorAll("button[data-select]").forEach(function (tile) {
    tile.addEventListener("click", function () {
      form.reset();
      var pick = tile.dataset.select.split("=");
      if (pick.length === 2 && form[pick[0]]) form[pick[0]].value = pick[1];
      apply();
    });
  });

  form.addEventListener("input", apply);
  form.addEventListener("change", apply);
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  apply();
})();
