// SLA countdowns: each `.sla[data-due]` shows the time left to first contact, live.
(function () {
  const items = document.querySelectorAll(".sla[data-due]");
  if (!items.length) return;
  const fmt = (s) => {
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    const mm = String(m).padStart(h ? 2 : 1, "0") + ":" + String(sec).padStart(2, "0");
    return h ? h + ":" + mm : mm;
  };
  function tick() {
    const now = Date.now();
    items.forEach((el) => {
      const left = Math.round((new Date(el.dataset.due).getTime() - now) / 1000);
      el.textContent = left > 0 ? fmt(left) + " left" : "overdue " + fmt(-left);
      el.classList.toggle("overdue", left <= 0);
      el.classList.toggle("soon", left > 0 && left < 600);
    });
  }
  tick();
  setInterval(tick, 1000);
})();
