// Wharf's web console: a client of the broker's REST API (/openapi.json), nothing else.
//
// One page with hash routes (#/topics, #/topics/NAME, #/groups, #/groups/NAME, #/browse?...,
// #/produce, #/subscriptions). Each route renders into <main id="view">; a route that refreshes
// itself (group lag, subscription counters) stops when the route changes, and skips refreshes
// while the tab is hidden, so an idle console costs the broker nothing.
//
// Everything the broker returns (topic names, keys, values) is untrusted: it reaches the page only
// as text nodes and attribute values, never as HTML.
"use strict";

// ---- DOM ---------------------------------------------------------------------------------------

const SVG_NS = "http://www.w3.org/2000/svg";

// h("td", {class: "num", "data-testid": "lag"}, 5) builds an element; `on*` keys add listeners.
function h(tag, attrs, ...children) {
  const el = tag.startsWith("svg:") ? document.createElementNS(SVG_NS, tag.slice(4)) : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "value") el.value = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

const $ = (selector, root = document) => root.querySelector(selector);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const enc = encodeURIComponent;

// Headings ending in "#" head a numeric (right-aligned) column; the "#" is not shown.
function table(id, headings, rows, empty) {
  return h("table", {id},
    h("thead", {}, h("tr", {}, headings.map((t) => (t.endsWith("#") ? h("th", {class: "num"}, t.slice(0, -1)) : h("th", {}, t))))),
    h("tbody", {}, rows.length ? rows : h("tr", {class: "empty"}, h("td", {colspan: headings.length}, empty))));
}

function field(label, input, hint) {
  return h("label", {class: "field"}, h("span", {}, label), input, hint ? h("small", {class: "muted"}, hint) : null);
}

function bytes(n) {
  if (n === null || n === undefined) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  for (let v = n; v >= 1024 && i < units.length - 1; v /= 1024) i++;
  return i === 0 ? `${n} B` : `${(n / 1024 ** i).toFixed(1)} ${units[i]}`;
}

const number = (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US"));

// ---- the REST API ------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.error;
  }
}

async function api(method, path, body) {
  const init = {method, headers: {accept: "application/json"}};
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// ---- messages to the user ----------------------------------------------------------------------

// The banner shows the latest failure; `source` lets a refresh loop clear its own error once it
// succeeds again without hiding the error of a failed action.
let errorSource = null;

function showError(err, source = "action") {
  const box = $("#error");
  box.textContent = (err.code ? `${err.code}: ` : "") + err.message;
  box.hidden = false;
  errorSource = source;
}

function clearError(source) {
  if (source && source !== errorSource) return;
  $("#error").hidden = true;
  errorSource = null;
}

// A notice outlives one re-render: an action re-renders its page, then says what it did.
let pendingNotice = null;

function reloadWithNotice(text, testid) {
  pendingNotice = h("p", {id: "notice", class: "notice", "data-testid": testid}, text);
  route();
}

// ---- routing -----------------------------------------------------------------------------------

// Bumped on every navigation: refresh loops of an older route see it and stop.
let generation = 0;

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = raw.split("?");
  const [page = "", ...rest] = path.split("/");
  let arg = rest.join("/");
  try {
    arg = decodeURIComponent(arg);
  } catch {
    // A hand-typed hash with a stray "%": use it as written.
  }
  return {page, arg, params: new URLSearchParams(query)};
}

function go(page, arg = "", params = null) {
  const query = params && [...params].length ? `?${params}` : "";
  const target = `#/${page}${arg ? `/${enc(arg)}` : ""}${query}`;
  if (location.hash === target) route();
  else location.hash = target;
}

function route() {
  generation++;
  clearError();
  const {page, arg, params} = parseHash();
  const render = PAGES[page] ? page : "topics";
  for (const link of document.querySelectorAll("#nav a")) {
    link.classList.toggle("active", link.dataset.page === render);
  }
  const view = $("#view");
  view.replaceChildren();
  if (pendingNotice) view.append(pendingNotice);
  pendingNotice = null;
  view.dataset.page = render;
  PAGES[render](view, arg, params, generation).catch((err) => showError(err));
}

// Calls `refresh` now and every `ms` while route `gen` is shown; never two at once.
async function every(gen, ms, refresh) {
  while (gen === generation) {
    if (!document.hidden) {
      try {
        await refresh();
        clearError("refresh");
      } catch (err) {
        if (gen === generation) showError(err, "refresh");
      }
    }
    await sleep(ms);
  }
}

// ---- topics ------------------------------------------------------------------------------------

async function topicsPage(view, _arg, params, gen) {
  const showInternal = params.get("internal") === "1";
  const name = h("input", {id: "create-topic-name", name: "name", required: true, maxlength: 249,
    pattern: "[A-Za-z0-9._\\-]+", placeholder: "orders", autocomplete: "off"});
  const partitions = h("input", {id: "create-topic-partitions", name: "partitions", type: "number", min: 1, value: 1, required: true});
  const form = h("form", {id: "create-topic-form", class: "inline", async onsubmit(event) {
    event.preventDefault();
    try {
      const created = await api("POST", "/v1/topics", {name: name.value, partitions: Number(partitions.value)});
      reloadWithNotice(`Created topic ${created.name} with ${created.partitions} partition(s).`, "topic-created");
    } catch (err) {
      showError(err);
    }
  }}, field("Name", name), field("Partitions", partitions), h("button", {id: "create-topic-submit", type: "submit"}, "Create topic"));

  const internal = h("input", {id: "show-internal", type: "checkbox", checked: showInternal, onchange() {
    go("topics", "", new URLSearchParams(internal.checked ? {internal: "1"} : {}));
  }});

  const {topics} = await api("GET", "/v1/topics");
  if (gen !== generation) return;
  const rows = topics.filter((t) => showInternal || !t.internal).map((t) => h("tr", {"data-testid": "topic-row", "data-topic": t.name},
    h("td", {}, h("a", {href: `#/topics/${enc(t.name)}`, "data-testid": "topic-name"}, t.name), t.internal ? h("span", {class: "tag"}, "internal") : null),
    h("td", {class: "num", "data-testid": "topic-partitions"}, t.partitions),
    h("td", {}, h("div", {class: "actions end"},
      h("a", {href: `#/browse?${new URLSearchParams({topic: t.name, partition: 0})}`}, "Messages"),
      t.internal ? null : h("button", {class: "danger", "data-testid": "delete-topic", onclick: () => deleteTopic(t.name)}, "Delete")))));
  view.append(
    h("h1", {}, "Topics"),
    form,
    h("label", {class: "check"}, internal, " Show internal topics"),
    table("topics-table", ["Topic", "Partitions#", ""], rows, "No topics yet: create one above, or produce to one with any Kafka client."));
}

async function deleteTopic(name) {
  if (!confirm(`Delete topic "${name}" and all of its records? This cannot be undone.`)) return;
  try {
    await api("DELETE", `/v1/topics/${enc(name)}`);
    reloadWithNotice(`Deleted topic ${name}.`, "topic-deleted");
  } catch (err) {
    showError(err);
  }
}

async function topicPage(view, name, _params, gen) {
  const partitions = h("div", {id: "partitions"});
  const configs = h("div", {id: "configs"});
  view.append(
    h("p", {class: "crumbs"}, h("a", {href: "#/topics"}, "Topics"), " / "),
    h("h1", {id: "topic-name"}, name),
    h("p", {class: "actions"},
      h("a", {class: "button", href: `#/browse?${new URLSearchParams({topic: name, partition: 0})}`}, "Browse messages"),
      h("a", {class: "button", href: `#/produce?${new URLSearchParams({topic: name})}`}, "Produce")),
    h("h2", {}, "Partitions"), partitions,
    h("h2", {}, "Configs"), configs);
  // Offsets and sizes move while producers write: refresh them; configs are drawn once.
  let configsDrawn = false;
  await every(gen, 2000, async () => {
    const topic = await api("GET", `/v1/topics/${enc(name)}`);
    if (gen !== generation) return;
    partitions.replaceChildren(table("partitions-table",
      ["Partition#", "Log start offset#", "High watermark#", "Last stable offset#", "Records*#", "Size#", "Segments#", ""],
      topic.partitions.map((p) => h("tr", {"data-partition": p.partition},
        h("td", {class: "num"}, p.partition),
        h("td", {class: "num", "data-testid": "log-start-offset"}, number(p.log_start_offset)),
        h("td", {class: "num", "data-testid": "high-watermark"}, number(p.high_watermark)),
        h("td", {class: "num", "data-testid": "last-stable-offset"}, number(p.last_stable_offset)),
        h("td", {class: "num"}, number(p.high_watermark - p.log_start_offset)),
        h("td", {class: "num", "data-testid": "size", title: `${p.size_bytes} bytes`}, bytes(p.size_bytes)),
        h("td", {class: "num", "data-testid": "segments"}, p.segments),
        h("td", {}, h("a", {href: `#/browse?${new URLSearchParams({topic: name, partition: p.partition})}`}, "Messages")))),
      "No partitions."),
    h("p", {class: "muted"}, "* high watermark − log start offset: an upper bound (compaction and transaction markers take offsets too)."));
    if (!configsDrawn) {
      configsDrawn = true;
      configs.replaceChildren(table("configs-table", ["Config", "Value"],
        Object.entries(topic.configs || {}).map(([key, value]) => h("tr", {"data-config": key},
          h("td", {}, h("code", {}, key)), h("td", {"data-testid": "config-value"}, value ?? "–"))),
        "No configs."));
    }
  });
}

// ---- consumer groups ---------------------------------------------------------------------------

async function groupsPage(view, _arg, _params, gen) {
  const list = h("div", {id: "groups"});
  view.append(h("h1", {}, "Consumer groups"), list);
  await every(gen, 2000, async () => {
    const {groups} = await api("GET", "/v1/groups");
    if (gen !== generation) return;
    list.replaceChildren(table("groups-table", ["Group", "State", "Protocol type"],
      groups.map((g) => h("tr", {"data-testid": "group-row", "data-group": g.group_id},
        h("td", {}, h("a", {href: `#/groups/${enc(g.group_id)}`}, g.group_id)),
        h("td", {"data-testid": "group-state"}, h("span", {class: `state state-${String(g.state).toLowerCase()}`}, g.state)),
        h("td", {}, g.protocol_type || "–"))),
      "No consumer groups yet: they appear when a consumer with a group.id joins or commits."));
  });
}

// Lag samples per group, kept across navigation so the chart has history when you come back.
const LAG_SAMPLES_MAX = 120;
const lagHistory = new Map();

async function groupPage(view, group, _params, gen) {
  const summary = h("div", {id: "group-summary"});
  const members = h("div", {id: "members"});
  const lag = h("div", {id: "lag"});
  const chart = new LagChart();
  const remove = h("button", {id: "delete-group", class: "danger", async onclick() {
    if (!confirm(`Delete group "${group}" and its committed offsets?`)) return;
    try {
      await api("DELETE", `/v1/groups/${enc(group)}`);
      go("groups");
    } catch (err) {
      showError(err);
    }
  }}, "Delete group");
  view.append(
    h("p", {class: "crumbs"}, h("a", {href: "#/groups"}, "Consumer groups"), " / "),
    h("h1", {id: "group-id"}, group), summary,
    h("h2", {}, "Lag"), chart.element, lag,
    h("h2", {}, "Members"), members,
    h("p", {class: "actions"}, remove));
  if (!lagHistory.has(group)) lagHistory.set(group, []);
  const samples = lagHistory.get(group);

  await every(gen, 1000, async () => {
    const g = await api("GET", `/v1/groups/${enc(group)}`);
    if (gen !== generation) return;
    const total = g.offsets.reduce((sum, o) => sum + (o.lag ?? 0), 0);
    summary.replaceChildren(h("dl", {class: "facts"},
      h("dt", {}, "State"), h("dd", {id: "group-state"}, h("span", {class: `state state-${String(g.state).toLowerCase()}`}, g.state)),
      h("dt", {}, "Protocol"), h("dd", {id: "group-protocol"}, [g.protocol_type, g.protocol].filter(Boolean).join(" / ") || "–"),
      h("dt", {}, "Members"), h("dd", {id: "group-member-count"}, g.members.length),
      h("dt", {}, "Total lag"), h("dd", {id: "total-lag"}, total)));
    members.replaceChildren(table("members-table", ["Member id", "Client id", "Host", "Assignments"],
      g.members.map((m) => h("tr", {"data-testid": "member-row", "data-client-id": m.client_id},
        h("td", {}, h("code", {}, m.member_id)),
        h("td", {"data-testid": "member-client-id"}, m.client_id),
        h("td", {"data-testid": "member-host"}, m.host),
        h("td", {"data-testid": "member-assignments"},
          (m.assignments || []).map((a) => `${a.topic}: ${a.partitions.join(", ")}`).join("; ") || "–"))),
      "No members (the group is empty)."));
    lag.replaceChildren(table("lag-table", ["Topic", "Partition#", "Committed offset#", "High watermark#", "Lag#"],
      g.offsets.map((o) => h("tr", {"data-testid": "lag-row", "data-topic": o.topic, "data-partition": o.partition},
        h("td", {}, h("a", {href: `#/topics/${enc(o.topic)}`}, o.topic)),
        h("td", {class: "num"}, o.partition),
        h("td", {class: "num", "data-testid": "committed-offset"}, o.committed_offset),
        h("td", {class: "num", "data-testid": "high-watermark"}, o.high_watermark ?? "–"),
        h("td", {class: "num", "data-testid": "lag"}, o.lag ?? "–"))),
      "No committed offsets yet."));

    const byTopic = new Map();
    for (const o of g.offsets) byTopic.set(o.topic, (byTopic.get(o.topic) || 0) + (o.lag ?? 0));
    samples.push({time: Date.now(), lag: byTopic});
    if (samples.length > LAG_SAMPLES_MAX) samples.splice(0, samples.length - LAG_SAMPLES_MAX);
    chart.draw(samples);
  });
}

// A line chart of lag per topic over the last LAG_SAMPLES_MAX samples, drawn as SVG polylines.
class LagChart {
  constructor() {
    this.width = 640;
    this.height = 180;
    this.pad = {left: 56, right: 12, top: 10, bottom: 22};
    this.svg = h("svg:svg", {id: "lag-chart", viewBox: `0 0 ${this.width} ${this.height}`, role: "img",
      "aria-label": "Lag per topic over time"});
    this.legend = h("ul", {id: "lag-legend", class: "legend"});
    this.element = h("figure", {class: "chart"}, this.svg, this.legend);
  }

  draw(samples) {
    const {width, height, pad} = this;
    const topics = [...new Set(samples.flatMap((s) => [...s.lag.keys()]))].sort();
    const max = Math.max(1, ...samples.flatMap((s) => [...s.lag.values()]));
    const t0 = samples[0].time;
    const span = samples[samples.length - 1].time - t0;
    // Time runs left to right and ends at the right edge; a single sample sits there too.
    const x = (time) => (span > 0 ? pad.left + ((time - t0) / span) * (width - pad.left - pad.right) : width - pad.right);
    const y = (value) => height - pad.bottom - (value / max) * (height - pad.top - pad.bottom);
    const text = (attrs, content) => h("svg:text", attrs, content);
    const parts = [
      h("svg:line", {class: "axis", x1: pad.left, y1: y(0), x2: width - pad.right, y2: y(0)}),
      h("svg:line", {class: "grid", x1: pad.left, y1: y(max), x2: width - pad.right, y2: y(max)}),
      text({x: pad.left - 6, y: y(0) + 4, "text-anchor": "end"}, "0"),
      text({x: pad.left - 6, y: y(max) + 4, "text-anchor": "end"}, number(max)),
      span > 0 ? text({x: pad.left, y: height - 4}, `${Math.round(span / 1000)} s ago`) : null,
      text({x: width - pad.right, y: height - 4, "text-anchor": "end"}, "now"),
    ];
    topics.forEach((topic, i) => {
      const points = samples.map((s) => `${x(s.time).toFixed(1)},${y(s.lag.get(topic) ?? 0).toFixed(1)}`).join(" ");
      parts.push(h("svg:polyline", {class: `series series-${i % 6}`, "data-series": topic, points}));
      // The newest value as a dot, so a single sample (a just-opened page) is visible too.
      const newest = samples[samples.length - 1];
      parts.push(h("svg:circle", {class: `series-${i % 6}`, cx: x(newest.time).toFixed(1), cy: y(newest.lag.get(topic) ?? 0).toFixed(1), r: 3}));
    });
    this.svg.replaceChildren(...parts.filter(Boolean));
    const last = samples[samples.length - 1].lag;
    this.legend.replaceChildren(...topics.map((topic, i) => h("li", {"data-topic": topic},
      h("span", {class: `swatch series-${i % 6}`}), `${topic}: `, h("b", {"data-testid": "legend-lag"}, last.get(topic) ?? 0))));
  }
}

// ---- message browser ---------------------------------------------------------------------------

// Values are fetched as base64 and shown as text, pretty JSON or hex here, so switching the view
// does not fetch again and binary values survive intact.
const SHOWN_BYTES_MAX = 64 * 1024;

function decodeBase64(b64) {
  const raw = atob(b64);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

const utf8 = new TextDecoder("utf-8");

function showBytes(data, view) {
  if (data === null || data === undefined) return h("span", {class: "muted"}, "null");
  const all = decodeBase64(data);
  const shown = all.subarray(0, SHOWN_BYTES_MAX);
  const more = all.length > shown.length ? h("small", {class: "muted"}, ` … ${all.length - shown.length} more bytes`) : null;
  if (view === "hex") {
    const lines = [];
    for (let i = 0; i < shown.length; i += 16) {
      const row = [...shown.subarray(i, i + 16)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
      lines.push(`${i.toString(16).padStart(6, "0")}  ${row}`);
    }
    return [h("pre", {class: "hex"}, lines.join("\n") || "(empty)"), more];
  }
  const text = utf8.decode(shown);
  if (view === "json" && !more) {
    try {
      return h("pre", {class: "json"}, JSON.stringify(JSON.parse(text), null, 2));
    } catch {
      return [h("pre", {}, text), h("small", {class: "muted"}, "not JSON: shown as text")];
    }
  }
  return [h("pre", {}, text), more];
}

function keyText(key) {
  return key === null || key === undefined ? h("span", {class: "muted"}, "null") : utf8.decode(decodeBase64(key));
}

// A datetime-local input's value for `ms` in the browser's time zone.
function localInputTime(ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 19);
}

async function topicOptions() {
  const {topics} = await api("GET", "/v1/topics");
  return topics;
}

async function browsePage(view, _arg, params, gen) {
  const topics = await topicOptions();
  if (gen !== generation) return;
  const topic = h("select", {id: "browse-topic", required: true},
    h("option", {value: ""}, "choose a topic…"),
    topics.map((t) => h("option", {value: t.name, selected: t.name === params.get("topic")}, t.name)));
  const partition = h("select", {id: "browse-partition"});
  const fillPartitions = (selected) => {
    const t = topics.find((x) => x.name === topic.value);
    partition.replaceChildren(...Array.from({length: t ? t.partitions : 0}, (_, p) => h("option", {value: p, selected: String(p) === selected}, p)));
  };
  fillPartitions(params.get("partition") || "0");
  topic.addEventListener("change", () => fillPartitions("0"));
  const from = h("select", {id: "browse-from"},
    h("option", {value: "offset"}, "offset"), h("option", {value: "timestamp", selected: params.has("timestamp")}, "timestamp"));
  const offset = h("input", {id: "browse-offset", value: params.get("offset") || "earliest", size: 10,
    pattern: "earliest|latest|[0-9]+", title: "an offset, earliest or latest"});
  const timestamp = h("input", {id: "browse-timestamp", type: "datetime-local", step: 1,
    value: params.has("timestamp") ? localInputTime(Number(params.get("timestamp"))) : ""});
  const max = h("input", {id: "browse-max", type: "number", min: 1, max: 1000, value: params.get("max_records") || 50});
  const format = h("select", {id: "browse-format"}, ["text", "json", "hex"].map((f) => h("option", {value: f, selected: f === (params.get("format") || "text")}, f)));
  const syncFrom = () => {
    offset.closest("label").hidden = from.value !== "offset";
    timestamp.closest("label").hidden = from.value !== "timestamp";
  };
  from.addEventListener("change", syncFrom);

  const query = (overrides) => {
    const q = new URLSearchParams({topic: topic.value, partition: partition.value});
    if (from.value === "timestamp" && timestamp.value) q.set("timestamp", String(new Date(timestamp.value).getTime()));
    else q.set("offset", offset.value || "earliest");
    q.set("max_records", max.value);
    q.set("format", format.value);
    for (const [k, v] of Object.entries(overrides || {})) {
      if (k === "offset") q.delete("timestamp");
      q.set(k, v);
    }
    return q;
  };
  const form = h("form", {id: "browse-form", class: "inline", onsubmit(event) {
    event.preventDefault();
    go("browse", "", query());
  }},
  field("Topic", topic), field("Partition", partition), field("From", from),
  field("Offset", offset), field("Timestamp", timestamp), field("Max records", max), field("Show values as", format),
  h("button", {id: "browse-submit", type: "submit"}, "Show messages"));
  const results = h("div", {id: "browse-results"});
  view.append(h("h1", {}, "Messages"), form, results);
  syncFrom();
  if (!params.get("topic")) return;

  const url = new URLSearchParams({max_records: max.value, format: "base64"});
  if (params.has("timestamp")) url.set("timestamp", params.get("timestamp"));
  else url.set("offset", params.get("offset") || "earliest");
  const data = await api("GET", `/v1/topics/${enc(params.get("topic"))}/partitions/${enc(params.get("partition") || "0")}/records?${url}`);
  if (gen !== generation) return;
  const draw = () => {
    const rows = data.records.map((r) => h("tr", {"data-testid": "record", "data-offset": r.offset},
      h("td", {class: "num", "data-testid": "record-offset"}, r.offset),
      h("td", {"data-testid": "record-timestamp", title: String(r.timestamp)}, new Date(r.timestamp).toISOString().replace("T", " ").replace("Z", " UTC")),
      h("td", {"data-testid": "record-key"}, keyText(r.key)),
      h("td", {"data-testid": "record-value"}, showBytes(r.value, format.value)),
      h("td", {"data-testid": "record-headers"}, Object.entries(r.headers || {}).map(([k, v]) => h("div", {}, h("code", {}, k), ` = ${v}`)))));
    results.replaceChildren(
      h("p", {id: "browse-position", class: "muted"},
        `${data.records.length} record(s); high watermark ${data.high_watermark}; next offset ${data.next_offset}. `,
        data.next_offset < data.high_watermark
          ? h("button", {id: "browse-next", type: "button", onclick: () => go("browse", "", query({offset: data.next_offset}))}, "Next page →")
          : null),
      table("records-table", ["Offset#", "Timestamp", "Key", "Value", "Headers"], rows,
        "No records here yet (the partition ends before this position)."));
  };
  format.addEventListener("change", draw);
  draw();
}

// ---- produce -----------------------------------------------------------------------------------

async function producePage(view, _arg, params, gen) {
  const topics = await topicOptions();
  if (gen !== generation) return;
  const topic = h("select", {id: "produce-topic", required: true},
    h("option", {value: ""}, "choose a topic…"),
    topics.filter((t) => !t.internal).map((t) => h("option", {value: t.name, selected: t.name === params.get("topic")}, `${t.name} (${t.partitions})`)));
  const partition = h("input", {id: "produce-partition", type: "number", min: 0, placeholder: "by key"});
  const key = h("input", {id: "produce-key", placeholder: "none", autocomplete: "off"});
  const value = h("textarea", {id: "produce-value", rows: 6, spellcheck: false, placeholder: '{"hello": "wharf"}'});
  const format = h("select", {id: "produce-format"},
    h("option", {value: "json"}, "JSON"), h("option", {value: "text"}, "text"), h("option", {value: "base64"}, "base64 (binary)"));
  const result = h("div", {id: "produce-result"});
  const form = h("form", {id: "produce-form", async onsubmit(event) {
    event.preventDefault();
    result.replaceChildren();
    let record;
    try {
      record = buildRecord(format.value, key.value, value.value, partition.value);
    } catch (err) {
      showError(err);
      return;
    }
    try {
      const answer = await api("POST", `/v1/topics/${enc(topic.value)}/records`, {format: format.value, records: [record]});
      clearError();
      const {partition: p, offset: o} = answer.offsets[0];
      result.replaceChildren(h("p", {class: "notice", "data-testid": "produce-ok", "data-partition": p, "data-offset": o},
        "Written to partition ", h("b", {id: "produced-partition"}, p), " at offset ", h("b", {id: "produced-offset"}, o), ". ",
        h("a", {href: `#/browse?${new URLSearchParams({topic: topic.value, partition: p, offset: o})}`, id: "produced-link"}, "Show it")));
    } catch (err) {
      showError(err);
    }
  }},
  field("Topic", topic),
  field("Partition", partition, "empty: chosen from the key like a Kafka client would (round-robin without a key)"),
  field("Key", key, "optional; text"),
  field("Value format", format),
  field("Value", value, "JSON: any JSON value (null is a tombstone); text: as typed; base64: binary bytes"),
  h("button", {id: "produce-submit", type: "submit"}, "Produce"));
  view.append(h("h1", {}, "Produce a message"), form, result);
}

// The record the API expects. Keys are typed as text; with the base64 format the API reads keys
// as base64 too, so the console encodes the typed text.
function buildRecord(format, keyText, valueText, partitionText) {
  const record = {};
  if (keyText !== "") {
    record.key = format === "base64" ? btoa(String.fromCharCode(...new TextEncoder().encode(keyText))) : keyText;
  }
  if (format === "json") {
    try {
      record.value = JSON.parse(valueText);
    } catch (err) {
      throw new Error(`the value is not valid JSON (${err.message}); choose the text format to send it as typed`);
    }
  } else if (format === "base64") {
    const compact = valueText.replace(/\s+/g, "");
    try {
      atob(compact);
    } catch {
      throw new Error("the value is not valid base64");
    }
    record.value = compact;
  } else {
    record.value = valueText;
  }
  if (partitionText !== "") record.partition = Number(partitionText);
  return record;
}

// ---- push subscriptions ------------------------------------------------------------------------

async function subscriptionsPage(view, _arg, _params, gen) {
  const list = h("div", {id: "subscriptions"});
  view.append(h("h1", {}, "Push subscriptions"), list);
  const act = async (name, action) => {
    if (action === "delete" && !confirm(`Delete subscription "${name}"? Its group keeps its committed offsets.`)) return;
    try {
      if (action === "delete") await api("DELETE", `/v1/subscriptions/${enc(name)}`);
      else await api("POST", `/v1/subscriptions/${enc(name)}/${action}`);
      clearError();
      await refresh();
    } catch (err) {
      showError(err);
    }
  };
  const refresh = async () => {
    let data;
    try {
      data = await api("GET", "/v1/subscriptions");
    } catch (err) {
      if (err.status !== 404) throw err;
      list.replaceChildren(h("p", {id: "subscriptions-unavailable", class: "muted"},
        "This broker does not offer push subscriptions (GET /v1/subscriptions answered 404)."));
      return;
    }
    if (gen !== generation) return;
    const subs = Array.isArray(data) ? data : data.subscriptions || [];
    list.replaceChildren(table("subscriptions-table",
      ["Name", "Topic → URL", "Group", "State", "Delivered records#", "Batches#", "Failed attempts#", "Dead-lettered#", "Last error", ""],
      subs.map((s) => h("tr", {"data-testid": "subscription-row", "data-name": s.name},
        h("td", {}, s.name),
        h("td", {}, s.topic, " → ", h("code", {}, s.url)),
        h("td", {}, s.group),
        h("td", {"data-testid": "subscription-state"}, h("span", {class: `state state-${s.state}`}, s.state)),
        h("td", {class: "num", "data-testid": "delivered-records"}, number(s.delivered_records)),
        h("td", {class: "num", "data-testid": "delivered-batches"}, number(s.delivered_batches)),
        h("td", {class: "num", "data-testid": "failed-attempts"}, number(s.failed_attempts)),
        h("td", {class: "num", "data-testid": "dead-lettered"}, number(s.dead_lettered)),
        h("td", {"data-testid": "last-error"}, s.last_error || "–"),
        h("td", {}, h("div", {class: "actions end"},
          s.state === "paused"
            ? h("button", {"data-testid": "resume", onclick: () => act(s.name, "resume")}, "Resume")
            : h("button", {"data-testid": "pause", onclick: () => act(s.name, "pause")}, "Pause"),
          h("button", {class: "danger", "data-testid": "delete-subscription", onclick: () => act(s.name, "delete")}, "Delete"))))),
      "No push subscriptions. Create one with POST /v1/subscriptions (see /openapi.json)."));
  };
  await every(gen, 2000, refresh);
}

// ---- start -------------------------------------------------------------------------------------

const PAGES = {
  topics: (view, arg, params, gen) => (arg ? topicPage(view, arg, params, gen) : topicsPage(view, arg, params, gen)),
  groups: (view, arg, params, gen) => (arg ? groupPage(view, arg, params, gen) : groupsPage(view, arg, params, gen)),
  browse: browsePage,
  produce: producePage,
  subscriptions: subscriptionsPage,
};

window.addEventListener("hashchange", route);
route();
