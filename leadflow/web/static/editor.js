// Rulebook editor: put the cursor on the line of the validation error.
(function () {
  const area = document.getElementById("source");
  if (!area) return;
  const line = parseInt(area.dataset.errorLine || "0", 10);
  if (line > 0) {
    const lines = area.value.split("\n");
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    const end = start + (lines[line - 1] || "").length;
    area.focus();
    area.setSelectionRange(start, end);
    const lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 20;
    area.scrollTop = Math.max(0, (line - 5) * lineHeight);
  }
})();
