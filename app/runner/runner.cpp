#include "app/runner/runner.h"

#include <ATen/ATen.h>
#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "app/experiment/run_id.h"
#include "core/error.h"
#include "core/image/image_error.h"
#include "core/log.h"

namespace capbench {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

bool has(const std::vector<std::string>& list, const std::string& x) {
  return std::find(list.begin(), list.end(), x) != list.end();
}

// The metrics scored image by image as captions are made (they need no other image).
bool is_incremental(const std::string& metric) { return metric == "cosine"; }

StoredRun stored(const RunSpec& run, int64_t position) {
  nlohmann::json differing = nlohmann::json::object();
  for (const auto& [key, value] : run.differing) differing[key] = nlohmann::json::parse(value);
  return {run.id, position, run.label, run.variant, run.settings_json, differing.dump()};
}

// Captions for the rows of `soft_prompt`. Sampling runs go one image at a time,
// each from the run's seed, so that an image's captions are those of
// torch.manual_seed(seed) + transformers' generate on that image alone: they
// never depend on the batch, the shard or an interruption.
std::vector<std::vector<Caption>> caption_rows(CaptionSide& side, const at::Tensor& soft_prompt,
                                               const GenerationOptions& options) {
  if (!options.do_sample) return side.captions(soft_prompt, options);
  std::vector<std::vector<Caption>> out;
  for (int64_t i = 0; i < soft_prompt.size(0); ++i) out.push_back(side.captions(soft_prompt.narrow(0, i, 1), options).at(0));
  return out;
}

// A file's size and modification time: an image skipped in an earlier call is
// tried again once this changes (the user replaced or repaired it).
std::string file_stamp(const std::filesystem::path& file) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  if (ec) return "missing";
  const auto time = std::filesystem::last_write_time(file, ec);
  return std::to_string(size) + ":" + std::to_string(time.time_since_epoch().count());
}

// The soft prompts of `chunk`. An image whose file fails (ImageError) is taken
// out of `chunk` and added to `failed` when skipping, and the rest are encoded
// together again; without skipping the first such error ends the call.
at::Tensor encode_images(ImageSide& side, std::vector<const DatasetItem*>& chunk, bool skip,
                         std::vector<StoredSkip>& failed) {
  while (!chunk.empty()) {
    std::vector<std::filesystem::path> paths;
    for (const DatasetItem* item : chunk) paths.push_back(item->image);
    try {
      return side.soft_prompts(paths);
    } catch (const ImageError& e) {
      auto bad = std::find_if(chunk.begin(), chunk.end(), [&](const DatasetItem* item) { return item->image == e.file(); });
      if (bad == chunk.end()) throw;
      if (!skip) throw Error(std::string(e.what()) + " (set on_error = \"skip\" in the dataset table to leave such images out)");
      log::warn("{}: {}; image skipped (table skipped)", e.file().string(), e.problem());
      failed.push_back({e.file().string(), e.problem(), (*bad)->id, file_stamp((*bad)->image)});
      chunk.erase(bad);
    }
  }
  return {};
}

// One run's results for one batch, written with the others of the batch.
struct BatchResult {
  std::vector<StoredPrediction> predictions;
  std::vector<StoredScore> scores;
};

BatchResult caption_batch(const RunSpec& run, CaptionSide& side, const at::Tensor& soft_prompts,
                          const std::vector<const DatasetItem*>& chunk, const std::set<std::string>& done,
                          double image_seconds_each, const Scoring* scoring) {
  std::vector<int64_t> rows;
  std::vector<const DatasetItem*> items;
  for (size_t i = 0; i < chunk.size(); ++i)
    if (!done.count(chunk[i]->id)) {
      rows.push_back(static_cast<int64_t>(i));
      items.push_back(chunk[i]);
    }
  at::Tensor prompts = rows.size() == chunk.size()
                           ? soft_prompts
                           : soft_prompts.index_select(0, at::tensor(rows, at::kLong).to(soft_prompts.device()));
  auto start = Clock::now();
  auto captions = caption_rows(side, prompts, run.generate);
  if (captions.size() != items.size())
    throw Error("decoder '" + run.decoder.plugin + "' returned " + std::to_string(captions.size()) + " caption lists for " +
                std::to_string(items.size()) + " images");
  double seconds_each = since(start) / static_cast<double>(items.size()) + image_seconds_each;

  BatchResult result;
  std::vector<std::string> predictions;
  std::vector<std::vector<std::string>> references;
  std::vector<std::string> scored_ids;
  for (size_t i = 0; i < items.size(); ++i) {
    if (captions[i].empty()) throw Error("decoder '" + run.decoder.plugin + "' returned no caption for " + items[i]->id);
    for (size_t rank = 0; rank < captions[i].size(); ++rank) {
      const Caption& c = captions[i][rank];
      result.predictions.push_back({run.id, items[i]->id, static_cast<int64_t>(rank), c.text, c.ids, c.score,
                                    rank == 0 ? seconds_each : 0.0});
    }
    if (!items[i]->references.empty()) {
      predictions.push_back(captions[i][0].text);
      references.push_back(items[i]->references);
      scored_ids.push_back(items[i]->id);
    }
  }
  if (scoring && !predictions.empty()) {
    std::vector<std::string> incremental;
    for (const auto& m : scoring->metrics)
      if (is_incremental(m)) incremental.push_back(m);
    if (!incremental.empty())
      for (const MetricScores& m : scoring->compute(incremental, predictions, references))
        for (size_t i = 0; i < scored_ids.size(); ++i) result.scores.push_back({run.id, scored_ids[i], m.metric, m.per_image.at(i)});
  }
  return result;
}

void finalize_run(ResultsStore& store, const Scoring* scoring, const std::string& run,
                  const std::vector<StoredImage>& images) {
  std::map<std::string, std::string> caption;
  for (const StoredPrediction& p : store.predictions(run))
    if (p.rank == 0) caption[p.image] = p.caption;
  bool complete = !images.empty();
  for (const StoredImage& image : images) complete = complete && caption.count(image.id);
  if (!complete || !scoring) {
    store.begin();
    store.clear_run_metrics(run);
    store.commit();
    return;
  }
  std::vector<std::string> ids, predictions;
  std::vector<std::vector<std::string>> references;
  for (const StoredImage& image : images) {
    if (image.references.empty()) continue;
    ids.push_back(image.id);
    predictions.push_back(caption[image.id]);
    references.push_back(image.references);
  }
  std::map<std::string, std::map<std::string, double>> stored_scores;  // metric -> image -> value
  for (const StoredScore& s : store.scores(run)) stored_scores[s.metric][s.image] = s.value;

  std::vector<std::string> to_compute;
  for (const std::string& metric : scoring->metrics) {
    bool all_stored = is_incremental(metric);
    for (const std::string& id : ids) all_stored = all_stored && stored_scores[metric].count(id);
    if (!all_stored) to_compute.push_back(metric);
  }
  std::vector<MetricScores> computed;
  if (!to_compute.empty() && !ids.empty()) computed = scoring->compute(to_compute, predictions, references);

  store.begin();
  try {
    store.clear_run_metrics(run);
    for (const MetricScores& m : computed) {
      for (size_t i = 0; i < ids.size(); ++i) store.put_score({run, ids[i], m.metric, m.per_image.at(i)});
      // Incremental metrics are means over images; the others have their own corpus formula.
      double value = m.corpus;
      if (is_incremental(m.metric)) {
        value = 0;
        for (double v : m.per_image) value += v;
        value /= static_cast<double>(m.per_image.size());
      }
      store.put_run_metric({run, m.metric, value, static_cast<int64_t>(ids.size())});
    }
    for (const std::string& metric : scoring->metrics) {
      if (has(to_compute, metric) || ids.empty()) continue;
      double sum = 0;
      for (const std::string& id : ids) sum += stored_scores[metric][id];
      store.put_run_metric({run, metric, sum / static_cast<double>(ids.size()), static_cast<int64_t>(ids.size())});
    }
    store.commit();
  } catch (...) {
    store.rollback();
    throw;
  }
}

}  // namespace

std::vector<DatasetItem> select_shard(const std::vector<DatasetItem>& items, int64_t index, int64_t count) {
  if (count < 1 || index < 1 || index > count)
    throw UsageError("--shard must be K/N with 1 <= K <= N (got " + std::to_string(index) + "/" + std::to_string(count) + ")");
  if (count == 1) return items;
  std::vector<DatasetItem> out;
  for (const DatasetItem& item : items)
    if (static_cast<int64_t>(fnv1a64(item.id) % static_cast<uint64_t>(count)) == index - 1) out.push_back(item);
  return out;
}

std::set<std::string> images_left_out(const ResultsStore& store, const std::vector<DatasetItem>& items,
                                      bool skip_errors) {
  std::set<std::string> out;
  if (!skip_errors) return out;
  std::map<std::string, std::string> stamps;  // image id -> stamp when skipped
  for (const StoredSkip& skip : store.skipped())
    if (!skip.image.empty()) stamps[skip.image] = skip.stamp;
  for (const DatasetItem& item : items) {
    auto it = stamps.find(item.id);
    if (it != stamps.end() && it->second == file_stamp(item.image)) out.insert(item.id);
  }
  return out;
}

std::vector<const RunSpec*> select_runs(const Experiment& experiment, const std::vector<std::string>& ids) {
  std::vector<const RunSpec*> runs;
  if (ids.empty()) {
    for (const RunSpec& r : experiment.runs) runs.push_back(&r);
  } else {
    for (const std::string& id : ids) runs.push_back(&experiment.run(id));
  }
  return runs;
}

std::vector<std::vector<const RunSpec*>> group_by_image_side(const std::vector<const RunSpec*>& runs) {
  std::vector<std::vector<const RunSpec*>> groups;
  for (const RunSpec* run : runs) {
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const auto& g) { return g.front()->image_side_key == run->image_side_key; });
    if (it == groups.end())
      groups.push_back({run});
    else
      it->push_back(run);
  }
  return groups;
}

int64_t pending_work(const std::vector<const RunSpec*>& runs, const std::vector<DatasetItem>& items,
                     const ResultsStore& store, bool skip_errors) {
  const std::set<std::string> left_out = images_left_out(store, items, skip_errors);
  int64_t pending = 0;
  for (const RunSpec* run : runs) {
    std::set<std::string> done = store.images_done(run->id);
    for (const DatasetItem& item : items) pending += done.count(item.id) || left_out.count(item.id) ? 0 : 1;
  }
  return pending;
}

RunnerReport run_sweep(const Experiment& experiment, const Dataset& dataset, ComponentFactory& components,
                       const Scoring* scoring, ResultsStore& store, const RunnerOptions& options) {
  auto start = Clock::now();
  if (options.batch_size < 1) throw UsageError("--batch-size must be at least 1");
  std::vector<const RunSpec*> runs = select_runs(experiment, options.run_ids);
  std::vector<DatasetItem> items = select_shard(dataset.items, options.shard_index, options.shard_count);
  RunnerReport report;
  report.runs_total = static_cast<int64_t>(runs.size());
  report.images = static_cast<int64_t>(items.size());
  // Images skipped by an earlier call whose files have not changed since stay out;
  // the others (repaired, or on_error = "fail" now) are tried again.
  std::set<std::string> left_out = images_left_out(store, items, dataset.skip_errors);
  std::set<std::string> retried;  // skipped before, tried again now
  for (const StoredSkip& skip : store.skipped())
    if (!skip.image.empty() && !left_out.count(skip.image)) retried.insert(skip.image);

  store.begin();
  try {
    store.set_meta("experiment", experiment.name);
    store.set_meta("metrics", nlohmann::json(scoring ? scoring->metrics : std::vector<std::string>{}).dump());
    store.set_meta("shard", std::to_string(options.shard_index) + "/" + std::to_string(options.shard_count));
    for (const RunSpec* run : runs)
      store.put_run(stored(*run, static_cast<int64_t>(run - experiment.runs.data())));
    for (const DatasetItem& item : items) {
      if (left_out.count(item.id)) continue;
      if (retried.count(item.id)) store.unskip_image(item.id);
      store.put_image({item.id, item.image.string(), item.references});
    }
    for (const SkippedItem& skip : dataset.skipped) store.put_skip({skip.where, skip.message});
    store.commit();
  } catch (...) {
    store.rollback();
    throw;
  }

  std::map<std::string, std::set<std::string>> done;
  for (const RunSpec* run : runs) done[run->id] = store.images_done(run->id);
  auto runs_complete = [&] {
    int64_t n = 0;
    for (const RunSpec* run : runs) {
      bool complete = true;
      for (const DatasetItem& item : items) complete = complete && (done[run->id].count(item.id) || left_out.count(item.id));
      n += complete ? 1 : 0;
    }
    return n;
  };

  std::vector<std::vector<const RunSpec*>> groups = group_by_image_side(runs);

  int64_t work_done = 0;
  if (options.progress) options.progress->update(0, runs_complete());
  const auto batch = static_cast<size_t>(options.batch_size);
  for (const auto& group : groups) {
    if (report.interrupted) break;
    std::unique_ptr<ImageSide> image_side;
    std::map<std::string, std::unique_ptr<CaptionSide>> decoders;  // by decoder key
    for (size_t first = 0; first < items.size(); first += batch) {
      // Batches are fixed slices of the shard's order; images left out leave a smaller batch.
      std::vector<const DatasetItem*> chunk;
      for (size_t i = first; i < std::min(items.size(), first + batch); ++i)
        if (!left_out.count(items[i].id)) chunk.push_back(&items[i]);
      std::vector<const RunSpec*> pending;
      for (const RunSpec* run : group)
        for (const DatasetItem* item : chunk)
          if (!done[run->id].count(item->id)) {
            pending.push_back(run);
            break;
          }
      if (pending.empty()) continue;
      if (options.stop && options.stop->load()) {
        report.interrupted = true;
        break;
      }
      if (!image_side) image_side = components.image_side(*group.front());
      auto image_start = Clock::now();
      std::vector<StoredSkip> failed;
      at::Tensor soft_prompts = encode_images(*image_side, chunk, dataset.skip_errors, failed);
      // The image side's time, shared by every run that uses this batch.
      double image_seconds_each =
          since(image_start) / static_cast<double>(std::max<size_t>(chunk.size(), 1) * pending.size());

      std::vector<BatchResult> results;
      if (!chunk.empty())
        for (const RunSpec* run : pending) {
          auto& decoder = decoders[run->decoder.key];
          if (!decoder) decoder = components.caption_side(*run);
          results.push_back(caption_batch(*run, *decoder, soft_prompts, chunk, done[run->id], image_seconds_each, scoring));
        }
      store.begin();
      try {
        for (const StoredSkip& skip : failed) store.skip_image(skip);
        for (const BatchResult& r : results) {
          for (const StoredPrediction& p : r.predictions) store.put_prediction(p);
          for (const StoredScore& s : r.scores) store.put_score(s);
        }
        store.commit();
      } catch (...) {
        store.rollback();
        throw;
      }
      for (const StoredSkip& skip : failed) {
        left_out.insert(skip.image);
        for (auto& [run, images] : done) images.erase(skip.image);  // skip_image dropped its captions
      }
      for (const BatchResult& r : results)
        for (const StoredPrediction& p : r.predictions)
          if (p.rank == 0) {
            done[p.run].insert(p.image);
            ++work_done;
          }
      if (options.progress) options.progress->update(work_done, runs_complete());
    }
  }
  std::vector<std::string> ids;
  for (const RunSpec* run : runs) ids.push_back(run->id);
  if (!report.interrupted) finalize_runs(store, scoring, ids);
  report.predictions_made = work_done;
  report.runs_complete = runs_complete();
  report.images_skipped = static_cast<int64_t>(left_out.size());
  report.seconds = since(start);
  if (options.progress) options.progress->finish();
  return report;
}

void finalize_runs(ResultsStore& store, const Scoring* scoring, const std::vector<std::string>& run_ids) {
  std::vector<StoredImage> images = store.images();
  std::vector<std::string> ids = run_ids;
  if (ids.empty())
    for (const StoredRun& run : store.runs()) ids.push_back(run.id);
  for (const std::string& id : ids) finalize_run(store, scoring, id, images);
}

}  // namespace capbench
