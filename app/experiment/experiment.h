#pragma once
// An experiment file (TOML): a dataset, the three components of a captioning
// model, generation settings, a sweep (grid and/or named variants), a scorer and
// an output folder. load_experiment() expands it into runs, each with its fully
// resolved settings and a stable id. Every mistake in the file (unknown key,
// wrong type, bad value) is an Error naming file:line:column and the dotted key.
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/generation.h"

namespace toml {
inline namespace v3 {
class table;
}
}  // namespace toml

namespace capbench {

// One loaded component (encoder, bridge, decoder or scorer).
struct ComponentSpec {
  std::string plugin;                          // plugin name, e.g. "opt"
  std::filesystem::path checkpoint;            // resolved against the experiment file's folder
  std::filesystem::path weights;               // optional weights file (e.g. a LAVIS .pth) read instead of the folder's; resolved likewise
  std::string device;                          // as written: "auto", "cpu", "cuda", "cuda:1"
  std::string dtype;                           // as written: "auto", "fp32", "fp16", "bf16", "int8"
  std::shared_ptr<const toml::table> settings; // the plugin's own keys (source positions kept)
  std::string where;                           // names the table in messages: "exp.toml [decoder]"
  std::string key;                             // canonical JSON of all of the above but `where` (weights only when set)
};

struct ScorerSpec {
  bool enabled = false;              // false when the file has no [scorer] table
  ComponentSpec component;           // plugin (default "minilm"), checkpoint, device, dtype, settings
  std::vector<std::string> metrics;  // metric names, default ["cosine"]
  bool needs_embedder() const;       // "cosine" is among the metrics
};

struct OutputSpec {
  std::filesystem::path dir;  // default runs/<name>, relative to the experiment file's folder
  bool submission = false;    // write submission-<run>.csv (and submission.csv for the best run)
};

struct RunSpec {
  std::string id;        // 12 hex digits of a hash of `settings_json`
  std::string variant;   // the [[variant]]'s name; "" without variants
  std::string label;     // the settings that tell this run from the others: "num_beams=3 prompt=\"a photo of\""
  std::vector<std::pair<std::string, std::string>> differing;  // dotted key -> value as JSON text
  std::string settings_json;  // canonical resolved settings (components, generation, dataset identity)
  ComponentSpec encoder, bridge, decoder;
  GenerationOptions generate;
  std::string image_side_key;  // equal for runs that can share the encoder + bridge output
};

struct Experiment {
  std::filesystem::path file;      // the experiment file as given
  std::filesystem::path base_dir;  // its folder: relative paths resolve against it
  std::string name;                // `name`, default the file's stem
  std::shared_ptr<const toml::table> dataset;  // the [dataset] table, for load_dataset()
  std::string dataset_where;                   // "exp.toml [dataset]"
  ScorerSpec scorer;
  OutputSpec output;
  std::vector<RunSpec> runs;  // grid order (first sweep key outermost) within each variant, variants in file order

  const RunSpec& run(const std::string& id) const;  // throws Error naming the known ids
};

struct ExperimentOptions {
  std::vector<std::string> known_metrics;  // names the scorer may list; empty = accept any
};

// Reads `file` (and the files it extends), expands the sweep and validates it.
Experiment load_experiment(const std::filesystem::path& file, const ExperimentOptions& options = {});

}  // namespace capbench
