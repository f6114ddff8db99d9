// rajudge report: builds the page from the JSON in #rajudge-data.
// Every text from a record goes into the page through textContent (or an attribute set from
// script), never as HTML, so a response holding markup stays text. Items render a page at a
// time; sort, filters and search are kept in the address's #fragment, so a view can be shared.
// A comparison (rajudge compare -o DIR) adds its leaderboard and chart above the prompts.
"use strict";
(function () {
  const PAGE_SIZE = 50;
  const SHOWN_CHARACTERS = 4000; // longer texts show their start and a button for the rest
  const SORTS = {
    "input": ["input order", null, 1],
    "score-asc": ["score, lowest first", "score", 1],
    "score-desc": ["score, highest first", "score", -1],
    "margin-asc": ["margin, closest first", "margin", 1],
    "margin-desc": ["margin, widest first", "margin", -1],
    "consistency-asc": ["consistency, lowest first", "consistency", 1],
    "consistency-desc": ["consistency, highest first", "consistency", -1],
  };
  const FILTERS = [ // [state key, label, item key, bound]
    ["minScore", "score ≥", "score", "min"],
    ["maxScore", "score ≤", "score", "max"],
    ["maxMargin", "margin ≤", "margin", "max"],
    ["maxConsistency", "consistency ≤", "consistency", "max"],
  ];
  const data = JSON.parse(document.getElementById("rajudge-data").textContent);
  const items = data.items;
  const comparison = data.comparison || null; // {summary, figure} for rajudge compare's output
  const DEFAULTS = { q: "", principle: "", sort: "input", page: 0,
    minScore: "", maxScore: "", maxMargin: "", maxConsistency: "" };
  const state = { ...DEFAULTS };
  const inputs = {};
  let searchTexts = null; // lower-cased text of each item, made on the first search

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function fixed(value, digits) {
    return value === null || value === undefined ? "–" : Number(value).toFixed(digits);
  }

  function renderSummary() {
    const s = data.summary;
    const box = document.getElementById("summary");
    document.getElementById("loading").remove();
    if (comparison) {
      document.title = "rajudge comparison";
      box.querySelector("h1").textContent = "rajudge comparison";
      box.append(renderLeaderboard(comparison.summary), renderFigure(comparison.figure));
    }
    const facts = el("dl", "facts");
    const rows = comparison ? comparisonFacts(comparison.summary, s) : [["items", s.items],
      ["judgments", s.judgments], ["model", s.models.join(", ")], ["mode", s.modes.join(", ")]];
    if (s.skipped) rows.push(["unreadable lines", s.skipped + " (listed on stderr)"]);
    for (const [name, value] of rows) facts.append(el("dt", "", name), el("dd", "", value));
    if (!s.items) {
      box.append(facts);
      return;
    }
    const table = el("table", "principles");
    const head = table.createTHead().insertRow();
    for (const title of ["principle", "judgments", "mean score", "mean expected"]) {
      head.append(el("th", "", title));
    }
    const body = table.createTBody();
    for (const p of s.principles) {
      const row = body.insertRow();
      row.append(el("td", "", p.name), el("td", "", p.judgments),
        el("td", "", fixed(p.mean_score, 2)), el("td", "", fixed(p.mean_expected, 2)));
    }
    box.append(facts, table, histogram(s.histogram));
  }

  function comparisonFacts(c, s) {
    const level = Math.round(100 * c.bootstrap.level);
    return [["baseline", c.baseline],
      ["prompts", c.prompts + (c.left_out.prompts ? ` (${c.left_out.prompts} left out)` : "")],
      ["judgments", `${c.judgments} (${c.orders} presentation orders)`],
      ["model", c.model], ["mode", c.mode],
      ["intervals", `${level}%, ${c.bootstrap.rounds} bootstrap rounds over prompts`],
      ["undecided prompts", c.undecided_prompts], ["prompts shown below", s.items]]
      .filter(([, value]) => value !== null);
  }

  function rating(value, ci) {
    if (value === null) return "–";
    return fixed(value, 0) + (ci ? ` [${fixed(ci[0], 0)}, ${fixed(ci[1], 0)}]` : "");
  }

  function rate(value, ci) {
    if (value === null) return "–";
    return fixed(value, 2) + (ci ? ` [${fixed(ci[0], 2)}, ${fixed(ci[1], 2)}]` : "");
  }

  function table(className, titles, rows) {
    const node = el("table", "board " + className);
    const head = node.createTHead().insertRow();
    for (const title of titles) head.append(el("th", "", title));
    const body = node.createTBody();
    for (const [cells, dataset] of rows) {
      const row = body.insertRow();
      Object.assign(row.dataset, dataset);
      for (const value of cells) row.append(el("td", "", value));
    }
    return node;
  }

  function renderLeaderboard(c) {
    const section = el("section");
    section.id = "leaderboard";
    const several = c.principles.length > 1;
    const sameWeights = new Set(c.principles.map((p) => p.weight)).size === 1;
    const principleTitles = c.principles.map((p) => sameWeights ? p.name : `${p.name} ×${p.weight}`);
    const titles = ["rank", "system", "rating [95% CI]", "length-controlled rating",
      `win rate vs ${c.baseline}`, "length-controlled win rate", "W/T/L", "mean length",
      "position consistency", ...(several ? principleTitles : [])];
    const rows = c.systems.map((s) => {
      const baseline = s.name === c.baseline;
      const cells = [s.rank, baseline ? `${s.name} (baseline)` : s.name,
        rating(s.rating, s.rating_ci), rating(s.lc_rating, s.lc_rating_ci),
        rate(s.win_rate, s.win_rate_ci), rate(s.lc_win_rate, s.lc_win_rate_ci),
        baseline ? "–" : `${s.wins}/${s.ties}/${s.losses}`, fixed(s.mean_length, 0),
        fixed(s.position_consistency, 2)];
      if (several) {
        for (const p of c.principles) {
          const v = s.principles[p.name];
          cells.push(`${rating(v.rating, null)} · ${rate(v.win_rate, null)}`);
        }
      }
      const kind = baseline ? "baseline" : s.rank === 1 ? "best" : "";
      return [cells, { name: s.name, kind }];
    });
    const pairs = c.pairs.map((p) => [[`${p.a} vs ${p.b}`, p.prompts, `${p.a_wins}–${p.b_wins}`,
      p.ties, fixed(p.position_consistency, 2)], { a: p.a, b: p.b }]);
    const notes = el("ul", "note");
    const said = ["wins: a prompt counts only where every presentation order agrees; " +
      "the rest are ties"];
    if (several) said.push(`per principle: rating · win rate vs ${c.baseline}`);
    if (!c.length_controllable) {
      said.push("answer lengths do not tell the systems apart: length-controlled = raw");
    }
    for (const text of said) notes.append(el("li", "", text));
    section.append(el("h2", "", `Leaderboard against ${c.baseline}`),
      scrolling(table("systems", titles, rows)),
      table("pairs", ["pair", "prompts", "wins", "ties", "position consistency"], pairs), notes);
    return section;
  }

  function scrolling(node) {
    const box = el("div", "scroll");
    box.append(node);
    return box;
  }

  function renderFigure(svg) {
    // The chart is rajudge's own SVG (every name escaped), parsed as XML, never as HTML.
    const figure = el("figure", "ratings");
    const parsed = new DOMParser().parseFromString(svg, "image/svg+xml");
    figure.append(document.importNode(parsed.documentElement, true));
    return figure;
  }

  function histogram(counts) {
    const box = el("figure", "histogram");
    const columns = el("div", "columns");
    const most = Math.max(1, ...counts);
    counts.forEach((count, i) => {
      const column = el("div", "column");
      const fill = el("div", "fill");
      fill.style.height = (75 * count / most) + "%";
      column.append(el("span", "", count), fill, el("span", "", i + 1));
      columns.append(column);
    });
    box.append(columns, el("figcaption", "note", "scores of all responses"));
    return box;
  }

  function renderControls() {
    const nav = document.getElementById("controls");
    const search = el("input");
    search.type = "search";
    search.placeholder = "search prompts, responses, rationales";
    let timer = 0;
    search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => change("q", search.value), 150);
    });
    inputs.q = search;
    nav.append(labelled("search", search));
    const sort = el("select");
    for (const [key, [title]] of Object.entries(SORTS)) sort.append(option(key, title));
    sort.addEventListener("change", () => change("sort", sort.value));
    inputs.sort = sort;
    nav.append(labelled("sort by", sort));
    const principle = el("select");
    principle.append(option("", "all principles"));
    for (const p of data.summary.principles) principle.append(option(p.name, p.name));
    principle.addEventListener("change", () => change("principle", principle.value));
    inputs.principle = principle;
    nav.append(labelled("principle", principle));
    for (const [key, title] of FILTERS) {
      const box = el("input");
      box.type = "number";
      box.step = "0.1";
      box.addEventListener("change", () => change(key, box.value));
      inputs[key] = box;
      nav.append(labelled(title, box));
    }
  }

  function labelled(title, control) {
    const label = el("label", "", title);
    label.append(control);
    return label;
  }

  function option(value, title) {
    const node = el("option", "", title);
    node.value = value;
    return node;
  }

  function change(key, value) {
    state[key] = value;
    state.page = 0;
    writeHash();
    update();
  }

  function readHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    for (const key of Object.keys(DEFAULTS)) {
      state[key] = params.has(key) ? params.get(key) : DEFAULTS[key];
    }
    if (!Object.hasOwn(SORTS, state.sort)) state.sort = "input";
    state.page = Math.max(0, (parseInt(state.page, 10) || 1) - 1); // page=1 is the first
    for (const [key, input] of Object.entries(inputs)) input.value = state[key];
  }

  function writeHash() {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(state)) {
      if (value !== DEFAULTS[key]) params.set(key, key === "page" ? value + 1 : value);
    }
    history.replaceState(null, "", "#" + params.toString());
  }

  function matches(index) {
    const item = items[index];
    if (state.principle && !item.judgments.some((j) => j.principle === state.principle)) {
      return false;
    }
    for (const [key, , field, bound] of FILTERS) {
      if (state[key] === "" || isNaN(Number(state[key]))) continue;
      const value = item[field];
      if (value === null) return false;
      if (bound === "min" ? value < Number(state[key]) : value > Number(state[key])) return false;
    }
    if (state.q) {
      if (searchTexts === null) searchTexts = items.map(searchText);
      if (!searchTexts[index].includes(state.q.toLowerCase())) return false;
    }
    return true;
  }

  function searchText(item) {
    const parts = [item.id, item.prompt];
    for (const [name, text] of Object.entries(item.responses)) parts.push(name, text);
    for (const j of item.judgments) parts.push(j.principle, j.rationale);
    return parts.join("\n").toLowerCase();
  }

  function sorted(indices) {
    const [, field, direction] = SORTS[state.sort];
    if (!field) return indices;
    return indices.sort((a, b) => {
      const x = items[a][field], y = items[b][field];
      if (x === null || y === null) return (x === null) - (y === null) || a - b;
      return direction * (x - y) || a - b;
    });
  }

  function update() {
    const indices = [];
    for (let i = 0; i < items.length; i++) if (matches(i)) indices.push(i);
    const view = sorted(indices);
    const pages = Math.max(1, Math.ceil(view.length / PAGE_SIZE));
    state.page = Math.min(state.page, pages - 1);
    const start = state.page * PAGE_SIZE;
    const shown = view.slice(start, start + PAGE_SIZE);
    document.getElementById("items").replaceChildren(...shown.map((i) => renderItem(items[i])));
    const status = document.getElementById("status");
    status.textContent = view.length
      ? `${view.length} of ${items.length} items match; showing ${start + 1}–${start + shown.length}`
      : `no item of ${items.length} matches`;
    status.dataset.matching = view.length;
    renderPager(pages);
  }

  function renderPager(pages) {
    const pager = document.getElementById("pager");
    const previous = el("button", "", "‹ previous");
    const next = el("button", "", "next ›");
    previous.disabled = state.page === 0;
    next.disabled = state.page >= pages - 1;
    previous.addEventListener("click", () => turn(-1));
    next.addEventListener("click", () => turn(1));
    pager.replaceChildren(previous, el("span", "", `page ${state.page + 1} of ${pages}`), next);
  }

  function turn(step) {
    state.page += step;
    writeHash();
    update();
    window.scrollTo(0, 0);
  }

  function renderItem(item) {
    const node = el("article", "item");
    node.dataset.id = item.id;
    const header = el("header");
    header.append(el("h2", "id", item.id), el("span", "keys",
      `score ${fixed(item.score, 2)} · margin ${fixed(item.margin, 2)}` +
      (item.consistency === null ? "" : ` · consistency ${fixed(item.consistency, 2)}`)),
    el("span", "run", `${item.model} · ${item.mode}`));
    const chips = el("div", "chips");
    for (const j of item.judgments) {
      const chip = el("span", "chip", j.principle);
      chip.title = j.text;
      chips.append(chip);
    }
    const responses = el("div", "responses");
    for (const name of shownOrder(item)) responses.append(renderResponse(item, name));
    node.append(header, chips, el("div", "label", "prompt"), textBlock(item.prompt, "prompt"),
      responses);
    for (const j of item.judgments) {
      if (!j.rationale.trim()) continue;
      const box = el("div", "rationale");
      const title = item.judgments.length > 1 ? `rationale (${j.principle})` : "rationale";
      box.append(el("div", "label", title), el("p", "", j.rationale));
      node.append(box);
    }
    return node;
  }

  function shownOrder(item) {
    // A comparison keeps every prompt's systems in leaderboard order, so columns line up.
    if (!comparison) return item.ranking;
    const known = comparison.summary.systems.map((s) => s.name)
      .filter((name) => Object.hasOwn(item.responses, name));
    return [...known, ...item.ranking.filter((name) => !known.includes(name))];
  }

  function ordinal(n) {
    return n + ({ 1: "st", 2: "nd", 3: "rd" }[n] || "th");
  }

  function ordersLine(orders, name) {
    const seen = orders.filter((o) => Object.hasOwn(o.scores, name));
    const line = el("div", "orders", "by order: " + seen.map((o) => {
      const s = o.scores[name];
      return `${ordinal(o.shown.indexOf(name) + 1)} ${s.score} (${fixed(s.expected, 2)})`;
    }).join(" · "));
    line.title = orders.map((o, i) => `order ${i + 1}: ${o.shown.join(", ")}`).join("\n");
    return line;
  }

  function renderResponse(item, name) {
    const rank = item.ranking.indexOf(name) + 1;
    const box = el("section", rank === 1 ? "response best" : "response");
    box.dataset.name = name;
    box.append(el("h3", "", `#${rank} ${name}`));
    const several = item.judgments.length > 1;
    for (const j of item.judgments) {
      const s = j.scores[name];
      const row = el("div", "verdict");
      if (several) row.append(el("span", "principle", j.principle));
      row.append(el("span", "rank", `rank ${s.rank}`), el("strong", "score", `score ${s.score}`),
        el("span", "expected", `expected ${fixed(s.expected, 2)}`), distribution(s.distribution));
      if (j.consistency !== null && j.consistency !== undefined) {
        row.append(el("span", "consistency", `consistency ${fixed(j.consistency, 2)}`));
      }
      box.append(row);
      if (j.orders) box.append(ordersLine(j.orders, name));
    }
    if (item.composite) box.append(el("div", "verdict", `composite ${fixed(item.composite[name], 2)}`));
    box.append(textBlock(item.responses[name], "response-text"));
    return box;
  }

  function distribution(probabilities) {
    const box = el("div", "distribution-box");
    const bars = el("div", "distribution");
    const axis = el("div", "axis");
    box.title = probabilities.map((p, i) => `P(${i + 1}) = ${fixed(p, 3)}`).join("\n");
    probabilities.forEach((p, i) => {
      const bar = el("span", "bar");
      const fill = el("span", "fill");
      fill.style.height = (100 * p) + "%";
      bar.append(fill);
      bars.append(bar);
      axis.append(el("span", "", i + 1));
    });
    box.append(bars, axis);
    return box;
  }

  function textBlock(text, className) {
    const block = el("pre", "text " + className);
    if (text.length <= SHOWN_CHARACTERS) {
      block.textContent = text;
      return block;
    }
    block.textContent = text.slice(0, SHOWN_CHARACTERS) + "…";
    const more = el("button", "more", `show all ${text.length.toLocaleString("en")} characters`);
    more.addEventListener("click", () => {
      block.textContent = text;
      more.remove();
    });
    const box = el("div");
    box.append(block, more);
    return box;
  }

  renderSummary();
  renderControls();
  readHash();
  update();
  window.addEventListener("hashchange", () => { readHash(); update(); });
  document.body.dataset.readyMs = Math.round(performance.now());
})();
