// NILM labeling card: the events waiting for a label, named in place through the nilm.* actions.
// Served and loaded by the integration itself; add it to a dashboard as `type: custom:nilm-label-card`.
// Plain custom element, no build step and no imports: the controller below holds all the logic (and is what
// the tests drive under Node), the element only draws what the controller says.

export const CARD_TYPE = "nilm-label-card";
const DEFAULT_MAX_ITEMS = 10;
const REFRESH_MS = 30000;
// How long a teach session waits for the appliance's on and off (nilm.learn_appliance's default).
const TEACH_S = 120;

// The card's words in the languages the integration is translated to (its translations/); English otherwise.
const TEXTS = {
  en: {
    title: "Events to label",
    group: (id, step, count) => `Unknown device ${id}: about ${step}, seen ${count} times`,
    groupDetail: (seen) => (seen ? `Seen ${seen} · label them all at once` : "Label them all at once"),
    maybe: (name, pct) => `maybe ${name}, ${pct} %`,
    noMatch: "no known appliance matches",
    on: (step) => `Switched on ${step}`,
    off: (step) => `Switched off ${step}`,
    nameFirst: "Name the appliance first",
    teachNotice: (name, minutes) => `Switch ${name} on, then off, within ${minutes} minutes.`,
    appliance: "Appliance",
    state: "State (optional)",
    label: "Label",
    ignore: "Ignore",
    empty: "Nothing waits for a label.",
    teachName: "Appliance to teach",
    teach: "Teach",
    teachHint: "Or teach one: start, then switch it on and off.",
  },
  de: {
    title: "Zu benennende Ereignisse",
    group: (id, step, count) => `Unbekanntes Gerät ${id}: etwa ${step}, ${count}-mal gesehen`,
    groupDetail: (seen) => (seen ? `Gesehen ${seen} · alle auf einmal benennen` : "Alle auf einmal benennen"),
    maybe: (name, pct) => `vielleicht ${name}, ${pct} %`,
    noMatch: "kein bekanntes Gerät passt",
    on: (step) => `Eingeschaltet ${step}`,
    off: (step) => `Ausgeschaltet ${step}`,
    nameFirst: "Zuerst das Gerät benennen",
    teachNotice: (name, minutes) => `${name} innerhalb von ${minutes} Minuten ein- und wieder ausschalten.`,
    appliance: "Gerät",
    state: "Zustand (optional)",
    label: "Benennen",
    ignore: "Ignorieren",
    empty: "Nichts wartet auf eine Benennung.",
    teachName: "Gerät zum Anlernen",
    teach: "Anlernen",
    teachHint: "Oder eines anlernen: starten, dann ein- und ausschalten.",
  },
};

/** The card's words for a Home Assistant language ("de", "de-CH", ...). */
export function texts(language) {
  return TEXTS[String(language ?? "en").split("-")[0]] ?? TEXTS.en;
}

/** A config from the dashboard YAML, checked: a clear error beats a card that silently shows nothing. */
export function checkConfig(config) {
  if (config === null || typeof config !== "object") {
    throw new Error("nilm-label-card: the card needs a configuration object");
  }
  const max = config.max_items ?? DEFAULT_MAX_ITEMS;
  if (!Number.isInteger(max) || max < 1 || max > 50) {
    throw new Error("nilm-label-card: max_items must be a whole number from 1 to 50");
  }
  if (config.title !== undefined && typeof config.title !== "string") {
    throw new Error("nilm-label-card: title must be text");
  }
  if (config.config_entry_id !== undefined && typeof config.config_entry_id !== "string") {
    throw new Error("nilm-label-card: config_entry_id must be text");
  }
  return { title: config.title, max_items: max, config_entry_id: config.config_entry_id };
}

/** A power step for people, in their language's digits: "+950 W", "−95 W", "+1.2 kW" (de: "+1,2 kW"). */
export function formatStep(step, language = "en") {
  const sign = step >= 0 ? "+" : "−";
  const size = Math.abs(step);
  if (size >= 1000) {
    const kw = (size / 1000).toLocaleString(language, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
    return `${sign}${kw} kW`;
  }
  return `${sign}${Math.round(size).toLocaleString(language)} W`;
}

function clock(iso) {
  const time = new Date(iso);
  if (Number.isNaN(time.getTime())) {
    return "";
  }
  const pad = (n) => String(n).padStart(2, "0");
  return `${time.getFullYear()}-${pad(time.getMonth() + 1)}-${pad(time.getDate())} ${pad(time.getHours())}:${pad(time.getMinutes())}`;
}

/** When a group's events happened: "2026-11-30 07:10 – 08:45", the second date only where it differs. */
function seenBetween(first, last) {
  const [from, to] = [clock(first), clock(last)];
  if (!from || !to || from === to) {
    return from || to;
  }
  const [fromDay, toDay] = [from.slice(0, 10), to.slice(0, 10)];
  return `${from} – ${fromDay === toDay ? to.slice(11) : to}`;
}

/** What the card shows for one event or group, and the appliance it suggests. */
export function describe(item, language = "en") {
  const t = texts(language);
  if (item.group_id !== undefined) {
    return {
      key: `group:${item.group_id}`,
      title: t.group(item.group_id, formatStep(item.step, language), item.count),
      // When it happened is what a user recalls a device by: a wash from 10:00 to 11:30, a fridge all day.
      detail: t.groupDetail(seenBetween(item.first_time, item.last_time)),
      suggestion: "",
      ignorable: false,
    };
  }
  const best = item.candidates && item.candidates.length ? item.candidates[0] : null;
  const guess = best
    ? t.maybe(
        `${best.label}${best.state && best.state !== "on" ? ` (${best.state})` : ""}`,
        Math.round(best.probability * 100),
      )
    : t.noMatch;
  return {
    key: `event:${item.event_id}`,
    title: (item.kind === "on" ? t.on : t.off)(formatStep(item.step, language)),
    detail: `${clock(item.time)} · ${guess}`,
    suggestion: best ? best.label : "",
    ignorable: true,
  };
}

/** The rows to show: groups (several events at once) first, then the newest single events not in a group. */
export function pendingItems(response, max) {
  const groups = (response.groups ?? []).filter((g) => g.count > 1);
  const grouped = new Set(groups.flatMap((g) => g.event_ids));
  const events = (response.events ?? [])
    .filter((e) => !grouped.has(e.event_id))
    // By instant, not by text: times across a daylight-saving change carry different offsets.
    .sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
  return [...groups.sort((a, b) => b.count - a.count), ...events].slice(0, max);
}

/** The appliance name typed, trimmed; an empty one is refused before anything is sent. */
function requireName(appliance, language) {
  const name = (appliance ?? "").trim();
  if (!name) {
    throw new Error(texts(language).nameFirst);
  }
  return name;
}

/** The action call that labels an item (an event or a group) as an appliance and optional state. */
export function labelCall(item, appliance, state, language = "en") {
  const name = requireName(appliance, language);
  const data = item.group_id !== undefined ? { group_id: item.group_id } : { event_id: item.event_id };
  data.appliance = name;
  const phase = (state ?? "").trim();
  if (phase) {
    data.state = phase;
  }
  return { service: item.group_id !== undefined ? "label_group" : "label_event", data };
}

/** Talks to Home Assistant for the card: lists what waits for a label, labels and ignores. */
export class LabelController {
  constructor(config, onChange) {
    this.config = checkConfig(config);
    this.onChange = onChange;
    this.hass = null;
    this.items = [];
    this.appliances = [];
    this.waiting = 0;
    this.error = "";
    this.notice = "";
    this.noticeUntil = 0;
    this.busy = false;
  }

  /** Home Assistant's language for the user ("en" until it is known). */
  get language() {
    return (this.hass && this.hass.language) || "en";
  }

  async call(service, data, withResponse) {
    const entry = this.config.config_entry_id ? { config_entry_id: this.config.config_entry_id } : {};
    const message = { type: "call_service", domain: "nilm", service, service_data: { ...entry, ...data } };
    if (withResponse) {
      message.return_response = true;
    }
    return this.hass.callWS(message);
  }

  async refresh() {
    if (!this.hass) {
      return;
    }
    if (this.notice && Date.now() > this.noticeUntil) {
      this.notice = "";
    }
    try {
      const result = await this.call("list_events", { kind: "pending" }, true);
      const response = result.response ?? {};
      this.waiting = (response.events ?? []).length;
      this.items = pendingItems(response, this.config.max_items);
      this.appliances = [...(response.appliances ?? [])].sort((a, b) => a.localeCompare(b));
      this.error = "";
    } catch (err) {
      this.error = messageOf(err);
    }
    this.onChange();
  }

  async label(item, appliance, state) {
    await this.act(() => {
      const { service, data } = labelCall(item, appliance, state, this.language);
      return this.call(service, data, service === "label_group");
    });
  }

  async ignore(item) {
    await this.act(() => this.call("ignore_event", { event_id: item.event_id }, false));
  }

  /** Teach mode: the appliance's next on and off events within TEACH_S are labeled as it. */
  async teach(appliance) {
    this.notice = "";
    await this.act(async () => {
      const name = requireName(appliance, this.language);
      await this.call("learn_appliance", { appliance: name, duration: TEACH_S }, false);
      this.notice = texts(this.language).teachNotice(name, TEACH_S / 60);
      this.noticeUntil = Date.now() + TEACH_S * 1000;
    });
  }

  async act(action) {
    if (this.busy) {
      return;
    }
    this.busy = true;
    this.onChange();
    let failure = "";
    try {
      await action();
    } catch (err) {
      failure = messageOf(err);
    }
    this.busy = false;
    await this.refresh();
    if (failure) {
      // The listing after a refused label still succeeds: the refusal is what the user must see.
      this.error = failure;
      this.onChange();
    }
  }
}

function messageOf(err) {
  if (err && typeof err.message === "string") {
    return err.message;
  }
  return String(err);
}

function element(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  for (const child of children) {
    node.append(child);
  }
  return node;
}

const STYLE = `
  .row { padding: 8px 16px; border-top: 1px solid var(--divider-color); }
  .title { font-weight: 500; }
  .detail { color: var(--secondary-text-color); font-size: 0.9em; margin: 2px 0 6px; }
  .inputs { display: flex; gap: 8px; flex-wrap: wrap; align-items: center; }
  input { flex: 1 1 8em; min-width: 6em; padding: 4px 6px; font: inherit; color: var(--primary-text-color);
          background: var(--card-background-color); border: 1px solid var(--divider-color); border-radius: 4px; }
  button { font: inherit; padding: 4px 10px; border-radius: 4px; border: 1px solid var(--primary-color);
           background: var(--primary-color); color: var(--text-primary-color, #fff); cursor: pointer; }
  button.secondary { background: none; color: var(--primary-color); }
  button:disabled { opacity: 0.5; cursor: default; }
  .empty, .error, .notice { padding: 8px 16px 16px; }
  .error { color: var(--error-color); }
  .teach { padding: 8px 16px 16px; border-top: 1px solid var(--divider-color); }
`;

if (typeof customElements !== "undefined") {
  class NilmLabelCard extends HTMLElement {
    setConfig(config) {
      // What was typed survives the periodic refresh, which redraws every row.
      this.drafts = new Map();
      this.controller = new LabelController(config, () => this.draw());
      this.controller.hass = this._hass ?? null;
      // The dashboard editor sets a new config on a card that is already showing.
      this.refreshShown();
    }

    set hass(hass) {
      const first = !this._hass;
      this._hass = hass;
      if (this.controller) {
        this.controller.hass = hass;
      }
      if (first) {
        this.refreshShown();
      }
    }

    connectedCallback() {
      this.timer = setInterval(() => this.refreshShown(), REFRESH_MS);
      this.refreshShown();
    }

    /** One listing per occasion (config, first Home Assistant, attached, timer), and only when it can show. */
    refreshShown() {
      if (this.isConnected && this.controller && this._hass) {
        this.controller.refresh();
      }
    }

    disconnectedCallback() {
      clearInterval(this.timer);
    }

    getCardSize() {
      return 2 + (this.controller ? this.controller.items.length * 2 : 0);
    }

    static getStubConfig() {
      return { max_items: DEFAULT_MAX_ITEMS };
    }

    draw() {
      const c = this.controller;
      const t = texts(c.language);
      if (!this.shadowRoot) {
        this.attachShadow({ mode: "open" });
      }
      const list = element("datalist", { id: "nilm-appliances" }, c.appliances.map((name) => element("option", { value: name })));
      const rows = c.items.map((item) => {
        const view = describe(item, c.language);
        const draft = this.drafts.get(view.key) ?? { appliance: view.suggestion, state: "" };
        const appliance = element("input", { placeholder: t.appliance, value: draft.appliance });
        appliance.setAttribute("list", "nilm-appliances");
        const state = element("input", { placeholder: t.state, value: draft.state });
        const keep = () => this.drafts.set(view.key, { appliance: appliance.value, state: state.value });
        appliance.addEventListener("input", keep);
        state.addEventListener("input", keep);
        const label = element("button", { textContent: t.label, disabled: c.busy });
        label.addEventListener("click", () => c.label(item, appliance.value, state.value));
        const buttons = [label];
        if (view.ignorable) {
          const ignore = element("button", { textContent: t.ignore, className: "secondary", disabled: c.busy });
          ignore.addEventListener("click", () => c.ignore(item));
          buttons.push(ignore);
        }
        return element("div", { className: "row" }, [
          element("div", { className: "title", textContent: view.title }),
          element("div", { className: "detail", textContent: view.detail }),
          element("div", { className: "inputs" }, [appliance, state, ...buttons]),
        ]);
      });
      const title = c.config.title ?? t.title;
      const header = c.waiting ? `${title} (${c.waiting})` : title;
      const body = rows.length ? rows : [element("div", { className: "empty", textContent: t.empty })];
      const learner = element("input", { placeholder: t.teachName, value: this.drafts.get("teach") ?? "" });
      learner.setAttribute("list", "nilm-appliances");
      learner.addEventListener("input", () => this.drafts.set("teach", learner.value));
      const start = element("button", { textContent: t.teach, className: "secondary", disabled: c.busy });
      start.addEventListener("click", () => c.teach(learner.value));
      const teach = element("div", { className: "teach" }, [
        element("div", { className: "detail", textContent: t.teachHint }),
        element("div", { className: "inputs" }, [learner, start]),
      ]);
      const card = element("ha-card", { header }, [list, ...body, teach]);
      if (c.notice) {
        card.append(element("div", { className: "notice", textContent: c.notice }));
      }
      if (c.error) {
        card.append(element("div", { className: "error", textContent: c.error }));
      }
      this.shadowRoot.replaceChildren(element("style", { textContent: STYLE }), card);
    }
  }

  const register = () => {
    if (customElements.get(CARD_TYPE)) {
      return;
    }
    customElements.define(CARD_TYPE, NilmLabelCard);
    window.customCards = window.customCards || [];
    window.customCards.push({
      type: CARD_TYPE,
      name: "NILM labeling",
      description: "Name the appliance behind each event the NILM integration could not identify.",
    });
  };
  if (document.querySelector("home-assistant")) {
    // Loaded with Home Assistant's own page, this module races the frontend's boot, which installs its own
    // element registry: a card defined before that is one the dashboards never find. The app's element is
    // defined after the registry is in place.
    customElements.whenDefined("home-assistant").then(register);
  } else {
    register();
  }
}
