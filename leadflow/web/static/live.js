// Refresh the leads table every few seconds from the API (session cookie auth).
(function () {
  const body = document.querySelector("#leads tbody");
  const live = document.getElementById("live");
  if (!body) return;
  const cell = (text) => { const td = document.createElement("td"); td.textContent = text; return td; };
  async function refresh() {
    try {
      const res = await fetch("/api/v1/leads?limit=25", { credentials: "same-origin" });
      if (!res.ok) return;
      const page = await res.json();
      body.replaceChildren(...page.items.map((lead) => {
        const tr = document.createElement("tr");
        tr.dataset.lead = lead.id;
        const company = lead.company || {};
        const status = document.createElement("span");
        status.className = "status " + lead.status;
        status.textContent = lead.status;
        const statusCell = document.createElement("td");
        statusCell.append(status);
        tr.append(
          cell(lead.id), cell(new Date(lead.created_at).toLocaleTimeString()),
          cell(company.name || "—"), cell(company.country || "—"), statusCell,
          cell(lead.owner_rep_id ? "rep " + lead.owner_rep_id : (lead.queue || "—")), cell(lead.rule || ""));
        return tr;
      }));
      live.textContent = "· live";
    } catch (e) { live.textContent = "· offline"; }
  }
  setInterval(refresh, 3000);
})();
