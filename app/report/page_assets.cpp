#include "app/report/page_assets.h"

namespace capbench::report {

const char* const kPageStyle = R"css(
:root { --ink: #1f2328; --muted: #667085; --line: #e4e7ec; --paper: #ffffff; --wash: #f6f7f9; --accent: #2e5aac; }
* { box-sizing: border-box; }
html { scroll-behavior: smooth; }
body { margin: 0; background: var(--wash); color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
.wrap { max-width: 1240px; margin: 0 auto; padding: 0 24px; }
header.top { background: #17202e; color: #f2f4f7; padding: 26px 0 20px; }
header.top .kicker { text-transform: uppercase; letter-spacing: .08em; font-size: 12px; color: #98a2b3; }
header.top h1 { margin: 4px 0 6px; font-size: 30px; font-weight: 650; }
header.top .lede { margin: 0 0 16px; font-size: 15px; color: #d0d5dd; }
header.top .lede b { color: #fff; }
dl.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(270px, 1fr)); gap: 8px 24px; margin: 0; }
dl.facts div { min-width: 0; }
dl.facts dt { font-size: 11px; text-transform: uppercase; letter-spacing: .06em; color: #98a2b3; }
dl.facts dd { margin: 1px 0 0; overflow-wrap: anywhere; color: #eaecf0; }
nav.toc { position: sticky; top: 0; z-index: 5; background: rgba(255,255,255,.96); border-bottom: 1px solid var(--line); }
nav.toc .wrap { display: flex; gap: 22px; padding-top: 10px; padding-bottom: 10px; font-weight: 600; flex-wrap: wrap; }
section { background: var(--paper); border: 1px solid var(--line); border-radius: 10px; margin: 22px 0; padding: 18px 22px 22px; }
h2 { font-size: 20px; margin: 0 0 4px; }
h3 { font-size: 15px; margin: 0; }
p.note, .muted { color: var(--muted); }
p.note { margin: 0 0 12px; font-size: 13px; }
.warn { background: #fff4e5; border: 1px solid #f5c27a; color: #7a4b00; border-radius: 6px; padding: 6px 10px; margin: 8px 0; }
table { border-collapse: collapse; }
table.board { width: 100%; font-variant-numeric: tabular-nums; }
table.board th, table.board td { padding: 7px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
table.board thead th { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted);
  background: #fafbfc; white-space: nowrap; cursor: pointer; user-select: none; }
table.board thead th[aria-sort=descending]::after { content: " \25BE"; }
table.board thead th[aria-sort=ascending]::after { content: " \25B4"; }
table.board td.num, table.board th.num { text-align: right; white-space: nowrap; }
table.board th.key, table.board td.key { background: #f3f6fc; }
table.board td.key { font-weight: 650; }
table.board tbody tr:hover { background: #fafbff; }
table.board tbody tr:first-child td { border-top: 2px solid #c9d7f2; }
td.settings { font-family: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, monospace; font-size: 12.5px; }
.id { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 12px; color: var(--muted); }
.pm { color: var(--muted); font-weight: 400; font-size: 12px; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 3px; margin-right: 6px; vertical-align: baseline; }
.badge { display: inline-block; font-size: 11px; padding: 1px 7px; border-radius: 10px; background: #eef2f6; color: #475467; }
.badge.incomplete { background: #fff4e5; color: #8a5300; }
.badge.complete { background: #e7f6ec; color: #1e6b3a; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 18px; align-items: start; }
figure.chart-box { margin: 0; border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
figure.chart-box figcaption { font-size: 12.5px; color: var(--muted); margin-top: 6px; }
figure.chart-box h3 { margin-bottom: 6px; }
svg.chart { width: 100%; height: auto; display: block; font-family: inherit; }
svg.chart .grid { stroke: #eceef2; }
svg.chart .zero, svg.chart .axis { stroke: #98a2b3; }
svg.chart .tick { font-size: 11px; fill: #667085; }
svg.chart .axis-title { font-size: 12px; fill: #344054; font-weight: 600; }
svg.chart .label { font-size: 12px; fill: #1f2328; }
svg.chart .value { font-size: 11.5px; fill: #1f2328; font-weight: 600; }
svg.chart .value.inverse { fill: #fff; }
svg.chart .muted { font-size: 11.5px; fill: #98a2b3; font-style: italic; }
svg.chart .whisker { stroke: #1f2328; stroke-width: 1.4; }
svg.chart .dot { stroke: #fff; stroke-width: 1.5; }
svg.chart .point-label { font-size: 12px; font-weight: 700; fill: #344054; }
svg.chart .frontier { fill: none; stroke: #98a2b3; stroke-width: 1.3; stroke-dasharray: 5 4; }
svg.chart .series { fill: none; stroke-width: 2.2; }
svg.chart .legend { font-size: 12px; fill: #344054; }
svg.chart .mark:hover .bar, svg.chart .mark:hover .dot { filter: brightness(.85); }
.jumps { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 14px; margin: 8px 0 14px; }
.jumps > div { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.jumps p { margin: 2px 0 8px; font-size: 12.5px; color: var(--muted); }
ol.chips { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: 6px; }
ol.chips a { display: inline-block; border: 1px solid var(--line); border-radius: 14px; padding: 2px 10px; font-size: 12.5px; background: #fafbfc; }
ol.chips a span { color: var(--muted); margin-left: 4px; font-variant-numeric: tabular-nums; }
.scale { display: flex; align-items: center; gap: 8px; font-size: 12.5px; color: var(--muted); margin: 6px 0 14px; }
.scale .ramp { width: 180px; height: 12px; border-radius: 6px;
  background: linear-gradient(90deg, hsl(0,75%,84%), hsl(40,80%,82%), hsl(80,65%,80%), hsl(120,55%,80%)); }
article.card { display: grid; grid-template-columns: 268px 1fr; gap: 18px; border-top: 1px solid var(--line); padding: 18px 0; scroll-margin-top: 52px; }
article.card:target { background: #f5f8ff; box-shadow: 0 0 0 6px #f5f8ff; border-radius: 4px; }
.thumb img { display: block; max-width: 256px; height: auto; border-radius: 6px; border: 1px solid var(--line); background: #eee; }
.thumb .missing { width: 256px; height: 160px; border-radius: 6px; border: 1px dashed #c0c6d0; display: flex;
  align-items: center; justify-content: center; text-align: center; color: var(--muted); font-size: 12px; padding: 10px; }
.card-head { display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap; margin-bottom: 8px; }
.card-head .path { color: var(--muted); font-size: 12px; overflow-wrap: anywhere; }
.card-head .up { margin-left: auto; font-size: 12px; }
.truth { background: #f4f9f4; border-left: 3px solid #3f8f5a; padding: 6px 10px; border-radius: 0 6px 6px 0; margin-bottom: 10px; }
.truth .tag { font-size: 11px; text-transform: uppercase; letter-spacing: .06em; color: #3f8f5a; font-weight: 700; }
.truth p { margin: 2px 0; }
table.captions { width: 100%; }
table.captions td, table.captions th { padding: 5px 8px; border-bottom: 1px solid #f0f1f4; vertical-align: top; text-align: left; }
table.captions th.who { width: 210px; font-weight: 600; font-size: 12.5px; white-space: nowrap; }
table.captions th.who .who-label { display: block; font-weight: 400; color: var(--muted); font-size: 11.5px; white-space: normal;
  font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; }
table.captions td.caption { overflow-wrap: anywhere; }
table.captions td.score { width: 84px; text-align: right; }
table.captions tr.best td.caption { font-weight: 600; }
table.captions tr.best th.who::after { content: " \2605"; color: #c58a00; }
ol.alternatives { margin: 4px 0 0; padding-left: 22px; color: #475467; font-size: 13px; }
.chip { display: inline-block; min-width: 58px; text-align: center; padding: 1px 6px; border-radius: 5px;
  font-variant-numeric: tabular-nums; font-weight: 600; font-size: 12.5px; border: 1px solid transparent; }
.chip.none { background: #f2f4f7; color: #98a2b3; font-weight: 400; }
footer { color: var(--muted); font-size: 12px; padding: 8px 0 40px; }
@media (max-width: 760px) { article.card { grid-template-columns: 1fr; } .charts { grid-template-columns: 1fr; } }
)css";

const char* const kPageScript = R"js(
(function () {
  function key(cell) {
    var v = cell.getAttribute('data-sort');
    if (v === null) return { text: cell.textContent.trim().toLowerCase() };
    return v === '' ? { missing: true } : { number: parseFloat(v) };
  }
  function compare(a, b, direction) {
    if (a.missing || b.missing) return a.missing === b.missing ? 0 : (a.missing ? 1 : -1);
    if ('number' in a) return (a.number - b.number) * direction;
    return a.text < b.text ? -direction : a.text > b.text ? direction : 0;
  }
  document.querySelectorAll('table.sortable').forEach(function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, column) {
      th.title = 'sort by this column';
      th.addEventListener('click', function () {
        var numeric = th.classList.contains('num');
        var direction = th.getAttribute('aria-sort') === (numeric ? 'descending' : 'ascending') ? (numeric ? 1 : -1) : (numeric ? -1 : 1);
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (r, s) { return compare(key(r.cells[column]), key(s.cells[column]), direction); });
        rows.forEach(function (r) { body.appendChild(r); });
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', direction < 0 ? 'descending' : 'ascending');
      });
    });
  });
})();
)js";

}  // namespace capbench::report
