// The status page: one self-contained HTML document (no build step, nothing
// from elsewhere) that polls `/status.json` every second and draws the node,
// its named actors, its pipelines as SVG graphs and its peers.
#include "endpoint.hpp"

namespace coactor::metrics::detail {

namespace {

constexpr std::string_view page = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>coactor node</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; margin: 0 0 .2em; }
h2 { font-size: 1.1em; margin: 1.4em 0 .4em; }
table { border-collapse: collapse; }
td, th { padding: .15em .8em .15em 0; text-align: left; }
th { color: #666; font-weight: normal; }
.muted { color: #888; }
.up { color: #080; } .down { color: #b00; }
svg text { font: 12px system-ui, sans-serif; }
</style>
</head>
<body>
<h1 id="node">coactor node</h1>
<div id="node-figures" class="muted">loading /status.json ...</div>
<h2>Pipelines</h2><div id="pipelines"></div>
<h2>Named actors</h2><div id="actors"></div>
<h2>Peers</h2><div id="peers"></div>
<script>
"use strict";
const svgNS = "http://www.w3.org/2000/svg";
function el(tag, attrs, text) {
  const e = tag.startsWith("svg:") ? document.createElementNS(svgNS, tag.slice(4))
                                   : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function fmt(x) {
  if (x >= 1e6) return (x / 1e6).toFixed(2) + "M";
  if (x >= 1e3) return (x / 1e3).toFixed(1) + "k";
  return (Math.round(x * 10) / 10).toString();
}
function table(head, rows) {
  const t = el("table");
  const tr = el("tr");
  head.forEach(h => tr.appendChild(el("th", {}, h)));
  t.appendChild(tr);
  rows.forEach(r => {
    const row = el("tr");
    r.forEach(c => row.appendChild(c instanceof Node ? (() => { const td = el("td"); td.appendChild(c); return td; })() : el("td", {}, String(c))));
    t.appendChild(row);
  });
  return t;
}
// One pipeline: its stages in columns by position, edges between them; each
// stage shows its kind, items out, rate and (buffers) fill.
function pipelineGraph(p) {
  const W = 170, H = 74, GX = 60, GY = 20;
  const cols = {};
  p.stages.forEach(s => (cols[s.position] = cols[s.position] || []).push(s));
  const positions = Object.keys(cols).map(Number).sort((a, b) => a - b);
  const at = {};
  let rows = 1;
  positions.forEach((pos, ci) => {
    cols[pos].forEach((s, ri) => { at[s.name] = {x: 10 + ci * (W + GX), y: 10 + ri * (H + GY)}; });
    rows = Math.max(rows, cols[pos].length);
  });
  const svg = el("svg:svg", {width: 20 + positions.length * (W + GX) - GX,
                             height: 20 + rows * (H + GY) - GY,
                             "data-pipeline": p.id});
  const defs = el("svg:defs");
  const marker = el("svg:marker", {id: "arrow", markerWidth: 8, markerHeight: 8, refX: 7, refY: 4, orient: "auto"});
  marker.appendChild(el("svg:path", {d: "M0,0 L8,4 L0,8 z", fill: "#666"}));
  defs.appendChild(marker);
  svg.appendChild(defs);
  p.edges.forEach(([from, to]) => {
    const a = at[from], b = at[to];
    if (!a || !b) return;
    svg.appendChild(el("svg:line", {x1: a.x + W, y1: a.y + H / 2, x2: b.x - 2, y2: b.y + H / 2,
                                    stroke: "#666", "marker-end": "url(#arrow)", class: "edge"}));
  });
  p.stages.forEach(s => {
    const {x, y} = at[s.name];
    const g = el("svg:g", {class: "stage", "data-stage": s.name});
    g.appendChild(el("svg:rect", {x, y, width: W, height: H, rx: 6, fill: "#f4f6fa", stroke: "#8896b0"}));
    g.appendChild(el("svg:text", {x: x + 8, y: y + 17, "font-weight": "bold"},
                     s.name + (s.copies > 1 ? " \u00d7" + s.copies : "")));
    g.appendChild(el("svg:text", {x: x + 8, y: y + 33, class: "muted"}, s.kind));
    g.appendChild(el("svg:text", {x: x + 8, y: y + 49}, fmt(s.out) + " out"));
    const rate = el("svg:text", {x: x + 8, y: y + 65, class: "rate", "data-rate": s.rate}, fmt(s.rate) + "/s");
    g.appendChild(rate);
    if (s.capacity > 0) {
      const fill = Math.min(1, s.buffered / s.capacity);
      g.appendChild(el("svg:rect", {x: x + W - 16, y: y + 8, width: 8, height: H - 16, fill: "#fff", stroke: "#8896b0"}));
      g.appendChild(el("svg:rect", {x: x + W - 16, y: y + 8 + (H - 16) * (1 - fill), width: 8,
                                    height: (H - 16) * fill, fill: "#4a7bd0", class: "fill",
                                    "data-fill": fill.toFixed(3)}));
    }
    svg.appendChild(g);
  });
  return svg;
}
function render(doc) {
  const n = doc.node;
  document.getElementById("node").textContent = "coactor node " + n.name;
  document.title = "coactor node " + n.name;
  document.getElementById("node-figures").textContent =
    "up " + n.uptime_seconds.toFixed(0) + " s, " + n.scheduler_threads +
    " scheduler threads, " + n.actors_alive + " actors alive";
  const ps = document.getElementById("pipelines");
  ps.replaceChildren();
  if (doc.pipelines.length === 0) ps.appendChild(el("div", {class: "muted"}, "none running"));
  doc.pipelines.forEach(p => {
    ps.appendChild(el("div", {class: "pipeline-title"},
      "pipeline " + p.id + ", running for " + p.elapsed_seconds.toFixed(1) + " s"));
    ps.appendChild(pipelineGraph(p));
  });
  const as = document.getElementById("actors");
  as.replaceChildren(table(["name", "id", "how"],
    doc.actors.map(a => [a.name, a.id, a.how])));
  const peers = document.getElementById("peers");
  peers.replaceChildren(doc.peers.length === 0
    ? el("div", {class: "muted"}, "none")
    : table(["node", "state", "message types"],
        doc.peers.map(p => [p.node, el("span", {class: p.state}, p.state), p.types])));
}
async function poll() {
  try {
    const res = await fetch("/status.json", {cache: "no-store"});
    render(await res.json());
  } catch (e) {
    document.getElementById("node-figures").textContent = "cannot read /status.json: " + e;
  }
  setTimeout(poll, 1000);
}
poll();
</script>
</body>
</html>
)html";

} // namespace

std::string_view page_html() noexcept {
  return page;
}

} // namespace coactor::metrics::detail
