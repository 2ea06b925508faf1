#include <algorithm>
#include <charconv>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "app/cli/command.h"
#include "core/csv.h"
#include "core/error.h"
#include "core/log.h"
#include "metrics/metrics.h"
#include "metrics/predictions_csv.h"
#include "metrics/scorer.h"

namespace capbench::cli {

namespace {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  size_t begin = 0;
  while (begin <= text.size()) {
    size_t end = std::min(text.find(',', begin), text.size());
    std::string item = text.substr(begin, end - begin);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) items.push_back(item);
    begin = end + 1;
  }
  return items;
}

std::string number_text(double value) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

void write_per_image(const std::string& file, const std::vector<std::string>& ids,
                     const std::vector<MetricScores>& scores) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(file + ": cannot write the per-image scores");
  std::vector<std::string> header{"imgId"};
  for (const MetricScores& s : scores) header.push_back(s.metric);
  write_csv_record(out, header);
  for (size_t i = 0; i < ids.size(); ++i) {
    std::vector<std::string> row{ids[i]};
    for (const MetricScores& s : scores) row.push_back(number_text(s.per_image[i]));
    write_csv_record(out, row);
  }
  if (!out.flush()) throw Error(file + ": writing the per-image scores failed");
}

}  // namespace

int run_score(const std::vector<std::string>& args) {
  po::options_description options("score options");
  options.add_options()("predictions", po::value<std::string>()->required(), "predictions CSV (imgId,prompt or image_id,caption)")(
      "truth", po::value<std::string>()->required(), "ground-truth CSV; several rows of one id are several references")(
      "scorer", po::value<std::string>(), "sentence-transformers folder for the cosine metric (all-MiniLM-L6-v2)")(
      "metrics", po::value<std::string>(),
      "comma-separated: cosine, bleu1..bleu4, rouge_l, cider, exact_match (default: cosine,bleu4,rouge_l,cider; "
      "without --scorer no cosine)")(
      "json", "print a JSON object {metric: value, ..., \"images\": N}")(
      "per-image", po::value<std::string>(), "also write every image's scores to this CSV file")(
      "device", po::value<std::string>()->default_value("auto"), "scorer device: cpu, cuda, cuda:N or auto")(
      "dtype", po::value<std::string>()->default_value("fp32"), "scorer dtype: fp32 or bf16 (fp16 on CUDA)")(
      "batch-size", po::value<int64_t>()->default_value(0), "scorer texts per forward pass (0: the plugin's default)");
  po::positional_options_description positional;
  positional.add("predictions", 1).add("truth", 1);
  po::variables_map vm;
  if (!parse(args, command("score"), options, positional, vm)) return 0;

  const std::string default_metrics = vm.count("scorer") ? "cosine,bleu4,rouge_l,cider" : "bleu4,rouge_l,cider";
  const std::vector<std::string> metrics =
      split_list(vm.count("metrics") ? vm["metrics"].as<std::string>() : default_metrics);
  if (metrics.empty()) throw UsageError("--metrics names no metric");
  const bool wants_cosine = std::find(metrics.begin(), metrics.end(), "cosine") != metrics.end();
  if (wants_cosine && !vm.count("scorer"))
    throw UsageError("the cosine metric needs --scorer DIR (a sentence-transformers folder such as all-MiniLM-L6-v2)");

  const std::string prediction_file = vm["predictions"].as<std::string>();
  const std::string truth_file = vm["truth"].as<std::string>();
  const std::vector<TextRow> predicted = read_text_rows(prediction_file);
  const GroupedTexts truth = group_by_id(read_text_rows(truth_file));
  std::unordered_map<std::string, size_t> truth_index;
  for (size_t i = 0; i < truth.ids.size(); ++i) truth_index.emplace(truth.ids[i], i);

  std::vector<std::string> ids, predictions;
  std::vector<std::vector<std::string>> references;
  std::unordered_map<std::string, int64_t> seen;
  for (const TextRow& row : predicted) {
    const std::string where = prediction_file + ":" + std::to_string(row.line);
    if (auto [it, added] = seen.emplace(row.id, row.line); !added)
      throw Error(where + ": duplicate id '" + row.id + "' (first on line " + std::to_string(it->second) + ")");
    auto found = truth_index.find(row.id);
    if (found == truth_index.end()) throw Error(where + ": id '" + row.id + "' is not in " + truth_file);
    ids.push_back(row.id);
    predictions.push_back(row.text);
    references.push_back(truth.texts[found->second]);
  }
  if (ids.empty()) throw Error(prediction_file + ": no predictions to score");
  if (ids.size() < truth.ids.size())
    log::warn("{} of the {} images in {} have no prediction; scoring the {} predicted", truth.ids.size() - ids.size(),
              truth.ids.size(), truth_file, ids.size());

  std::shared_ptr<SentenceEmbedder> embedder;
  if (wants_cosine) {
    ScorerOptions scorer;
    scorer.model = vm["scorer"].as<std::string>();
    scorer.device = vm["device"].as<std::string>();
    scorer.dtype = vm["dtype"].as<std::string>();
    scorer.batch_size = vm["batch-size"].as<int64_t>();
    scorer.plugin_dirs = plugin_dirs(vm);
    embedder = load_scorer(scorer);
  }
  const std::vector<MetricScores> scores = compute_metrics(metrics, predictions, references, embedder.get());
  if (vm.count("per-image")) write_per_image(vm["per-image"].as<std::string>(), ids, scores);

  if (vm.count("json")) {
    nlohmann::ordered_json out;
    for (const MetricScores& s : scores) out[s.metric] = s.corpus;
    out["images"] = ids.size();
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << std::left << std::setw(14) << "metric" << "value\n";
    for (const MetricScores& s : scores)
      std::cout << std::setw(14) << s.metric << std::fixed << std::setprecision(6) << s.corpus << "\n";
    std::cout << std::setw(14) << "images" << ids.size() << "\n";
  }
  return 0;
}

}  // namespace capbench::cli
