/* The report's explorable trials (sweeps/report/explorer.py builds the table and the data): sort
   and filter the table, open a row's fit and learning curve, parallel coordinates linked to the
   table. Plain script: no library, nothing fetched. */
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("explore-data").textContent);
  const NS = "http://www.w3.org/2000/svg";  // the SVG namespace's name, not an address to load
  const LEVELS = 64 * 64 - 1;
  const CODE = {};
  for (let i = 0; i < D.alphabet.length; i++) CODE[D.alphabet[i]] = i;
  const table = document.getElementById("trials");
  const box = document.getElementById("trials-box");
  const tbody = table.tBodies[0];
  const heads = Array.from(table.tHead.rows[0].cells);
  const FIRST = 4;  // trial, mode, value, seconds; the settings follow
  const MODE_AXIS = D.axes.length - 2;
  const HALO = {stroke: "#fff", "stroke-width": 3, "paint-order": "stroke"};
  const byNumber = new Map();
  const T = D.trials.map(function (r, i) {
    const row = document.getElementById("trial-" + r[0]);
    const t = {i: i, n: r[0], state: r[1], mode: r[2], value: r[3], seconds: r[4], s: r[5], row: row,
               text: Array.from(row.cells).map(c => c.textContent.trim().toLowerCase())};
    t.all = t.text.join(" ");
    byNumber.set(t.n, t);
    return t;
  });

  // --- numbers --------------------------------------------------------------------------------
  /** What explorer.pack packed: two characters a number, 12 bits over [lo, hi]. */
  function unpack(s, lo, hi) {
    const out = new Array(s.length / 2);
    for (let i = 0; i < out.length; i++) {
      const c = CODE[s[2 * i]] * 64 + CODE[s[2 * i + 1]];
      out[i] = c === LEVELS ? NaN : lo + c / (LEVELS - 1) * (hi - lo);
    }
    return out;
  }
  function steps(p) {
    return p.list || Array.from({length: p.count}, (_, i) => p.start + i * p.stride);
  }
  function short(v) {
    const a = Math.abs(v);
    if (v !== 0 && (a < 1e-3 || a >= 1e4)) return v.toExponential(0).replace("e+", "e");
    return String(+v.toPrecision(3));
  }
  /** Where value v falls on a numeric axis, from 0 (bottom) to 1 (top). */
  function unit(axis, v) {
    const f = axis.log ? Math.log10 : x => x;
    return (f(v) - f(axis.lo)) / ((f(axis.hi) - f(axis.lo)) || 1);
  }
  /** A trial's key in column col, for sorting and comparing (null: none). */
  function key(t, col) {
    if (col === 0) return t.n;
    if (col === 1) return t.mode === null ? null : D.axes[MODE_AXIS].levels.indexOf(t.mode);
    if (col === 2) return t.value;
    if (col === 3) return t.seconds;
    return t.s[col - FIRST];
  }

  // --- filtering ------------------------------------------------------------------------------
  const filter = document.getElementById("trial-filter");
  const count = document.getElementById("trial-count");
  const modesOff = new Set();
  const brushes = new Map();  // axis index -> [y0, y1], in the drawing's units
  let terms = [];
  /** "mode=fit lr<0.01 tanh": a column compared (= and != with its text, < > <= >= with its
      number), or any other word looked for in the whole row. */
  function parse(text) {
    return text.trim().toLowerCase().split(/\s+/).filter(Boolean).map(function (term) {
      const m = term.match(/^([a-z_]\w*)(<=|>=|!=|=|<|>)(.+)$/);
      const col = m ? D.columns.indexOf(m[1]) : -1;
      return col < 0 ? {any: term} : {col: col, op: m[2], arg: m[3]};
    });
  }
  function passes(t, term) {
    if (term.any !== undefined) return t.all.indexOf(term.any) >= 0;
    const text = t.text[term.col];
    if (term.op === "=") return text === term.arg;
    if (term.op === "!=") return text !== term.arg;
    const levels = term.col >= FIRST && D.axes[term.col - FIRST].levels;
    const v = term.col === 1 || levels ? parseFloat(text) : key(t, term.col);
    const arg = parseFloat(term.arg);
    if (v === null || isNaN(v) || isNaN(arg)) return false;
    if (term.op === "<") return v < arg;
    if (term.op === ">") return v > arg;
    return term.op === "<=" ? v <= arg : v >= arg;
  }
  function inBrushes(t) {
    for (const [a, [y0, y1]] of brushes) {
      if (!(t.ys[a] >= y0 - 0.5 && t.ys[a] <= y1 + 0.5)) return false;
    }
    return true;
  }
  function shown(t) {
    if (t.mode !== null && modesOff.has(t.mode)) return false;
    return inBrushes(t) && terms.every(term => passes(t, term));
  }
  function apply() {
    let k = 0;
    for (const t of T) {
      t.on = shown(t);
      t.row.hidden = !t.on;
      t.line.setAttribute("class", t.on ? "" : "out");
      k += t.on;
    }
    count.textContent = "showing " + k + " of " + T.length + " trials" +
      (D.total ? " (of the sweep's " + D.total.toLocaleString("en") + ")" : "");
    if (detail) detail.hidden = !byNumber.get(open).on;
  }
  filter.addEventListener("input", function () { terms = parse(filter.value); apply(); });
  document.querySelectorAll("input[data-mode]").forEach(function (check) {
    check.addEventListener("change", function () {
      if (check.checked) modesOff.delete(check.dataset.mode); else modesOff.add(check.dataset.mode);
      apply();
    });
  });
  document.getElementById("trial-clear").addEventListener("click", function () {
    filter.value = "";
    terms = [];
    modesOff.clear();
    brushes.clear();
    document.querySelectorAll("input[data-mode]").forEach(b => { b.checked = true; });
    drawBrushes();
    apply();
  });

  // --- sorting --------------------------------------------------------------------------------
  let sorted = {col: 2, dir: 1};
  /** Rows in column col's order (dir 1: up, -1: down), rows without a key last; ties in the
      page's first order (by the exact value, best first). */
  function sortBy(col, dir) {
    sorted = {col: col, dir: dir};
    const order = T.slice().sort(function (a, b) {
      const x = key(a, col), y = key(b, col);
      if (x === null || y === null) return (x === null) - (y === null) || a.i - b.i;
      return (x < y ? -dir : x > y ? dir : 0) || a.i - b.i;
    });
    for (const t of order) tbody.appendChild(t.row);
    if (detail) byNumber.get(open).row.after(detail);
    heads.forEach((h, i) => { h.className = i === col ? (dir > 0 ? "asc" : "desc") : ""; });
  }
  heads.forEach(function (h, i) {
    h.addEventListener("click", () => sortBy(i, sorted.col === i ? -sorted.dir : 1));
  });

  // --- drawing --------------------------------------------------------------------------------
  function el(tag, attrs, parent, text) {
    const e = document.createElementNS(NS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  /** Tick values: whole decades of a log10 range (at most about six), or round numbers. */
  function ticks(lo, hi, log) {
    const out = [];
    if (log) {
      for (let k = Math.ceil(lo - 1e-9); k <= hi + 1e-9; k++) out.push(k);
      const every = Math.ceil(out.length / 6);
      return out.filter((k, i) => i % every === 0);
    }
    const raw = (hi - lo) / 5 || 1, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = mag * ([1, 2, 5, 10].find(m => m * mag >= raw) || 10);
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
      out.push(+v.toPrecision(12));
    }
    return out;
  }
  /** A plot's frame (axes, ticks, labels, a clip); returns its scales. ylog: y is log10 already. */
  function frame(svg, w, h, xr, yr, ylog, xlabel, ylabel) {
    const m = {l: 50, r: 10, t: 10, b: 34};
    const x = v => m.l + (v - xr[0]) / ((xr[1] - xr[0]) || 1) * (w - m.l - m.r);
    const y = v => h - m.b - (v - yr[0]) / ((yr[1] - yr[0]) || 1) * (h - m.t - m.b);
    el("rect", {x: m.l, y: m.t, width: w - m.l - m.r, height: h - m.t - m.b, fill: "none",
                stroke: "#ccc"}, svg);
    for (const v of ticks(xr[0], xr[1], false)) {
      el("line", {x1: x(v), x2: x(v), y1: h - m.b, y2: h - m.b + 4, stroke: "#888"}, svg);
      el("text", {x: x(v), y: h - m.b + 15, "text-anchor": "middle", "font-size": 10}, svg,
         short(v));
    }
    for (const v of ticks(yr[0], yr[1], ylog)) {
      el("line", {x1: m.l, x2: w - m.r, y1: y(v), y2: y(v), stroke: "#eee"}, svg);
      el("text", {x: m.l - 4, y: y(v) + 3, "text-anchor": "end", "font-size": 10}, svg,
         ylog ? short(Math.pow(10, v)) : short(v));
    }
    el("text", {x: (m.l + w - m.r) / 2, y: h - 4, "text-anchor": "middle", "font-size": 11}, svg,
       xlabel);
    el("text", {transform: "translate(12," + (h - m.b + m.t) / 2 + ") rotate(-90)",
                "text-anchor": "middle", "font-size": 11}, svg, ylabel);
    const id = "clip-" + Math.random().toString(36).slice(2);
    el("rect", {x: m.l, y: m.t, width: w - m.l - m.r, height: h - m.t - m.b},
       el("clipPath", {id: id}, el("defs", {}, svg)));
    return {x: x, y: y, clip: "url(#" + id + ")"};
  }
  /** A polyline through the finite points (a gap where a value is missing). */
  function line(svg, f, xs, ys, attrs) {
    let d = "", pen = "M";
    for (let i = 0; i < xs.length; i++) {
      if (!isFinite(ys[i])) { pen = "M"; continue; }
      d += pen + f.x(xs[i]).toFixed(1) + " " + f.y(ys[i]).toFixed(1);
      pen = "L";
    }
    return el("path", Object.assign({d: d, fill: "none", "clip-path": f.clip}, attrs), svg);
  }
  function legend(svg, x, y, items) {
    items.forEach(function ([label, color, dash], i) {
      el("line", {x1: x, x2: x + 18, y1: y + 12 * i, y2: y + 12 * i, stroke: color,
                  "stroke-width": 2, "stroke-dasharray": dash || ""}, svg);
      el("text", Object.assign({x: x + 22, y: y + 12 * i + 3, "font-size": 10}, HALO), svg, label);
    });
  }
  function panel(into, w, h, kind) {
    return el("svg", {width: w, height: h, viewBox: "0 0 " + w + " " + h, class: kind}, into);
  }

  /** A panel an input: the trial's predictions on the grid, the question's config's, the true
      function and the data. */
  function fitPanels(t, into) {
    const F = D.fit, color = D.palette[t.mode] || "#555";
    const get = s => s ? unpack(s, F.packed[0], F.packed[1]) : null;
    const preds = get(F.nets[t.n]), base = get(F.nets.baseline), target = get(F.target);
    const w = F.features > 1 ? 300 : 440, h = 270;
    if (!F.x.length) return;  // a study stored without its grid
    for (let j = 0; j < F.features; j++) {
      const idx = F.x.map((_, i) => i).filter(i => F.feature[i] === j);
      const xs = idx.map(i => F.x[i]);
      const svg = panel(into, w, h, "fit");
      const xlabel = F.features > 1 ? "input " + (j + 1) + " (the others at their medians)" : "x";
      const f = frame(svg, w, h, [Math.min(...xs), Math.max(...xs)], F.view, false, xlabel, "y");
      const dots = el("g", {fill: D.colors.data, "clip-path": f.clip}, svg);
      F.points.x.forEach(function (px, i) {
        if (F.points.feature[i] !== j) return;
        el("circle", {cx: f.x(px).toFixed(1), cy: f.y(F.points.y[i]).toFixed(1), r: 1.6}, dots);
      });
      const at = ys => idx.map(i => ys[i]);
      if (target) line(svg, f, xs, at(target), {stroke: D.colors.target, "stroke-width": 1.5});
      if (base) {
        line(svg, f, xs, at(base), {stroke: "#666", "stroke-width": 1.2,
                                    "stroke-dasharray": "5 3"});
      }
      if (preds) line(svg, f, xs, at(preds), {stroke: color, "stroke-width": 2.4, class: "pred"});
      if (j > 0) continue;
      const items = [["trial #" + t.n, color]];
      if (target) items.push(["true function", D.colors.target]);
      if (base) items.push(["question's config", "#666", "5 3"]);
      legend(svg, 58, 18, items);
    }
  }
  /** The trial's learning curve: training and validation MSE / var(y) on a log scale, with the
      reference values. */
  function curvePanel(t, into) {
    const C = D.curves, run = C.runs[t.n], color = D.palette[t.mode] || "#555", w = 440, h = 270;
    if (!run) return;
    const xs = steps(run.steps);
    const train = unpack(run.train, C.packed[0], C.packed[1]);
    const val = unpack(run.val, C.packed[0], C.packed[1]);
    const seen = train.concat(val).filter(isFinite).concat(C.refs.map(r => Math.log10(r[1])));
    const yr = [Math.floor(Math.min(...seen)), Math.ceil(Math.max(...seen))];
    if (yr[1] === yr[0]) yr[1] += 1;
    const svg = panel(into, w, h, "curve");
    const f = frame(svg, w, h, [Math.min(...xs), Math.max(...xs, 1)], yr, true, "training step",
                    "MSE / var(y) (1 = constant predictor)");
    const dashes = {"constant predictor": "2 3", "best straight line": "6 3"};
    for (const [name, v] of C.refs) {
      const y = f.y(Math.log10(v));
      el("line", {x1: 50, x2: w - 10, y1: y, y2: y, stroke: "#444",
                  "stroke-dasharray": dashes[name] || "7 3 2 3"}, svg);
      el("text", Object.assign({x: w - 12, y: y - 3, "text-anchor": "end", "font-size": 9,
                                fill: "#444"}, HALO), svg, name);
    }
    line(svg, f, xs, train, {stroke: color, "stroke-width": 1.4, "stroke-dasharray": "4 2"});
    line(svg, f, xs, val, {stroke: color, "stroke-width": 2.2, class: "val"});
    legend(svg, 58, 18, [["validation", color], ["training", color, "4 2"]]);
  }

  // --- a row's fit and learning curve ---------------------------------------------------------
  let open = null, detail = null;
  /** Open trial n's row (or close it, when open): its settings, fit and learning curve. */
  function openTrial(n, scroll) {
    const t = byNumber.get(n);
    if (!t) return;
    const again = open === n;
    if (detail) {
      byNumber.get(open).row.classList.remove("open");
      detail.remove();
      open = detail = null;
    }
    if (!again) {
      open = n;
      detail = document.createElement("tr");
      detail.className = "detail";
      detail.id = "detail-" + n;
      const td = document.createElement("td");
      td.colSpan = heads.length;
      const viewer = document.createElement("div");
      viewer.className = "viewer";
      viewer.style.width = (box.clientWidth - 24) + "px";
      const about = document.createElement("div");
      about.className = "about";
      const settings = D.columns.slice(FIRST).map((c, i) => t.s[i] === null ? null
        : c + " " + t.text[FIRST + i]).filter(Boolean);
      about.textContent = "trial #" + n + ": " + (t.mode || t.state.toLowerCase()) +
        (t.value === null ? "" : ", value " + short(t.value)) + ". " + settings.join(", ");
      viewer.appendChild(about);
      fitPanels(t, viewer);
      curvePanel(t, viewer);
      td.appendChild(viewer);
      detail.appendChild(td);
      t.row.classList.add("open");
      t.row.after(detail);
      detail.hidden = !t.on;
      if (scroll) show(t.row);
      if (history.replaceState) history.replaceState(null, "", "#trial-" + n);
    }
    chosen.setAttribute("d", detail ? t.line.getAttribute("d") : "");
  }
  /** Scroll the table's box so that the row sits just under the header, and the box into view. */
  function show(row) {
    const head = table.tHead.getBoundingClientRect().height;
    box.scrollTop += row.getBoundingClientRect().top - box.getBoundingClientRect().top - head;
    box.scrollIntoView({block: "nearest"});
  }
  function number(tr) { return +tr.id.slice("trial-".length); }
  tbody.addEventListener("click", function (e) {
    const tr = e.target.closest("tr[id^=\"trial-\"]");
    if (tr) openTrial(number(tr), false);
  });
  tbody.addEventListener("mouseover", function (e) {
    const tr = e.target.closest("tr[id^=\"trial-\"]");
    hot(tr ? number(tr) : null);
  });
  tbody.addEventListener("mouseleave", () => hot(null));

  // --- parallel coordinates -------------------------------------------------------------------
  const W = 1140, H = 360, TOP = 46, BOTTOM = H - 40, NA = H - 16, PAD = 46;
  const pcp = document.getElementById("pcp");
  const svg = el("svg", {viewBox: "0 0 " + W + " " + H, role: "img",
                          "aria-label": "parallel coordinates of the settings, mode and value"});
  pcp.appendChild(svg);
  const tip = document.createElement("div");
  tip.className = "tip";
  pcp.appendChild(tip);
  const AX = D.axes.map((a, i) => PAD + i * (W - 2 * PAD - 30) / Math.max(D.axes.length - 1, 1));
  /** A small offset, the same on every drawing, so lines through one level fan out. */
  function jitter(n, a) { return ((n * 7919 + a * 104729) % 97) / 97 * 8 - 4; }
  function levelY(axis, k) {
    const L = axis.levels.length;
    return BOTTOM - (L > 1 ? k / (L - 1) : 0.5) * (BOTTOM - TOP);
  }
  function yOf(t, a) {
    const axis = D.axes[a];
    const v = a < MODE_AXIS ? t.s[a] : a === MODE_AXIS ? t.mode : t.value;
    if (v === null || v === undefined) return NA + jitter(t.n, a) / 2;
    if (axis.levels) {
      return levelY(axis, a === MODE_AXIS ? axis.levels.indexOf(v) : v) + jitter(t.n, a);
    }
    return BOTTOM - Math.min(1, Math.max(0, unit(axis, v))) * (BOTTOM - TOP);
  }
  // fainter lines the more there are, so that a thousand still show where they gather
  const opacity = Math.min(0.5, Math.max(0.12, 5 / Math.sqrt(T.length))).toFixed(2);
  const lines = el("g", {fill: "none", "stroke-width": 1.1, "stroke-opacity": opacity}, svg);
  for (const t of T) {
    t.ys = D.axes.map((_, a) => yOf(t, a));
    const d = "M" + t.ys.map((y, a) => AX[a].toFixed(1) + " " + y.toFixed(1)).join("L");
    t.line = el("path", {d: d, stroke: D.palette[t.mode] || "#999"}, lines);
  }
  const chosen = el("path", {fill: "none", stroke: "#111", "stroke-width": 4,
                             "stroke-opacity": 0.9}, svg);
  const hotLine = el("path", {fill: "none", "stroke-width": 3}, svg);
  const axesLayer = el("g", {"font-size": 10}, svg);
  D.axes.forEach(function (axis, a) {
    const x = AX[a];
    el("line", {x1: x, x2: x, y1: TOP, y2: BOTTOM, stroke: "#333", class: "axis",
                "data-axis": axis.name}, axesLayer);
    const name = el("text", {x: x, y: a % 2 ? 28 : 14, "text-anchor": "middle", "font-size": 11,
                             "font-weight": 600}, axesLayer, axis.name);
    el("title", {}, name, axis.title);
    const marks = axis.levels ? axis.levels.map((label, k) => [levelY(axis, k), label])
      : axis.ticks.map(([v, label]) => [BOTTOM - unit(axis, v) * (BOTTOM - TOP), label]);
    for (const [y, label] of marks) {
      el("line", {x1: x - 3, x2: x + 3, y1: y, y2: y, stroke: "#333"}, axesLayer);
      el("text", Object.assign({x: x + 5, y: y + 3, fill: "#222"}, HALO), axesLayer, label);
    }
    if (T.some(t => t.ys[a] >= NA - 4)) {
      el("text", Object.assign({x: x + 5, y: NA + 3, fill: "#888"}, HALO), axesLayer, "n/a");
    }
  });
  const brushLayer = el("g", {}, svg);
  function drawBrushes() {
    brushLayer.textContent = "";
    for (const [a, [y0, y1]] of brushes) {
      el("rect", {x: AX[a] - 8, y: y0, width: 16, height: Math.max(y1 - y0, 1), fill: "#000",
                  "fill-opacity": 0.12, stroke: "#222"}, brushLayer);
    }
  }
  /** Light up trial n's line and row (null: none). */
  function hot(n) {
    const t = n === null ? null : byNumber.get(n);
    hotLine.setAttribute("d", t ? t.line.getAttribute("d") : "");
    hotLine.setAttribute("stroke", t ? D.palette[t.mode] || "#999" : "none");
    for (const r of tbody.querySelectorAll("tr.hot")) r.classList.remove("hot");
    if (t) t.row.classList.add("hot");
  }
  function point(e) {
    const r = svg.getBoundingClientRect();
    return [(e.clientX - r.left) * W / r.width, (e.clientY - r.top) * H / r.height];
  }
  /** The shown trial whose line passes nearest (x, y), within a few units; or null. */
  function nearest(x, y) {
    let i = AX.findIndex((ax, k) => k < AX.length - 1 && x >= ax && x <= AX[k + 1]);
    if (i < 0) i = x < AX[0] ? 0 : AX.length - 2;
    const f = Math.min(1, Math.max(0, (x - AX[i]) / (AX[i + 1] - AX[i])));
    let best = null, gap = 7;
    for (const t of T) {
      if (!t.on) continue;
      const d = Math.abs(t.ys[i] + f * (t.ys[i + 1] - t.ys[i]) - y);
      if (d < gap) { gap = d; best = t; }
    }
    return best;
  }
  let drag = null;
  svg.addEventListener("pointerdown", function (e) {
    const [x, y] = point(e);
    const a = AX.findIndex(ax => Math.abs(ax - x) < 10);
    if (a < 0) return;
    drag = {a: a, y0: y, y1: y};
    try { svg.setPointerCapture(e.pointerId); } catch (err) { /* a synthetic pointer */ }
    e.preventDefault();
  });
  svg.addEventListener("pointermove", function (e) {
    const [x, y] = point(e);
    if (drag) {
      drag.y1 = y;
      brushes.set(drag.a, [Math.min(drag.y0, y), Math.max(drag.y0, y)]);
      drawBrushes();
      return;
    }
    const t = nearest(x, y);
    hot(t ? t.n : null);
    tip.style.display = t ? "block" : "none";
    if (!t) return;
    const at = pcp.getBoundingClientRect();
    tip.textContent = "trial #" + t.n + " · " + (t.mode || t.state.toLowerCase()) +
      (t.value === null ? "" : " · " + short(t.value));
    tip.style.left = (e.clientX - at.left + 12) + "px";
    tip.style.top = (e.clientY - at.top + 12) + "px";
  });
  svg.addEventListener("pointerup", function (e) {
    if (drag) {
      if (Math.abs(drag.y1 - drag.y0) < 3) brushes.delete(drag.a);  // a click clears the axis
      drag = null;
      drawBrushes();
      apply();
      return;
    }
    const t = nearest(...point(e));
    if (t) openTrial(t.n, true);
  });
  svg.addEventListener("pointerleave", function () {
    if (drag) return;
    hot(null);
    tip.style.display = "none";
  });

  // --- start ----------------------------------------------------------------------------------
  apply();
  sortBy(2, 1);
  const asked = location.hash.match(/^#trial-(\d+)$/);
  if (asked) {
    openTrial(+asked[1], false);
    // after the browser's own jump to the row, which would leave it under the table's header
    window.addEventListener("load", () => setTimeout(function () {
      if (open !== null) show(byNumber.get(open).row);
    }));
  }
  table.dataset.ready = "1";
})();
