// The labeling card's logic under Node's test runner: what it lists, what it calls, what it tells the user.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";

// The card is an ES module in a .js file, as browsers load it; Node would read a .js file outside a
// "type": "module" package as CommonJS, so it is imported from its text.
const source = await readFile(new URL("../../custom_components/nilm/frontend/nilm-label-card.js", import.meta.url));
const { LabelController, checkConfig, describe, formatStep, labelCall, pendingItems, texts } = await import(
  `data:text/javascript;base64,${source.toString("base64")}`
);

const KETTLE_ON = {
  event_id: "e7",
  time: "2026-11-30T07:31:05+01:00",
  kind: "on",
  step: 2010.4,
  candidates: [{ label: "Kettle", state: "on", probability: 0.32 }],
};
const FRIDGE_OFF = { event_id: "e9", time: "2026-11-30T08:02:00+01:00", kind: "off", step: -95.2, candidates: [] };
const LISTING = {
  events: [KETTLE_ON, FRIDGE_OFF, { ...KETTLE_ON, event_id: "e3", time: "2026-11-30T06:00:00+01:00" }],
  groups: [
    {
      group_id: "g1",
      step: 1204.9,
      count: 14,
      first_time: "2026-11-30T07:10:00+01:00",
      last_time: "2026-11-30T07:45:00+01:00",
      event_ids: ["e3", "e20"],
    },
    { group_id: "g2", step: 60, count: 1, event_ids: ["e21"] },
  ],
  appliances: ["Washer", "Kettle"],
};

/** A Home Assistant connection that answers like the integration and records every call. */
function fakeHass(responses) {
  const calls = [];
  return {
    calls,
    async callWS(message) {
      calls.push(message);
      const answer = responses[message.service];
      if (answer instanceof Error) {
        throw answer;
      }
      return { context: {}, response: answer ?? null };
    },
  };
}

test("steps read as people say them", () => {
  assert.equal(formatStep(2010.4), "+2.0 kW");
  assert.equal(formatStep(-95.2), "−95 W");
  assert.equal(formatStep(999.6), "+1,000 W");
  assert.equal(formatStep(1204.9, "de"), "+1,2 kW");
});

test("configuration errors are clear, defaults fill the rest", () => {
  assert.deepEqual(checkConfig({}), { title: undefined, max_items: 10, config_entry_id: undefined });
  assert.throws(() => checkConfig({ max_items: 0 }), /max_items/);
  assert.throws(() => checkConfig({ max_items: 2.5 }), /max_items/);
  assert.throws(() => checkConfig({ title: 3 }), /title/);
  assert.throws(() => checkConfig(null), /configuration/);
});

test("groups of several events come first, then the newest events not in a group", () => {
  const items = pendingItems(LISTING, 10);
  assert.deepEqual(
    items.map((i) => i.group_id ?? i.event_id),
    ["g1", "e9", "e7"],
  );
  assert.equal(pendingItems(LISTING, 2).length, 2);
  // 01:30+01:00 is later than 01:00+02:00 (the night clocks went back), whatever the text says.
  const autumn = pendingItems(
    { events: [
      { event_id: "a", time: "2026-10-25T01:00:00+02:00" },
      { event_id: "b", time: "2026-10-25T01:30:00+01:00" },
      { event_id: "c", time: "2026-10-25T01:45:00+02:00" },
    ] },
    5,
  );
  assert.deepEqual(autumn.map((e) => e.event_id), ["b", "c", "a"]);
  assert.deepEqual(pendingItems({}, 5), []);
});

test("an event shows its step, time and best guess; a group its size and count", () => {
  const view = describe(KETTLE_ON);
  assert.equal(view.title, "Switched on +2.0 kW");
  assert.match(view.detail, /07:31|06:31|\d\d:\d\d/);
  assert.match(view.detail, /maybe Kettle, 32 %/);
  assert.equal(view.suggestion, "Kettle");
  assert.equal(describe(FRIDGE_OFF).suggestion, "");
  assert.match(describe(FRIDGE_OFF).detail, /no known appliance/);
  const group = describe(LISTING.groups[0]);
  assert.equal(group.title, "Unknown device g1: about +1.2 kW, seen 14 times");
  // When it was last seen, in the browser's zone: what the user recalls the device by.
  assert.match(group.detail, /^Seen 2026-11-30 \d\d:10 – \d\d:45 · label them all at once$/);
  assert.equal(describe(LISTING.groups[1]).detail, "Label them all at once");
  // Over days, both dates; a listing without times says only what to do.
  const days = describe({ ...LISTING.groups[0], last_time: "2026-12-02T07:45:00+01:00" });
  assert.match(days.detail, /^Seen 2026-11-30 \d\d:10 – 2026-12-0[12] \d\d:45 · /);
  const minute = describe({ ...LISTING.groups[0], first_time: "2026-11-30T07:45:10+01:00" });
  assert.match(minute.detail, /^Seen 2026-11-30 \d\d:45 · /);
  assert.equal(group.ignorable, false);
});

test("a label becomes the label_event or label_group action", () => {
  assert.deepEqual(labelCall(KETTLE_ON, " Kettle ", ""), {
    service: "label_event",
    data: { event_id: "e7", appliance: "Kettle" },
  });
  assert.deepEqual(labelCall(LISTING.groups[0], "Heater", "high"), {
    service: "label_group",
    data: { group_id: "g1", appliance: "Heater", state: "high" },
  });
  assert.throws(() => labelCall(KETTLE_ON, "  ", ""), /Name the appliance/);
});

test("the controller lists, labels and refreshes through the nilm actions", async () => {
  let drawn = 0;
  const controller = new LabelController({ config_entry_id: "abc" }, () => drawn++);
  const hass = fakeHass({ list_events: LISTING, label_group: { labeled: 14 } });
  controller.hass = hass;
  await controller.refresh();
  assert.equal(controller.waiting, 3);
  assert.deepEqual(controller.appliances, ["Kettle", "Washer"]);
  assert.deepEqual(hass.calls[0], {
    type: "call_service",
    domain: "nilm",
    service: "list_events",
    service_data: { config_entry_id: "abc", kind: "pending" },
    return_response: true,
  });
  await controller.label(LISTING.groups[0], "Heater", "");
  assert.deepEqual(hass.calls[1].service_data, { config_entry_id: "abc", group_id: "g1", appliance: "Heater" });
  assert.equal(hass.calls[1].return_response, true);
  assert.equal(hass.calls[2].service, "list_events");
  await controller.ignore(FRIDGE_OFF);
  assert.deepEqual(hass.calls[3], {
    type: "call_service",
    domain: "nilm",
    service: "ignore_event",
    service_data: { config_entry_id: "abc", event_id: "e9" },
  });
  assert.equal(controller.error, "");
  assert.ok(drawn >= 5);
});

test("a refused action shows Home Assistant's message and loses nothing", async () => {
  const controller = new LabelController({}, () => {});
  const hass = fakeHass({ list_events: LISTING, label_event: new Error("Unknown event e7") });
  controller.hass = hass;
  await controller.refresh();
  await controller.label(KETTLE_ON, "Kettle", "");
  assert.equal(controller.error, "Unknown event e7");
  assert.equal(controller.items.length, 3);
  await controller.label(KETTLE_ON, "", "");
  assert.equal(controller.error, "Name the appliance first");
  assert.equal(controller.busy, false);
});

test("a failed listing is reported, and the card keeps what it showed", async () => {
  const controller = new LabelController({}, () => {});
  controller.hass = fakeHass({ list_events: LISTING });
  await controller.refresh();
  controller.hass = fakeHass({ list_events: new Error("Connection lost") });
  await controller.refresh();
  assert.equal(controller.error, "Connection lost");
  assert.equal(controller.items.length, 3);
});

test("without Home Assistant yet, refreshing does nothing", async () => {
  const controller = new LabelController({}, () => assert.fail("nothing to draw"));
  await controller.refresh();
  assert.deepEqual(controller.items, []);
});

test("teach mode starts nilm.learn_appliance and says what to do, until its time is up", async () => {
  const controller = new LabelController({}, () => {});
  const hass = fakeHass({ list_events: LISTING, learn_appliance: null });
  controller.hass = hass;
  await controller.teach("  Dryer ");
  assert.deepEqual(hass.calls[0], {
    type: "call_service",
    domain: "nilm",
    service: "learn_appliance",
    service_data: { appliance: "Dryer", duration: 120 },
  });
  assert.equal(controller.notice, "Switch Dryer on, then off, within 2 minutes.");
  controller.noticeUntil = Date.now() - 1;
  await controller.refresh();
  assert.equal(controller.notice, "");
  await controller.teach(" ");
  assert.equal(controller.error, "Name the appliance first");
  assert.equal(hass.calls.filter((c) => c.service === "learn_appliance").length, 1);
});

test("the card speaks the user's language where the integration is translated, English elsewhere", async () => {
  assert.equal(texts("de-CH").label, "Benennen");
  assert.equal(texts("fr").label, "Label");
  assert.equal(texts(undefined).title, "Events to label");
  assert.equal(describe(KETTLE_ON, "de").title, "Eingeschaltet +2,0 kW");
  assert.match(describe(KETTLE_ON, "de").detail, /vielleicht Kettle, 32 %/);
  assert.equal(describe(LISTING.groups[0], "de").title, "Unbekanntes Gerät g1: etwa +1,2 kW, 14-mal gesehen");
  assert.match(describe(LISTING.groups[0], "de").detail, /^Gesehen 2026-11-30 \d\d:10 – \d\d:45 · alle auf einmal benennen$/);
  const controller = new LabelController({}, () => {});
  controller.hass = { ...fakeHass({ list_events: LISTING }), language: "de" };
  await controller.label(KETTLE_ON, " ", "");
  assert.equal(controller.error, "Zuerst das Gerät benennen");
  await controller.teach("Trockner");
  assert.equal(controller.notice, "Trockner innerhalb von 2 Minuten ein- und wieder ausschalten.");
});
