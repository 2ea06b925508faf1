#include "app/report/report_model.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>

#include "app/runner/components.h"
#include "core/error.h"

namespace capbench::report {

namespace {

using nlohmann::json;

constexpr size_t kJumpLength = 10;  // images per jump list

std::string joined(const std::set<std::string>& parts, const std::string& separator = ", ") {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : separator) + p;
  return out;
}

std::string text_of(const json& value) { return value.is_string() ? value.get<std::string>() : value.dump(); }

// The runs `options.runs` names, in ranking order; every name must exist.
std::vector<RankedRun> selected_runs(const Ranking& ranking, const ReportOptions& options, const ResultsStore& store) {
  if (options.runs.empty()) return ranking.runs;
  std::set<std::string> wanted(options.runs.begin(), options.runs.end()), known;
  for (const RankedRun& r : ranking.runs) known.insert(r.run.id);
  for (const std::string& id : wanted)
    if (!known.count(id))
      throw Error("--runs: no run " + id + " in " + store.file().string() + " (runs: " + joined(known) + ")");
  std::vector<RankedRun> out;
  for (const RankedRun& r : ranking.runs)
    if (wanted.count(r.run.id)) out.push_back(r);
  return out;
}

// Header lines from the stored settings and meta keys (older databases lack some).
std::vector<std::pair<std::string, std::string>> header_facts(const ResultsStore& store, const ReportModel& model) {
  std::set<std::string> datasets, plugins, checkpoints, devices, varied;
  const std::string auto_device = store.meta("auto_device").value_or("");
  for (const RunReport& r : model.runs) {
    json settings = json::parse(r.ranked.run.settings_json);
    const json& dataset = settings.value("dataset", json::object());
    std::string d = dataset.value("kind", std::string("?"));
    if (dataset.contains("root")) d += " " + text_of(dataset["root"]);
    datasets.insert(d);
    std::string chain;
    for (const char* part : {"encoder", "bridge", "decoder"}) {
      const json& c = settings.value(part, json::object());
      chain += (chain.empty() ? "" : " \u2192 ") + c.value("plugin", std::string("?"));
      if (!c.value("checkpoint", std::string()).empty()) checkpoints.insert(c["checkpoint"].get<std::string>());
      std::string device = c.value("device", std::string("auto"));
      if (device == "auto" && !auto_device.empty()) device = auto_device;
      std::string dtype = c.value("dtype", std::string("auto"));
      if (dtype == "auto" && device != "auto") dtype = resolve_dtype(dtype, device);
      devices.insert(device + " " + dtype);
    }
    plugins.insert(chain);
    for (const auto& [key, value] : r.differing) varied.insert(key);
  }
  std::vector<std::pair<std::string, std::string>> facts;
  std::string images = std::to_string(model.images_total) + " images";
  if (!model.skipped.empty()) images += ", " + std::to_string(model.skipped.size()) + " items skipped";
  facts.push_back({"dataset", joined(datasets, " | ") + " \u00b7 " + images});
  facts.push_back({"model", joined(plugins, " | ")});
  facts.push_back({"checkpoints", checkpoints.empty() ? "none" : joined(checkpoints)});
  facts.push_back({"device / dtype", devices.empty() ? "no runs" : joined(devices)});
  std::string scorer = model.metrics.empty() ? std::string("nothing scored yet") : [&] {
    std::string m;
    for (const std::string& name : model.metrics) m += (m.empty() ? "" : ", ") + name;
    return m;
  }();
  if (auto checkpoint = store.meta("scorer_checkpoint"))
    scorer += " (embedder " + std::filesystem::path(*checkpoint).filename().string() + ")";
  facts.push_back({"metrics", scorer});
  if (!varied.empty()) facts.push_back({"swept", joined(varied)});
  facts.push_back({"captioned", store.meta("run_date").value_or("date not recorded") + " \u00b7 capbench " +
                                    store.meta("capbench_version").value_or("version not recorded")});
  if (auto shard = store.meta("shard"); shard && *shard != "1/1") facts.push_back({"shard", *shard});
  return facts;
}

std::vector<SettingSweep> numeric_sweeps(const std::vector<RunReport>& runs) {
  std::set<std::string> keys;
  for (const RunReport& r : runs)
    for (const auto& [key, value] : r.differing) keys.insert(key);
  std::vector<SettingSweep> sweeps;
  for (const std::string& key : keys) {
    std::set<double> values;
    bool numeric = true;
    for (const RunReport& r : runs) {
      auto it = r.differing.find(key);
      json v = it == r.differing.end() ? json() : json::parse(it->second);
      numeric = numeric && v.is_number();
      if (numeric) values.insert(v.get<double>());
    }
    if (!numeric || values.size() < 2) continue;
    SettingSweep sweep{key, {}};
    std::map<std::string, size_t> line_of;
    for (size_t i = 0; i < runs.size(); ++i) {
      std::string name;
      for (const auto& [other, value] : runs[i].differing)
        if (other != key) name += (name.empty() ? "" : " ") + other.substr(other.rfind('.') + 1) + "=" + value;
      auto [it, fresh] = line_of.emplace(name, sweep.lines.size());
      if (fresh) sweep.lines.push_back({name, {}});
      sweep.lines[it->second].points.push_back({json::parse(runs[i].differing.at(key)).get<double>(), i});
    }
    for (auto& line : sweep.lines) std::sort(line.points.begin(), line.points.end());
    sweeps.push_back(std::move(sweep));
  }
  return sweeps;
}

// Indices of the `count` images with the highest (or lowest) value of `key`, among those that have one.
template <typename Key>
std::vector<size_t> top_images(const std::vector<ImageReport>& images, size_t count, bool highest, Key key) {
  std::vector<size_t> order;
  for (size_t i = 0; i < images.size(); ++i)
    if (key(images[i])) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return highest ? *key(images[a]) > *key(images[b]) : *key(images[a]) < *key(images[b]);
  });
  order.resize(std::min(order.size(), count));
  return order;
}

// Keeps at most `limit` images: those of the jump lists first, then by id.
void limit_gallery(ReportModel& model, size_t limit) {
  if (limit == 0 || model.images.size() <= limit) return;
  std::set<size_t> keep;
  for (const auto* list : {&model.most_disagreement, &model.best_of_top, &model.worst_of_top})
    for (size_t i : *list)
      if (keep.size() < limit) keep.insert(i);
  for (size_t i = 0; i < model.images.size() && keep.size() < limit; ++i) keep.insert(i);
  std::map<size_t, size_t> new_index;
  std::vector<ImageReport> kept;
  for (size_t i : keep) {
    new_index[i] = kept.size();
    kept.push_back(std::move(model.images[i]));
  }
  model.images = std::move(kept);
  for (auto* list : {&model.most_disagreement, &model.best_of_top, &model.worst_of_top}) {
    std::vector<size_t> remapped;
    for (size_t i : *list)
      if (new_index.count(i)) remapped.push_back(new_index[i]);
    *list = remapped;
  }
}

}  // namespace

ReportModel build_report_model(const ResultsStore& store, const ReportOptions& options) {
  const Ranking ranking = rank_runs(store, options.metric);
  ReportModel model;
  model.metric = ranking.by;
  model.metrics = ranking.metrics;
  model.experiment = store.meta("experiment").value_or(store.file().parent_path().filename().string());
  model.skipped = store.skipped();

  std::map<std::string, size_t> run_index;
  for (RankedRun& ranked : selected_runs(ranking, options, store)) {
    RunReport r;
    r.label = ranked.run.label.empty() ? "base settings" : ranked.run.label;
    const json differing = json::parse(ranked.run.differing_json);
    for (const auto& [key, value] : differing.items()) r.differing[key] = value.dump();
    r.ranked = std::move(ranked);
    run_index[r.ranked.run.id] = model.runs.size();
    model.runs.push_back(std::move(r));
  }

  std::vector<StoredImage> images = store.images();
  model.images_total = images.size();
  std::map<std::string, size_t> image_index;
  for (StoredImage& image : images) {
    image_index[image.id] = model.images.size();
    model.images.push_back({std::move(image), std::vector<RunOnImage>(model.runs.size()), std::nullopt});
  }
  for (const StoredPrediction& p : store.predictions()) {
    auto run = run_index.find(p.run);
    auto image = image_index.find(p.image);
    if (run == run_index.end() || image == image_index.end()) continue;
    auto& captions = model.images[image->second].runs[run->second].captions;
    if (captions.size() <= static_cast<size_t>(p.rank)) captions.resize(p.rank + 1);
    captions[p.rank] = p.caption;
  }
  std::map<std::pair<size_t, std::string>, std::vector<double>> per_run;  // (run, metric) -> scores
  for (const StoredScore& s : store.scores()) {
    auto run = run_index.find(s.run);
    auto image = image_index.find(s.image);
    if (run == run_index.end() || image == image_index.end()) continue;
    per_run[{run->second, s.metric}].push_back(s.value);
    if (s.metric == model.metric) model.images[image->second].runs[run->second].score = s.value;
  }
  for (auto& [key, values] : per_run) model.runs[key.first].summaries[key.second] = summarize(values);

  std::vector<double> shown;
  for (ImageReport& image : model.images) {
    double lo = 0, hi = 0;
    size_t scored = 0;
    for (const RunOnImage& r : image.runs)
      if (r.score) {
        shown.push_back(*r.score);
        lo = scored ? std::min(lo, *r.score) : *r.score;
        hi = scored ? std::max(hi, *r.score) : *r.score;
        ++scored;
      }
    if (scored >= 2) image.disagreement = hi - lo;
  }
  std::sort(shown.begin(), shown.end());
  if (!shown.empty()) model.score_range = {quantile(shown, 0.05), quantile(shown, 0.95)};

  model.most_disagreement = top_images(model.images, kJumpLength, true, [](const ImageReport& i) {
    return i.disagreement && *i.disagreement > 0 ? i.disagreement : std::nullopt;
  });
  if (!model.runs.empty()) {
    auto top_score = [](const ImageReport& i) { return i.runs.front().score; };
    size_t scored = 0;
    for (const ImageReport& i : model.images) scored += top_score(i).has_value();
    const size_t count = std::min(kJumpLength, std::max<size_t>(1, scored / 2));
    model.best_of_top = top_images(model.images, count, true, top_score);
    model.worst_of_top = top_images(model.images, count, false, top_score);
  }
  model.sweeps = numeric_sweeps(model.runs);
  model.facts = header_facts(store, model);
  limit_gallery(model, options.max_images > 0 ? static_cast<size_t>(options.max_images) : 0);
  return model;
}

}  // namespace capbench::report
