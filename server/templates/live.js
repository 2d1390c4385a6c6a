// Ronda live pages: fetch the same page every few seconds and swap its
// <main>, so the numbers move without a reload. No framework, no build.
(function () {
  var every = Number(document.body.dataset.live || "5") * 1000;
  function refresh() {
    fetch(location.href, { credentials: "same-origin", headers: { "X-Ronda-Live": "1" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("main");
        var now = document.querySelector("main");
        if (fresh && now) now.replaceWith(fresh);
      })
      .catch(function () {})
      .then(function () { setTimeout(refresh, every); });
  }
  setTimeout(refresh, every);
})();
