#include <ATen/ATen.h>

#include <charconv>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/cli/command.h"
#include "core/error.h"
#include "metrics/scorer.h"

namespace capbench::cli {

int run_embed(const std::vector<std::string>& args) {
  po::options_description options("embed options");
  options.add_options()("model", po::value<std::string>()->required(), "sentence-transformers folder (all-MiniLM-L6-v2)")(
      "json", "print a JSON array of {\"text\", \"embedding\"} in input order")(
      "batch-size", po::value<int64_t>()->default_value(0), "texts per forward pass (0: the plugin's default)")(
      "device", po::value<std::string>()->default_value("auto"), "cpu, cuda, cuda:N or auto")(
      "dtype", po::value<std::string>()->default_value("fp32"), "fp32, bf16 or int8 (int8 linear weights, CPU), fp16 on CUDA")(
      "plugin", po::value<std::string>()->default_value("minilm"), "embedder plugin")(
      "text", po::value<std::vector<std::string>>(), "texts (default: one per line from standard input)");
  po::positional_options_description positional;
  positional.add("text", -1);
  po::variables_map vm;
  if (!parse(args, command("embed"), options, positional, vm)) return 0;

  const std::vector<std::string> texts = texts_argument(vm, "text");
  ScorerOptions scorer;
  scorer.model = vm["model"].as<std::string>();
  scorer.plugin = vm["plugin"].as<std::string>();
  scorer.device = vm["device"].as<std::string>();
  scorer.dtype = vm["dtype"].as<std::string>();
  scorer.batch_size = vm["batch-size"].as<int64_t>();
  if (scorer.batch_size < 0) throw UsageError("--batch-size must not be negative");
  scorer.plugin_dirs = plugin_dirs(vm);
  check_dtype_option(scorer.dtype, scorer.device, "embed");
  const std::shared_ptr<SentenceEmbedder> embedder = load_scorer(scorer);

  const at::Tensor embeddings = embedder->embed(texts).to(at::kCPU, at::kFloat).contiguous();
  const int64_t dimension = embeddings.size(1);
  const float* values = embeddings.data_ptr<float>();
  // Shortest text that reads back as the same float32 (nlohmann would widen to double first).
  auto value_text = [&](size_t i, int64_t e) {
    char buffer[32];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, values[i * dimension + e]);
    return std::string(buffer, result.ptr);
  };
  const bool json = vm.count("json") > 0;
  if (json) std::cout << "[";
  for (size_t i = 0; i < texts.size(); ++i) {
    if (json)
      std::cout << (i ? ",\n " : "\n ") << "{\"text\": "
                << nlohmann::json(texts[i]).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                << ", \"embedding\": [";
    for (int64_t e = 0; e < dimension; ++e) std::cout << (e ? (json ? ", " : " ") : "") << value_text(i, e);
    std::cout << (json ? "]}" : "\n");
  }
  if (json) std::cout << "\n]\n";
  return 0;
}

}  // namespace capbench::cli
