// Drives the labeling card in a real browser (headless Chromium) against a recording Home Assistant
// connection, and writes what it saw as JSON into <pre id="result"> for the Python test to read.
const LISTING = {
  events: [
    { event_id: "e7", time: "2026-11-30T07:31:05+01:00", kind: "on", step: 2010.4,
      candidates: [{ label: "Kettle", state: "on", probability: 0.32 }] },
    { event_id: "e9", time: "2026-11-30T08:02:00+01:00", kind: "off", step: -95.2, candidates: [] },
  ],
  groups: [{ group_id: "g1", step: 1204.9, count: 14, event_ids: ["e20", "e21"] }],
  appliances: ["Washer", "Kettle"],
};
const calls = [];
let refuse = false;
const hass = {
  async callWS(message) {
    calls.push(message);
    if (refuse && message.service === "label_event") {
      throw { code: "service_validation_error", message: "Unknown event e9" };
    }
    return { context: {}, response: message.service === "list_events" ? LISTING : { labeled: 14 } };
  },
};
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

function rows(card) {
  return [...card.shadowRoot.querySelectorAll(".row")].map((row) => ({
    title: row.querySelector(".title").textContent,
    detail: row.querySelector(".detail").textContent,
    inputs: [...row.querySelectorAll("input")].map((i) => i.value),
    buttons: [...row.querySelectorAll("button")].map((b) => b.textContent),
  }));
}

async function run() {
  const seen = {};
  const card = document.createElement("nilm-label-card");
  card.setConfig({ title: "To label", max_items: 5 });
  document.body.append(card);
  card.hass = hass;
  await settle();
  seen.header = card.shadowRoot.querySelector("ha-card").header;
  seen.rows = rows(card);
  seen.choices = [...card.shadowRoot.querySelectorAll("datalist option")].map((o) => o.value);
  seen.picker = window.customCards.map((c) => c.type);

  // Type a name for the fridge's OFF: it survives the periodic refresh, then the label goes out.
  const fridge = card.shadowRoot.querySelectorAll(".row")[1];
  const [name, state] = fridge.querySelectorAll("input");
  name.value = "Fridge";
  name.dispatchEvent(new Event("input"));
  state.value = "compressor";
  state.dispatchEvent(new Event("input"));
  await card.controller.refresh();
  seen.kept = [...card.shadowRoot.querySelectorAll(".row")[1].querySelectorAll("input")].map((i) => i.value);
  card.shadowRoot.querySelectorAll(".row")[1].querySelector("button").click();
  await settle();
  seen.label = calls.filter((c) => c.service === "label_event").map((c) => c.service_data);

  // A refused label shows Home Assistant's message in the card.
  refuse = true;
  card.shadowRoot.querySelectorAll(".row")[1].querySelector("button").click();
  await settle();
  seen.error = card.shadowRoot.querySelector(".error")?.textContent ?? null;

  // Ignore on the kettle's ON, and a group labeled with one click.
  card.shadowRoot.querySelectorAll(".row")[2].querySelectorAll("button")[1].click();
  await settle();
  const group = card.shadowRoot.querySelectorAll(".row")[0];
  group.querySelector("input").value = "Heater";
  group.querySelector("button").click();
  await settle();
  seen.services = calls.map((c) => c.service);
  seen.group = calls.filter((c) => c.service === "label_group").map((c) => c.service_data);

  // Teach mode from the card's last row.
  const learner = card.shadowRoot.querySelector(".teach input");
  learner.value = "Dryer";
  learner.dispatchEvent(new Event("input"));
  card.shadowRoot.querySelector(".teach button").click();
  await settle();
  seen.teach = calls.filter((c) => c.service === "learn_appliance").map((c) => c.service_data);
  seen.notice = card.shadowRoot.querySelector(".notice")?.textContent ?? null;

  // The dashboard editor sets a new config on a card that is already showing.
  card.setConfig({ title: "Edited" });
  await settle();
  seen.edited = card.shadowRoot.querySelector("ha-card").header;
  return seen;
}

run()
  .then((seen) => { document.getElementById("result").textContent = JSON.stringify(seen); })
  .catch((err) => { document.getElementById("result").textContent = JSON.stringify({ failure: String(err && err.stack || err) }); });
