// The lab page: it sets fields and presses buttons; the server trains, checks and measures.
// Every number shown arrives from the server; nothing here computes a gradient.
"use strict";
const FIELDS = ["dataset", "examples", "layers", "activation", "init", "lr", "batch", "optimizer", "steps", "seed", "case"];
const $ = (id) => document.getElementById(id);
const field = (name) => document.querySelector(`[name="${name}"]`);
const LAYOUT = { margin: { l: 45, r: 10, t: 5, b: 30 }, showlegend: true, legend: { font: { size: 10 }, x: 1, xanchor: "right" } };
const CONFIG = { displayModeBar: false, responsive: true, staticPlot: false };
let socket, points = null, asked = 0, shown = {};  // the number of the latest set-up sent; the fields then

function send(message) { if (socket && socket.readyState === 1) socket.send(JSON.stringify(message)); }
function setup(asking) { asked += 1; shown = fields(); send({ do: "setup", fields: asking, id: asked }); }
function fields() { const out = {}; for (const name of FIELDS) out[name] = field(name).value.trim(); return out; }

function connect() {
  socket = new WebSocket(`ws://${location.host}/ws`);
  socket.onopen = () => {
    const query = new URLSearchParams(location.search), start = {};
    for (const name of FIELDS) if (query.has(name)) start[name] = query.get(name);
    setup(start);
  };
  socket.onmessage = (event) => {
    const m = JSON.parse(event.data);
    if (m.kind === "setup") onSetup(m);
    else if (m.kind === "update") onUpdate(m);
    else if (m.kind === "worked") onWorked(m);
    else if (m.kind === "error") $("error").textContent = m.message;
  };
  socket.onclose = () => { $("status").textContent = "disconnected: is python -m tinynet.lab still running? reload to reconnect"; };
}

function onSetup(m) {
  if (m.id !== asked) return;  // the fields have changed since: the reply to the latest is on its way
  for (const name of FIELDS) {  // a field typed into since the request keeps what was typed
    if (field(name).value.trim() === shown[name]) field(name).value = m.fields[name];
  }
  const query = "?" + new URLSearchParams(m.fields).toString();
  history.replaceState(null, "", query);
  $("share").href = location.origin + location.pathname + query;
  $("python").textContent = m.python;
  const set = Object.entries(m.overrides).map(([k, v]) => `${k} = ${Array.isArray(v) ? v.join(",") : v}`).join(", ");
  $("broken").textContent = m.broken ? `broken on purpose: ${m.broken}` + (set ? ` (it sets ${set})` : "") : "";
  $("error").textContent = "";
  $("worked-step").textContent = 'Press "work it out": one step on the example above, every gradient checked by finite differences.';
  points = m.points;
  shapes = m.shapes;
}

function line(series, name, extra) { return Object.assign({ x: series.x, y: series.y, name, mode: "lines", type: "scatter" }, extra || {}); }
function lines(named) { return Object.entries(named).map(([name, s]) => line(s, name.replace(/^layers/, "L"))); }

function onUpdate(m) {
  try { draw(m); } finally { send({ do: "drawn" }); }  // the server sends the next update only now: never a backlog
}

function draw(m) {
  $("status").textContent = m.status.text + (m.running ? " (training)" : "");
  const c = m.curves;
  Plotly.react("loss-chart", [line(c.loss, "training"), line(c.val_loss, "validation", { mode: "lines+markers", marker: { size: 3 } })],
    Object.assign({}, LAYOUT, { yaxis: { type: "log" }, xaxis: { title: { text: "step", font: { size: 10 } } } }), CONFIG);
  Plotly.react("accuracy-chart", [line(c.train_acc, "training"), line(c.val_acc, "validation")],
    Object.assign({}, LAYOUT, { yaxis: { range: [0, 1.02] } }), CONFIG);
  Plotly.react("grad-chart", lines(c.grad_norm), Object.assign({}, LAYOUT, { yaxis: { type: "log" } }), CONFIG);
  Plotly.react("moved-chart", lines(c.moved), Object.assign({}, LAYOUT, { yaxis: { type: "log" } }), CONFIG);
  Plotly.react("dead-chart", lines(c.dead), Object.assign({}, LAYOUT, { yaxis: { range: [0, 1.02] } }), CONFIG);
  drawBoundary(m.boundary);
  drawNetwork(m.network);
  if (m.doctor !== undefined) drawDoctor(m.doctor);
}

function drawBoundary(b) {
  if (b.kind === "images") { drawPictures(b); return; }
  $("boundary-title").textContent = "Decision boundary";
  $("pictures").innerHTML = "";
  const traces = [{ x: b.x, y: b.y, z: b.z, type: "heatmap", zmin: 0, zmax: 1, showscale: false, hoverinfo: "skip",
    colorscale: [[0, "#bbdefb"], [1, "#ffe0b2"]] }];
  if (points) for (const cls of [0, 1]) {
    const idx = points.label.map((l, i) => (l === cls ? i : -1)).filter((i) => i >= 0);
    traces.push({ x: idx.map((i) => points.x[i]), y: idx.map((i) => points.y[i]), mode: "markers", type: "scatter",
      name: `class ${cls}`, marker: { size: 5, color: cls ? "#e65100" : "#0d47a1" } });
  }
  Plotly.react("boundary", traces, Object.assign({}, LAYOUT, { showlegend: false }), CONFIG);
}

// Image data (digits): the confusion matrix in the boundary's place, and below it the first
// layer's weights as images (blue +, red -) and the examples the net got wrong, as canvases.
function drawPictures(b) {
  $("boundary-title").textContent = `${b.set} set: true class (rows) against predicted, ${b.right} of ${b.of} right`;
  const z = b.confusion, classes = z.map((_, i) => i);
  Plotly.react("boundary", [{ z, x: classes, y: classes, type: "heatmap", colorscale: "Blues", reversescale: true, showscale: false,
    text: z.map((row) => row.map((n) => (n ? String(n) : ""))), texttemplate: "%{text}", hovertemplate: "true %{y}, predicted %{x}: %{z}<extra></extra>" }],
    Object.assign({}, LAYOUT, { showlegend: false, yaxis: { autorange: "reversed", dtick: 1 }, xaxis: { dtick: 1, title: { text: "predicted", font: { size: 10 } } } }), CONFIG);
  const box = $("pictures");
  box.innerHTML = "";
  const caption = (text) => { const p = document.createElement("div"); p.className = "caption"; p.textContent = text; box.appendChild(p); };
  caption("first layer: each unit's weights as an image (blue +, red -, as the edges)");
  const scale = maxAbs(b.weights.flat().filter((v) => v !== null));
  b.weights.forEach((w, j) => box.appendChild(tile(w, b.shape, (v) => colour(v, scale), `unit ${j}`)));
  caption(b.wrong.length ? "got wrong: guess (true)" : "none got wrong");
  b.wrong.forEach((e) => box.appendChild(tile(e.pixels, b.shape, (v) => { const a = Math.round(255 * (1 - Math.max(0, Math.min(1, v)))); return `rgb(${a},${a},${a})`; }, `${e.guess} (${e.true})`)));
}

function tile(values, shape, paint, title) {
  const [h, w] = shape, px = Math.max(2, Math.floor(40 / Math.max(h, w)));
  const c = document.createElement("canvas");
  c.width = w * px; c.height = h * px; c.title = title;
  const g = c.getContext("2d");
  values.forEach((v, k) => { g.fillStyle = v === null ? "#ccc" : paint(v); g.fillRect((k % w) * px, Math.floor(k / w) * px, px, px); });
  const fig = document.createElement("figure");
  fig.appendChild(c);
  const cap = document.createElement("figcaption");
  cap.textContent = title;
  fig.appendChild(cap);
  return fig;
}

// The network diagram: our own small drawing (SVG). A column of at most 16 units draws each
// unit; a wider one draws histograms of its activations and gradients.
function colour(value, scale) {
  const t = Math.max(-1, Math.min(1, scale ? value / scale : 0));
  const a = Math.round(255 * (1 - Math.abs(t)));
  return t >= 0 ? `rgb(${a},${a},255)` : `rgb(255,${a},${a})`;
}
function maxAbs(values) { return Math.max(1e-12, ...values.map(Math.abs)); }

function drawNetwork(net) {
  const svg = $("network"), W = svg.clientWidth || 760, H = 300, cols = net.columns.length;
  const xs = net.columns.map((_, i) => 50 + i * (W - 130) / Math.max(1, cols - 1));
  let out = "";
  const ys = net.columns.map((col) => {
    const n = col.act.values ? col.act.values.length : 0;
    return Array.from({ length: n }, (_, j) => 20 + (j + 0.5) * (H - 40) / n);
  });
  net.weights.forEach((w, k) => {
    if (!w.values || !ys[k].length || !ys[k + 1].length) return;
    const scale = maxAbs(w.values.flat());
    w.values.forEach((row, i) => row.forEach((v, j) => {
      out += `<line x1="${xs[k]}" y1="${ys[k][i]}" x2="${xs[k + 1]}" y2="${ys[k + 1][j]}" stroke="${v >= 0 ? "#1565c0" : "#c62828"}"`
        + ` stroke-opacity="${(0.15 + 0.85 * Math.abs(v) / scale).toFixed(2)}" stroke-width="${(0.3 + 2 * Math.abs(v) / scale).toFixed(2)}"/>`;
    }));
  });
  net.columns.forEach((col, k) => {
    out += `<text x="${xs[k]}" y="12" font-size="10" text-anchor="middle">${col.name} (${col.width})</text>`;
    if (col.act.values) {
      const a = col.act.values, g = col.grad.values, sa = maxAbs(a), sg = maxAbs(g);
      a.forEach((v, j) => {
        out += `<circle cx="${xs[k]}" cy="${ys[k][j]}" r="${Math.min(8, (H - 40) / a.length / 2 - 1)}" fill="${colour(v, sa)}"`
          + ` stroke="${colour(g[j], sg)}" stroke-width="3"><title>activation ${v.toPrecision(4)}, dL/d(unit) ${g[j].toPrecision(4)}</title></circle>`;
      });
    } else {
      out += histogram(col.act.histogram, xs[k] - 34, 30, "#1565c0", "activations");
      out += histogram(col.grad.histogram, xs[k] - 34, 160, "#6a1b9a", "dL/d(unit)");
    }
  });
  svg.innerHTML = out;
}

function histogram(h, x, y, fill, label) {
  const most = Math.max(1, ...h.counts), w = 68 / h.counts.length;
  let out = `<text x="${x}" y="${y - 2}" font-size="9">${label}</text>`;
  h.counts.forEach((c, i) => {
    const bar = 90 * c / most;
    out += `<rect x="${x + i * w}" y="${y + 100 - bar}" width="${w - 0.5}" height="${bar}" fill="${fill}"/>`;
  });
  out += `<text x="${x}" y="${y + 112}" font-size="8">${h.edges[0].toPrecision(2)} .. ${h.edges[h.edges.length - 1].toPrecision(2)}</text>`;
  return out;
}

function drawDoctor(d) {
  const box = $("doctor");
  if (!d) { box.textContent = "(the doctor reports from the first step)"; return; }
  box.innerHTML = "";
  const top = document.createElement("div");
  top.className = "cause";
  top.textContent = `cause: ${d.cause}` + (d.findings.length ? ` (${d.findings.map((f) => f.id).join(", ")})` : "");
  box.appendChild(top);
  for (const f of d.findings) {
    const p = document.createElement("div");
    p.className = "finding";
    p.textContent = `${f.id}: ${f.evidence} Fix: ${f.fix}`;
    box.appendChild(p);
  }
  if (!d.findings.length) box.appendChild(document.createTextNode(d.text));
}

function onWorked(m) {
  const box = $("worked-step");
  box.innerHTML = "";
  for (const l of m.lines) {
    const div = document.createElement("div");
    div.textContent = l.text;
    if (l.check) {
      const s = document.createElement("span");
      s.className = l.check.ok ? "ok" : "bad";
      s.textContent = l.check.ok ? `  checked by finite differences: relative error ${l.check.error.toExponential(1)}`
        : `  DISAGREES with finite differences (${l.check.numeric.toPrecision(6)}): relative error ${l.check.error.toExponential(1)}`
          + (l.check.kink ? " (a ReLU input within h of 0: the difference straddles the kink)" : "");
      div.appendChild(s);
    }
    box.appendChild(div);
  }
}

// A new data set brings its own inputs and classes: the layers' ends follow it (2,16,16,2 -> 64,16,16,10).
let shapes = {};  // each data set's [inputs, classes], as the server sends them
field("dataset").addEventListener("change", () => {
  const ends = shapes[field("dataset").value], sizes = field("layers").value.split(",");
  if (ends && sizes.length >= 2) { sizes[0] = ends[0]; sizes[sizes.length - 1] = ends[1]; field("layers").value = sizes.join(","); }
});
for (const name of FIELDS) field(name).addEventListener("change", () => setup(fields()));
for (const name of ["train", "pause", "step", "reset"]) $(name).addEventListener("click", () => send({ do: name }));
$("example").addEventListener("change", () => send({ do: "example", example: parseInt($("example").value, 10) }));
// A number box: blank is null, a whole number is itself, anything else goes as typed and the server names it.
const whole = (id) => { const v = $(id).value.trim(); return v === "" ? null : (Number.isInteger(Number(v)) ? Number(v) : v); };
$("work").addEventListener("click", () => send({ do: "worked", example: whole("example"), layer: whole("worked-layer"),
  i: whole("worked-i"), j: whole("worked-j") }));
connect();
