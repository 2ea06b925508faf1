#include "app/report/report_page.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>

#include "app/report/html.h"
#include "app/report/page_assets.h"
#include "app/report/svg_chart.h"

namespace capbench::report {

namespace {

constexpr size_t kMaxSweepCharts = 3;

// Tableau 10: one colour per run, by rank, in the leaderboard, charts and gallery.
const char* const kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

std::string run_color(size_t rank) { return kPalette[rank % (sizeof kPalette / sizeof *kPalette)]; }

// ColorBrewer Dark2 for the lines of a sweep chart: they stand for groups of runs, not runs.
const char* const kSeriesPalette[] = {"#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#a6761d", "#666666"};

std::string series_color(size_t line) { return kSeriesPalette[line % (sizeof kSeriesPalette / sizeof *kSeriesPalette)]; }

std::string fixed(double v, int decimals = 4) {
  char text[48];
  std::snprintf(text, sizeof text, "%.*f", decimals, v);
  return text;
}

std::string sort_key(double v) {
  char text[48];
  std::snprintf(text, sizeof text, "%.9g", v);
  return text;
}

// Run ids are 12 hex digits when capbench wrote them; escaped all the same, since the database is input.
std::string run_anchor(const RunReport& r) { return "run-" + html_escape(r.ranked.run.id); }
std::string image_anchor(size_t i) { return "img-" + std::to_string(i); }

// Red (low) through amber to green (high) over the range of the shown scores.
std::string score_style(double score, std::pair<double, double> range) {
  const double span = range.second - range.first;
  const double t = span > 0 ? std::clamp((score - range.first) / span, 0.0, 1.0) : 0.5;
  const int hue = static_cast<int>(std::lround(120 * t));
  return "background:hsl(" + std::to_string(hue) + ",70%,85%);border-color:hsl(" + std::to_string(hue) +
         ",45%,62%);color:hsl(" + std::to_string(hue) + ",60%,20%)";
}

// Whether the run-level value is the mean of the per-image scores (then the
// interval of that mean belongs on the bar).
bool is_mean_of_images(const RunReport& r, const std::string& metric) {
  auto value = r.ranked.metrics.find(metric);
  auto summary = r.summaries.find(metric);
  if (value == r.ranked.metrics.end() || summary == r.summaries.end()) return false;
  return std::abs(value->second - summary->second.mean) <= 1e-6 * std::max(1.0, std::abs(value->second));
}

std::string spread_text(const RunReport& r, const std::string& metric) {
  auto s = r.summaries.find(metric);
  if (s == r.summaries.end() || s->second.n == 0) return "no per-image scores";
  const ScoreSummary& m = s->second;
  std::string out = "per-image mean " + fixed(m.mean) + ", 95% interval " + fixed(m.low) + " to " + fixed(m.high) +
                    " over " + std::to_string(m.n) + " images; quartiles " + fixed(m.q1, 3) + " / " + fixed(m.median, 3) +
                    " / " + fixed(m.q3, 3);
  return out;
}

std::string header(const ReportModel& model) {
  std::string out = "<header class=\"top\"><div class=\"wrap\"><div class=\"kicker\">capbench report</div><h1>" +
                    html_escape(model.experiment) + "</h1><p class=\"lede\">" + std::to_string(model.runs.size()) +
                    (model.runs.size() == 1 ? " run" : " runs") + " \u00b7 " + std::to_string(model.images_total) +
                    " images";
  if (!model.metric.empty()) {
    out += " \u00b7 ranked by <b>" + html_escape(model.metric) + "</b> (higher is better)";
    if (!model.runs.empty() && model.runs.front().ranked.metrics.count(model.metric))
      out += " \u00b7 best: <b>" + html_escape(model.runs.front().label) + "</b> at " +
             fixed(model.runs.front().ranked.metrics.at(model.metric));
  }
  out += "</p><dl class=\"facts\">";
  for (const auto& [what, value] : model.facts)
    out += "<div><dt>" + html_escape(what) + "</dt><dd>" + html_escape(value) + "</dd></div>";
  return out + "</dl></div></header>";
}

std::string leaderboard(const ReportModel& model) {
  std::string out = "<section id=\"leaderboard\"><h2>Leaderboard</h2><p class=\"note\">";
  out += model.metric.empty() ? std::string("Nothing is scored yet: runs in the experiment's order.")
                              : "Ranked by " + html_escape(model.metric) +
                                    " as <code>capbench leaderboard</code> ranks them; click a column to sort. "
                                    "\u00b1: half the 95 % interval of the mean over images.";
  out += "</p><table class=\"board sortable\"><thead><tr><th class=\"num\">#</th><th>run</th><th>settings</th>";
  for (const std::string& m : model.metrics)
    out += "<th class=\"num" + std::string(m == model.metric ? " key" : "") + "\">" + html_escape(m) + "</th>";
  out += "<th class=\"num\">images/s</th><th class=\"num\">captioned</th><th class=\"num\">scored</th><th>state</th>"
         "</tr></thead><tbody>";
  for (size_t i = 0; i < model.runs.size(); ++i) {
    const RunReport& r = model.runs[i];
    const RankedRun& k = r.ranked;
    out += "<tr id=\"" + run_anchor(r) + "\"><td class=\"num\" data-sort=\"" + std::to_string(i + 1) + "\">" +
           std::to_string(i + 1) + "</td><td><span class=\"swatch\" style=\"background:" + run_color(i) +
           "\"></span><span class=\"id\">" + html_escape(k.run.id) + "</span></td><td class=\"settings\">" +
           html_escape(r.label) + "</td>";
    for (const std::string& m : model.metrics) {
      auto v = k.metrics.find(m);
      const std::string cls = "num" + std::string(m == model.metric ? " key" : "");
      if (v == k.metrics.end()) {
        out += "<td class=\"" + cls + "\" data-sort=\"\"><span class=\"muted\">\u2013</span></td>";
        continue;
      }
      std::string pm;
      if (is_mean_of_images(r, m) && r.summaries.at(m).n >= 2)
        pm = " <span class=\"pm\">\u00b1" + fixed((r.summaries.at(m).high - r.summaries.at(m).low) / 2, 3) + "</span>";
      out += "<td class=\"" + cls + "\" data-sort=\"" + sort_key(v->second) + "\" title=\"" +
             html_escape(spread_text(r, m)) + "\">" + fixed(v->second) + pm + "</td>";
    }
    out += "<td class=\"num\" data-sort=\"" + sort_key(k.images_per_second) + "\">" + fixed(k.images_per_second, 2) +
           "</td><td class=\"num\" data-sort=\"" + std::to_string(k.images_done) + "\">" +
           std::to_string(k.images_done) + "/" + std::to_string(k.images_total) + "</td><td class=\"num\" data-sort=\"" +
           std::to_string(k.images_scored) + "\">" + std::to_string(k.images_scored) + "</td><td>" +
           (k.complete() ? "<span class=\"badge complete\">complete</span>"
                         : "<span class=\"badge incomplete\">incomplete</span>") +
           "</td></tr>";
  }
  return out + "</tbody></table></section>";
}

std::string figure(const std::string& title, const std::string& svg, const std::string& caption) {
  return "<figure class=\"chart-box\"><h3>" + html_escape(title) + "</h3>" + svg + "<figcaption>" +
         html_escape(caption) + "</figcaption></figure>";
}

svg::Mark run_mark(const ReportModel& model, size_t i) {
  const RunReport& r = model.runs[i];
  svg::Mark mark;
  auto v = r.ranked.metrics.find(model.metric);
  mark.y = v == r.ranked.metrics.end() ? std::numeric_limits<double>::quiet_NaN() : v->second;
  if (is_mean_of_images(r, model.metric) && r.summaries.at(model.metric).n >= 2)
    mark.interval = std::make_pair(r.summaries.at(model.metric).low, r.summaries.at(model.metric).high);
  mark.x = r.ranked.images_per_second;
  mark.label = "#" + std::to_string(i + 1);
  mark.tooltip = "#" + std::to_string(i + 1) + " " + r.label + " (" + r.ranked.run.id + ")\n" +
                 (std::isnan(mark.y) ? "no " + model.metric + " yet" : model.metric + " " + fixed(mark.y)) + ", " +
                 fixed(r.ranked.images_per_second, 2) + " images/s\n" + spread_text(r, model.metric);
  mark.href = "#" + run_anchor(r);
  mark.color = run_color(i);
  return mark;
}

std::string charts(const ReportModel& model) {
  std::string out = "<section id=\"charts\"><h2>Charts</h2>";
  if (model.metric.empty() || model.runs.empty())
    return out + "<p class=\"note\">Nothing to chart: no run is scored yet.</p></section>";
  out += "<p class=\"note\">Hover a mark for its run and numbers; click it to find the run in the leaderboard.</p>"
         "<div class=\"charts\">";
  std::vector<svg::Mark> bars, points;
  for (size_t i = 0; i < model.runs.size(); ++i) {
    svg::Mark mark = run_mark(model, i);
    svg::Mark bar = mark;
    bar.label = mark.label + "  " + model.runs[i].label;
    bars.push_back(bar);
    if (!std::isnan(mark.y) && mark.x > 0) points.push_back(mark);
  }
  out += figure(model.metric + " per run", svg::bar_chart(bars, model.metric),
                "Best first. Whiskers: the 95 % interval of the mean over images, for metrics that are a mean of "
                "per-image scores; the tooltip has the quartiles.");
  if (!points.empty())
    out += figure(model.metric + " against speed", svg::scatter_chart(points, "images per second", model.metric),
                  "Each run a point, labelled by rank. The dashed line joins the runs that no other run beats on both "
                  "quality and speed. Speed: captioning time stored with each image (the image side shared by runs is "
                  "split among them).");
  size_t drawn = 0;
  for (const SettingSweep& sweep : model.sweeps) {
    if (drawn++ == kMaxSweepCharts) break;
    std::vector<svg::Series> series;
    for (size_t l = 0; l < sweep.lines.size(); ++l) {
      svg::Series s{sweep.lines[l].name.empty() ? "all runs" : sweep.lines[l].name, series_color(l), {}};
      for (const auto& [value, run] : sweep.lines[l].points) {
        svg::Mark mark = run_mark(model, run);
        if (std::isnan(mark.y)) continue;
        mark.x = value;
        s.points.push_back(mark);
      }
      if (!s.points.empty()) series.push_back(std::move(s));
    }
    if (series.empty()) continue;
    out += figure(model.metric + " along " + sweep.key, svg::line_chart(series, sweep.key, model.metric),
                  "One line per combination of the other settings that differ; whiskers as in the bars.");
  }
  return out + "</div></section>";
}

std::string jump_list(const ReportModel& model, const std::vector<size_t>& images, const std::string& title,
                      const std::string& hint, bool disagreement) {
  std::string out = "<div><h3>" + html_escape(title) + "</h3><p>" + html_escape(hint) + "</p>";
  if (images.empty()) return out + "<p>none</p></div>";
  out += "<ol class=\"chips\">";
  for (size_t i : images) {
    const ImageReport& image = model.images[i];
    const double value = disagreement ? *image.disagreement : *image.runs.front().score;
    out += "<li><a href=\"#" + image_anchor(i) + "\">" + html_escape(image.image.id) + "<span>" + fixed(value, 3) +
           "</span></a></li>";
  }
  return out + "</ol></div>";
}

std::string card(const ReportModel& model, size_t index, const std::optional<Thumbnail>& thumbnail) {
  const ImageReport& image = model.images[index];
  std::string out = "<article class=\"card\" id=\"" + image_anchor(index) + "\"><div class=\"thumb\">";
  if (thumbnail)
    out += "<img src=\"" + thumbnail->data_uri + "\" width=\"" + std::to_string(thumbnail->width) + "\" height=\"" +
           std::to_string(thumbnail->height) + "\" alt=\"" + html_escape(image.image.id) + "\" decoding=\"async\">";
  else
    out += "<div class=\"missing\">image not readable:<br>" + html_escape(image.image.path) + "</div>";
  out += "</div><div class=\"card-body\"><div class=\"card-head\"><h3>" + html_escape(image.image.id) +
         "</h3><span class=\"path\" title=\"" + html_escape(image.image.path) + "\">" +
         html_escape(std::filesystem::path(image.image.path).filename().string()) + "</span>";
  if (image.disagreement)
    out += "<span class=\"badge\" title=\"best minus worst " + html_escape(model.metric) + " over the runs\">spread " +
           fixed(*image.disagreement, 3) + "</span>";
  out += "<a class=\"up\" href=\"#gallery\">\u2191 gallery</a></div>";
  out += "<div class=\"truth\"><span class=\"tag\">ground truth</span>";
  if (image.image.references.empty()) out += "<p class=\"muted\">none in the dataset</p>";
  for (const std::string& reference : image.image.references) out += "<p>" + html_escape(reference) + "</p>";
  out += "</div><table class=\"captions\"><tbody>";
  std::optional<double> best;
  for (const RunOnImage& r : image.runs)
    if (r.score && (!best || *r.score > *best)) best = r.score;
  for (size_t i = 0; i < image.runs.size(); ++i) {
    const RunOnImage& r = image.runs[i];
    const RunReport& run = model.runs[i];
    const bool is_best = r.score && best && *r.score == *best && image.runs.size() > 1;
    out += std::string("<tr") + (is_best ? " class=\"best\"" : "") + "><th class=\"who\"><a href=\"#" +
           run_anchor(run) + "\"><span class=\"swatch\" style=\"background:" + run_color(i) + "\"></span>#" +
           std::to_string(i + 1) + "</a><span class=\"who-label\">" + html_escape(run.label) +
           "</span></th><td class=\"caption\">";
    if (r.captions.empty()) {
      out += "<span class=\"muted\">not captioned yet</span>";
    } else {
      out += html_escape(r.captions.front());
      if (r.captions.size() > 1) {
        out += "<ol class=\"alternatives\" start=\"2\">";
        for (size_t c = 1; c < r.captions.size(); ++c) out += "<li>" + html_escape(r.captions[c]) + "</li>";
        out += "</ol>";
      }
    }
    out += "</td><td class=\"score\">";
    if (r.score)
      out += "<span class=\"chip\" style=\"" + score_style(*r.score, model.score_range) + "\">" + fixed(*r.score, 3) +
             "</span>";
    else
      out += "<span class=\"chip none\">\u2013</span>";
    out += "</td></tr>";
  }
  return out + "</tbody></table></div></article>";
}

std::string gallery(const ReportModel& model, const std::vector<std::optional<Thumbnail>>& thumbnails) {
  std::string out = "<section id=\"gallery\"><h2>Gallery</h2><p class=\"note\">";
  out += "Every image with its ground truth and each run's captions, best run first";
  if (!model.metric.empty()) out += "; the chip is the image's " + html_escape(model.metric) + ", \u2605 the best on it";
  out += ". ";
  if (model.images.size() < model.images_total)
    out += "Showing " + std::to_string(model.images.size()) + " of " + std::to_string(model.images_total) +
           " images (--max-images): the ones linked below first, then by id.";
  out += "</p>";
  if (!model.metric.empty() && !model.runs.empty()) {
    const std::string top = "#1 " + model.runs.front().label;
    out += "<div class=\"jumps\">" +
           jump_list(model, model.most_disagreement, "Where the runs disagree most",
                     "best minus worst " + model.metric + " over the runs", true) +
           jump_list(model, model.best_of_top, "Best images of #1", top, false) +
           jump_list(model, model.worst_of_top, "Worst images of #1", top, false) + "</div>";
    out += "<div class=\"scale\">score colour: <span>" + fixed(model.score_range.first, 3) +
           "</span><span class=\"ramp\"></span><span>" + fixed(model.score_range.second, 3) +
           "</span> (5th to 95th percentile of the scores shown)</div>";
  }
  if (model.images.empty()) out += "<p class=\"muted\">The database has no images yet.</p>";
  for (size_t i = 0; i < model.images.size(); ++i)
    out += "\n" + card(model, i, i < thumbnails.size() ? thumbnails[i] : std::nullopt);
  return out + "</section>";
}

std::string warnings(const ReportModel& model) {
  std::string out;
  size_t incomplete = 0;
  for (const RunReport& r : model.runs) incomplete += !r.ranked.complete();
  if (incomplete)
    out += "<p class=\"warn\">" + std::to_string(incomplete) + " of " + std::to_string(model.runs.size()) +
           " runs are incomplete: their numbers cover the images captioned so far.</p>";
  if (!model.skipped.empty())
    out += "<p class=\"warn\">" + std::to_string(model.skipped.size()) +
           " dataset items were skipped (first: " + html_escape(model.skipped.front().where) + ": " +
           html_escape(model.skipped.front().message) + ").</p>";
  return out;
}

}  // namespace

std::string render_report_page(const ReportModel& model, const std::vector<std::optional<Thumbnail>>& thumbnails,
                               const std::string& written) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                    "<meta name=\"generator\" content=\"capbench report\"><title>" +
                    html_escape(model.experiment) + " \u00b7 capbench report</title><style>" + kPageStyle +
                    "</style></head>\n<body>";
  out += header(model);
  out += "<nav class=\"toc\"><div class=\"wrap\"><a href=\"#leaderboard\">Leaderboard</a><a href=\"#charts\">Charts</a>"
         "<a href=\"#gallery\">Gallery</a></div></nav><main class=\"wrap\">";
  out += warnings(model) + leaderboard(model) + "\n" + charts(model) + "\n" + gallery(model, thumbnails);
  out += "</main><footer class=\"wrap\">" + html_escape(written) +
         ". One self-contained file: it loads nothing from the network.</footer><script>" + kPageScript +
         "</script></body></html>\n";
  return out;
}

}  // namespace capbench::report
