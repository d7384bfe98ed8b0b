// Live offers for the signed-in rep: the event stream adds and removes offers, a
// countdown shows the time left, Accept / Decline answer through the API.
(function () {
  const box = document.getElementById("offers");
  if (!box) return;
  const list = box.querySelector("ul");
  const note = box.querySelector(".offer-note");
  const offers = new Map();
  // The session cookie alone is not enough to change anything: send the page's token.
  const csrf = (document.querySelector("meta[name=csrf-token]") || {}).content || "";

  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };

  function left(offer) {
    const ms = new Date(offer.expires_at).getTime() - Date.now();
    if (ms <= 0) return "expired";
    const s = Math.ceil(ms / 1000);
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  function render() {
    const items = [...offers.values()].sort((a, b) => a.id - b.id);
    list.replaceChildren(...items.map((offer) => {
      const li = el("li", "offer");
      li.dataset.offer = offer.id;
      const company = (offer.lead && offer.lead.company) || {};
      const facts = [company.country, offer.lead && offer.lead.score != null ? "score " + offer.lead.score : null];
      li.append(
        el("strong", "", company.name || "Lead " + offer.lead_id),
        el("span", "muted", facts.filter(Boolean).join(" · ")),
        el("span", "countdown", left(offer)));
      const accept = el("button", "accept", "Accept");
      accept.onclick = () => answer(offer, "accept");
      const decline = el("button", "decline", "Decline");
      decline.onclick = () => answer(offer, "decline");
      li.append(accept, decline);
      return li;
    }));
    if (!items.length && !note.textContent) note.textContent = "No offers right now.";
  }

  async function answer(offer, verb) {
    const res = await fetch("/api/v1/offers/" + offer.id + "/" + verb, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: "{}" });
    const body = await res.json().catch(() => ({}));
    offers.delete(offer.id);
    note.textContent = res.ok
      ? (verb === "accept" ? "You own this lead now." : "Declined.")
      : ((body.detail && body.detail.message) || "Could not " + verb + ".");
    render();
  }

  function gone(data, text) {
    if (offers.delete(data.offer_id)) { note.textContent = text; render(); }
  }

  async function load() {
    const res = await fetch("/api/v1/me/offers", { credentials: "same-origin" });
    if (!res.ok) return;
    for (const offer of await res.json()) offers.set(offer.id, offer);
    render();
  }

  const stream = new EventSource("/api/v1/me/events");
  stream.addEventListener("offer.made", (e) => {
    const d = JSON.parse(e.data);
    offers.set(d.offer_id, { id: d.offer_id, lead_id: d.lead.id, lead: d.lead, expires_at: d.expires_at });
    note.textContent = "";
    render();
  });
  stream.addEventListener("offer.withdrawn", (e) => gone(JSON.parse(e.data), "Taken by another rep."));
  stream.addEventListener("offer.expired", (e) => gone(JSON.parse(e.data), "An offer expired."));
  setInterval(() => box.querySelectorAll(".offer").forEach((li) => {
    const offer = offers.get(Number(li.dataset.offer));
    if (offer) li.querySelector(".countdown").textContent = left(offer);
  }), 1000);
  load();
})();
