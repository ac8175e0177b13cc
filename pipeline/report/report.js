// Renders the report's data a page of companies at a time. Every value from the leads file
// goes in as text (textContent), never as markup.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const PAGE_SIZE = 25;
  const L = Object.fromEntries(data.lead_fields.map((name, index) => [name, index]));
  const C = Object.fromEntries(data.company_fields.map((name, index) => [name, index]));
  const COLUMNS = [
    ["rank", "Rank"], ["name", "Name"], ["title", "Title"], ["score", "Score"],
    ["evaluator", "Evaluator"], ["rung", "Rung"], ["reasoning", "Reasoning"],
  ];
  const state = { search: "", company: "", band: "", rankedOnly: false,
                  sort: "rank", descending: false, page: 0 };

  const byCompany = data.companies.map(() => []);
  for (const lead of data.leads) byCompany[lead[L.company]].push(lead);
  // Titles and first names repeat: each is sent once and the leads hold its position.
  const titleOf = (lead) => data.titles[lead[L.title]];
  const fullName = (lead) =>
    `${data.first_names[lead[L.first_name]]} ${lead[L.last_name]}`.trim();
  const haystack = data.leads.map((lead) =>
    `${fullName(lead)} ${titleOf(lead)} ${data.reasons[lead[L.reasoning]]}`.toLowerCase());
  const leadIndex = new Map(data.leads.map((lead, index) => [lead, index]));
  const suppressedReason = new Map(data.suppressed.map(([lead, reason]) =>
    [data.leads[lead], data.suppressions[reason]]));

  function value(lead, column) {
    switch (column) {
      case "rank": return lead[L.rank] === null ? Infinity : lead[L.rank];
      case "name": return fullName(lead).toLowerCase();
      case "title": return titleOf(lead).toLowerCase();
      case "score": return lead[L.score];
      case "evaluator": return data.evaluators[lead[L.evaluator]];
      case "rung": return data.rungs[lead[L.rung]];
      default: return data.reasons[lead[L.reasoning]].toLowerCase();
    }
  }

  function sorted(leads) {
    const sign = state.descending ? -1 : 1;
    return leads.slice().sort((a, b) => {
      const x = value(a, state.sort), y = value(b, state.sort);
      if (x < y) return -sign;
      if (x > y) return sign;
      return a[L.score] === b[L.score] ? 0 : b[L.score] - a[L.score];
    });
  }

  function visibleCompanies() {
    const query = state.search.toLowerCase(), company = state.company.toLowerCase();
    const shown = [];
    data.companies.forEach((entry, index) => {
      if (state.band && entry[C.size_band] !== state.band) return;
      if (state.rankedOnly && entry[C.ranked] === 0) return;
      if (company && !`${entry[C.name]} ${entry[C.domain]}`.toLowerCase().includes(company)) {
        return;
      }
      const leads = query
        ? byCompany[index].filter((lead) => haystack[leadIndex.get(lead)].includes(query))
        : byCompany[index];
      if (leads.length) shown.push([index, leads]);
    });
    return shown;
  }

  function cell(row, text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    row.appendChild(td);
  }

  function leadTable(leads) {
    const table = document.createElement("table");
    const head = table.createTHead().insertRow();
    for (const [key, label] of COLUMNS) {
      const th = document.createElement("th");
      th.textContent = label;
      th.dataset.sort = key;
      if (key === state.sort) th.setAttribute("aria-sort", state.descending ? "descending" : "ascending");
      th.addEventListener("click", () => {
        state.descending = state.sort === key ? !state.descending : key === "score";
        state.sort = key;
        render();
      });
      head.appendChild(th);
    }
    const body = table.createTBody();
    for (const lead of sorted(leads)) {
      const row = body.insertRow();
      row.className = "lead";
      cell(row, lead[L.rank] === null ? "" : String(lead[L.rank]), "rank");
      cell(row, fullName(lead), "name");
      if (suppressedReason.has(lead)) {
        row.classList.add("suppressed");
        const why = document.createElement("span");
        why.className = "suppressed-reason";
        why.textContent = `not contacted: ${suppressedReason.get(lead)}`;
        row.cells[1].appendChild(why);
      }
      cell(row, titleOf(lead), "title");
      cell(row, String(lead[L.score]), "score");
      cell(row, data.evaluators[lead[L.evaluator]], "evaluator");
      cell(row, data.rungs[lead[L.rung]], "rung");
      cell(row, data.reasons[lead[L.reasoning]], "reasoning");
    }
    return table;
  }

  function companySection(index, leads) {
    const entry = data.companies[index];
    const section = document.createElement("section");
    section.className = "company";
    section.dataset.company = entry[C.name];
    section.dataset.band = entry[C.size_band];
    const title = document.createElement("h2");
    title.textContent = entry[C.name] + " ";
    const small = document.createElement("small");
    small.textContent = `${entry[C.domain] || "no domain"} · ${entry[C.size_band]} · ` +
      `${entry[C.ranked]} of ${entry[C.leads]} leads ranked`;
    title.appendChild(small);
    section.appendChild(title);
    const ranked = leads.filter((lead) => lead[L.rank] !== null);
    const others = leads.filter((lead) => lead[L.rank] === null);
    if (ranked.length) {
      section.appendChild(leadTable(ranked));
    } else {
      const none = document.createElement("p");
      none.className = "none";
      none.textContent = "Nobody here is worth contacting.";
      section.appendChild(none);
    }
    if (others.length) {
      const details = document.createElement("details");
      details.className = "unranked";
      const label = document.createElement("summary");
      label.textContent = `Not ranked (${others.length})`;
      details.appendChild(label);
      details.appendChild(leadTable(others));
      section.appendChild(details);
    }
    return section;
  }

  function pager(element, pages) {
    element.replaceChildren();
    if (pages <= 1) return;
    const back = document.createElement("button");
    back.type = "button";
    back.textContent = "Previous";
    back.disabled = state.page === 0;
    back.addEventListener("click", () => { state.page -= 1; render(); });
    const next = document.createElement("button");
    next.type = "button";
    next.textContent = "Next";
    next.disabled = state.page >= pages - 1;
    next.addEventListener("click", () => { state.page += 1; render(); });
    const where = document.createElement("span");
    where.textContent = `Page ${state.page + 1} of ${pages}`;
    element.append(back, where, next);
  }

  function render() {
    const shown = visibleCompanies();
    const pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
    state.page = Math.min(state.page, pages - 1);
    const list = document.getElementById("companies");
    list.replaceChildren(...shown
      .slice(state.page * PAGE_SIZE, (state.page + 1) * PAGE_SIZE)
      .map(([index, leads]) => companySection(index, leads)));
    const leads = shown.reduce((total, [, companyLeads]) => total + companyLeads.length, 0);
    document.getElementById("shown").textContent =
      `Showing ${shown.length.toLocaleString()} companies, ${leads.toLocaleString()} leads`;
    pager(document.getElementById("pager-top"), pages);
    pager(document.getElementById("pager-bottom"), pages);
  }

  const bands = [...new Set(data.companies.map((entry) => entry[C.size_band]))].sort();
  const bandSelect = document.getElementById("band");
  for (const band of bands) {
    const option = document.createElement("option");
    option.value = band;
    option.textContent = band;
    bandSelect.appendChild(option);
  }
  const controls = { search: "search", company: "company", band: "band" };
  for (const [key, id] of Object.entries(controls)) {
    document.getElementById(id).addEventListener("input", (event) => {
      state[key] = event.target.value;
      state.page = 0;
      render();
    });
  }
  document.getElementById("ranked-only").addEventListener("change", (event) => {
    state.rankedOnly = event.target.checked;
    state.page = 0;
    render();
  });
  render();
})();
