// Import by upload: the file goes up with XMLHttpRequest so that a progress bar can follow it, then the
// import report (counts and the rows set aside) is shown.

import { upload } from "./api.js";
import { byId, clear, el, show } from "./dom.js";
import { t } from "./i18n.js";

export function mountImport({ token, showError }) {
  const form = byId("import-form");
  const progress = byId("import-progress");
  const state = byId("import-state");
  const error = byId("import-error");
  const report = byId("import-report");
  let lastReport = null;

  function renderReport() {
    clear(report);
    if (!lastReport) return;
    report.append(el("p", { class: "import-summary", text: t("import.report", lastReport) }));
    if (lastReport.problems?.length) {
      const problems = el("ul", { class: "import-problems" });
      for (const problem of lastReport.problems) {
        problems.append(el("li", { text: t("import.row", { row: problem.row, reason: problem.reason }) }));
      }
      report.append(el("h3", { text: t("import.problems") }), problems);
    }
    show(report, true);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = byId("import-file").files[0];
    if (!file) return;
    showError(error, null);
    show(report, false);
    show(progress, true);
    progress.value = 0;
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    try {
      lastReport = await upload("/api/v1/imports", file, {
        token: token(),
        onProgress: (fraction) => {
          if (fraction === null) {
            progress.removeAttribute("value");
            return;
          }
          progress.value = fraction;
          state.textContent =
            fraction < 1
              ? t("import.uploading", { percent: Math.round(fraction * 100) })
              : t("import.processing");
        },
      });
      progress.value = 1;
      state.textContent = "";
      renderReport();
    } catch (problem) {
      state.textContent = "";
      showError(error, problem.status === 403 ? t("import.not_allowed") : problem);
    } finally {
      submit.disabled = false;
    }
  });

  return { onLanguage: renderReport };
}
