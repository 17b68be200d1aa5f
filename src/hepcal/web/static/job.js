// The scan job page: poll the job and show its progress; reload when it has finished.
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box) return;
  var id = box.dataset.job;
  var progress = document.getElementById("job-progress");
  var statusEl = document.getElementById("job-status");
  var stage = document.getElementById("job-stage");
  function poll() {
    fetch("/api/scans/" + encodeURIComponent(id), { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (job) {
        progress.value = job.progress;
        progress.textContent = Math.round(job.progress * 100) + "%";
        statusEl.textContent = job.status;
        stage.textContent = job.stage || "";
        if (job.status === "done" || job.status === "failed") { window.location.reload(); return; }
        setTimeout(poll, 700);
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  poll();
})();
