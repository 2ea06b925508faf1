#include "app/experiment/experiment.h"

#include <algorithm>
#include <map>
#include <optional>
#include <regex>
#include <set>

#include "app/experiment/run_id.h"
#include "core/error.h"
#include "core/toml_tree.h"

namespace capbench {

namespace fs = std::filesystem;
using toml_tree::fail;

namespace {

// Keys whose values are file or folder names. When they come from an extended
// file they are rewritten relative to the top file's folder, so that every path
// of the merged experiment resolves against one folder.
bool is_path_key(const std::string& dotted) {
  static const std::set<std::string> keys = {
      "dataset.root",      "model.checkpoint",
      "encoder.checkpoint", "bridge.checkpoint", "decoder.checkpoint", "scorer.checkpoint",   "output.dir",
      "model.weights", "encoder.weights", "bridge.weights", "decoder.weights"};
  return keys.count(dotted) > 0;
}

// Settings a sweep or variant may change: everything that makes a run a run.
bool is_sweepable(const std::string& dotted) {
  static const std::set<std::string> sections = {"device", "dtype", "model", "encoder", "bridge", "decoder", "generate"};
  return sections.count(dotted.substr(0, dotted.find('.'))) > 0;
}

void rebase_path(toml::node& node, const fs::path& file_dir, const fs::path& top_dir) {
  auto* s = node.as_string();
  if (!s || s->get().empty()) return;  // types are checked later, where the key is read
  fs::path p(s->get());
  if (p.is_absolute()) return;
  fs::path absolute = (file_dir / p).lexically_normal();
  fs::path relative = absolute.lexically_relative(top_dir);
  s->get() = relative.empty() ? absolute.string() : relative.generic_string();
}

void rebase_paths(toml::table& doc, const fs::path& file_dir, const fs::path& top_dir) {
  for (auto& [dotted, node] : toml_tree::flatten(doc)) {
    if (dotted.rfind("sweep.", 0) == 0 && is_path_key(dotted.substr(6)) && node->is_array()) {
      for (auto& element : *node->as_array()) rebase_path(element, file_dir, top_dir);
    } else if (is_path_key(dotted)) {
      rebase_path(*node, file_dir, top_dir);
    }
  }
  if (auto* variants = doc.get_as<toml::array>("variant")) {
    for (auto& v : *variants) {
      if (!v.is_table()) continue;
      for (auto& [dotted, node] : toml_tree::flatten(*v.as_table()))
        if (is_path_key(dotted)) rebase_path(*node, file_dir, top_dir);
    }
  }
}

fs::path absolute_normal(const fs::path& p) { return fs::absolute(p).lexically_normal(); }

// The file merged over everything it extends, paths rebased onto top_dir.
toml::table load_chain(const fs::path& file, const fs::path& top_dir, std::vector<fs::path>& seen) {
  fs::path absolute = absolute_normal(file);
  if (std::find(seen.begin(), seen.end(), absolute) != seen.end())
    throw Error(file.string() + ": 'extends' forms a cycle back to this file");
  seen.push_back(absolute);
  toml::table doc = toml_tree::parse_file(file);
  fs::path dir = absolute.parent_path();
  rebase_paths(doc, dir, top_dir);
  toml::node* extends = doc.get("extends");
  if (!extends) return doc;
  if (!extends->is_string()) fail(*extends, "extends", "must be a string: the file this one extends");
  fs::path base = extends->as_string()->get();
  if (base.is_relative()) base = file.parent_path() / base;
  if (!fs::is_regular_file(base)) fail(*extends, "extends", "names '" + base.string() + "', which does not exist");
  toml::table merged = load_chain(base, top_dir, seen);
  doc.erase("extends");
  // A file's sweep and variants replace those of the file it extends (they are not merged).
  if (doc.contains("variant")) merged.erase("variant");
  if (doc.contains("sweep")) merged.erase("sweep");
  toml_tree::merge_into(merged, std::move(doc));
  return merged;
}

// Reads the keys of one table; what nobody read is reported (or handed on).
class Section {
 public:
  Section(toml::table* table, std::string name) : table_(table), name_(std::move(name)) {}

  bool present() const { return table_ != nullptr; }
  std::string dotted(const std::string& key) const { return name_.empty() ? key : name_ + "." + key; }

  toml::node* get(const std::string& key) {
    used_.insert(key);
    return table_ ? table_->get(key) : nullptr;
  }
  std::optional<std::string> string(const std::string& key) {
    toml::node* n = get(key);
    if (!n) return std::nullopt;
    if (!n->is_string()) fail(*n, dotted(key), "must be a string");
    return n->as_string()->get();
  }
  std::optional<int64_t> integer(const std::string& key, int64_t min) {
    toml::node* n = get(key);
    if (!n) return std::nullopt;
    if (!n->is_integer()) fail(*n, dotted(key), "must be an integer");
    int64_t v = n->as_integer()->get();
    if (v < min) fail(*n, dotted(key), "must be >= " + std::to_string(min) + " (got " + std::to_string(v) + ")");
    return v;
  }
  std::optional<double> number(const std::string& key) {
    toml::node* n = get(key);
    if (!n) return std::nullopt;
    if (n->is_integer()) return static_cast<double>(n->as_integer()->get());
    if (!n->is_floating_point()) fail(*n, dotted(key), "must be a number");
    return n->as_floating_point()->get();
  }
  std::optional<bool> boolean(const std::string& key) {
    toml::node* n = get(key);
    if (!n) return std::nullopt;
    if (!n->is_boolean()) fail(*n, dotted(key), "must be true or false");
    return n->as_boolean()->get();
  }
  void check_value(const std::string& key, bool ok, const std::string& what) {
    if (!ok) fail(*table_->get(key), dotted(key), what);
  }

  void reject_unknown(const std::string& known) const {
    if (!table_) return;
    for (auto&& [key, node] : *table_)
      if (!used_.count(std::string(key.str())))
        fail(node, dotted(std::string(key.str())), "is unknown (known keys: " + known + ")");
  }
  // Moves the keys nobody read into a table of their own (a plugin's settings).
  std::shared_ptr<toml::table> take_rest() {
    auto rest = std::make_shared<toml::table>();
    if (!table_) return rest;
    for (auto&& [key, node] : *table_)
      if (!used_.count(std::string(key.str()))) toml_tree::put(*rest, std::string(key.str()), std::move(node));
    return rest;
  }

 private:
  toml::table* table_;
  std::string name_;
  std::set<std::string> used_;
};

toml::table* table_or_fail(toml::table& doc, const std::string& key) {
  toml::node* n = doc.get(key);
  if (!n) return nullptr;
  if (!n->is_table()) fail(*n, key, "must be a table");
  return n->as_table();
}

std::string canonical_dtype(const std::string& d) {
  if (d == "float32") return "fp32";
  if (d == "float16") return "fp16";
  if (d == "bfloat16") return "bf16";
  return d;
}

void check_device(Section& s, const std::string& key, const std::string& value) {
  static const std::regex device(R"(auto|cpu|cuda(:[0-9]+)?)");
  s.check_value(key, std::regex_match(value, device), "must be \"auto\", \"cpu\", \"cuda\" or \"cuda:N\" (got \"" + value + "\")");
}

void check_dtype(Section& s, const std::string& key, const std::string& value) {
  static const std::set<std::string> names = {"auto", "fp32", "fp16", "bf16", "int8", "float32", "float16", "bfloat16"};
  s.check_value(key, names.count(value) > 0,
                "must be \"auto\", \"fp32\", \"fp16\", \"bf16\" or \"int8\" (got \"" + value + "\")");
}

struct Defaults {
  std::string device = "auto";
  std::string dtype = "auto";
  std::optional<std::string> checkpoint;  // model.checkpoint
  std::optional<std::string> weights;     // model.weights
};

std::string file_name(const fs::path& file) { return file.filename().string(); }

ComponentSpec read_component(toml::table& doc, const std::string& name, const Defaults& defaults, const fs::path& file,
                             const fs::path& top_dir, bool required, const std::string& default_plugin = "") {
  ComponentSpec c;
  toml::table* table = table_or_fail(doc, name);
  if (!table && required)
    throw Error(file.string() + ": missing table [" + name + "] (at least: " + name + " = { plugin = \"...\" })");
  Section s(table, name);
  auto plugin = s.string("plugin");
  if (!plugin && default_plugin.empty())
    throw Error((table ? toml_tree::position(*table) + ": " : file.string() + ": ") + "table [" + name +
                "] needs key 'plugin'");
  c.plugin = plugin.value_or(default_plugin);
  auto checkpoint = s.string("checkpoint");
  if (!checkpoint) checkpoint = defaults.checkpoint;
  std::string checkpoint_text = checkpoint.value_or("");
  if (!checkpoint_text.empty()) c.checkpoint = (top_dir / checkpoint_text).lexically_normal();
  // A weights file read instead of the checkpoint folder's (e.g. a LAVIS .pth); the scorer has none.
  std::string weights_text;
  if (name != "scorer") weights_text = s.string("weights").value_or(defaults.weights.value_or(""));
  if (!weights_text.empty()) c.weights = (top_dir / weights_text).lexically_normal();
  c.device = s.string("device").value_or(defaults.device);
  if (table && table->contains("device")) check_device(s, "device", c.device);
  c.dtype = canonical_dtype(s.string("dtype").value_or(defaults.dtype));
  if (table && table->contains("dtype")) check_dtype(s, "dtype", c.dtype);
  c.settings = s.take_rest();
  c.where = file_name(file) + " [" + name + "]";
  nlohmann::json key = {{"plugin", c.plugin},
                        {"checkpoint", checkpoint_text},
                        {"device", c.device},
                        {"dtype", c.dtype},
                        {"settings", toml_tree::to_json(*c.settings)}};
  if (!weights_text.empty()) key["weights"] = weights_text;  // absent otherwise: run ids stay as they were
  c.key = key.dump();
  return c;
}

std::string early_stopping_value(Section& s) {
  toml::node* n = s.get("early_stopping");
  if (!n) return "false";
  if (n->is_boolean()) return n->as_boolean()->get() ? "true" : "false";
  if (n->is_string()) {
    std::string v = n->as_string()->get();
    if (v == "true" || v == "false" || v == "never") return v;
  }
  fail(*n, "generate.early_stopping", "must be true, false or \"never\"");
}

GenerationOptions read_generate(toml::table& doc) {
  GenerationOptions g;
  Section s(table_or_fail(doc, "generate"), "generate");
  g.max_new_tokens = s.integer("max_new_tokens", 1).value_or(g.max_new_tokens);
  g.min_new_tokens = s.integer("min_new_tokens", 0).value_or(g.min_new_tokens);
  g.num_beams = s.integer("num_beams", 1).value_or(g.num_beams);
  g.length_penalty = s.number("length_penalty").value_or(g.length_penalty);
  g.early_stopping = early_stopping_value(s);
  g.repetition_penalty = s.number("repetition_penalty").value_or(g.repetition_penalty);
  if (g.repetition_penalty <= 0) s.check_value("repetition_penalty", false, "must be > 0");
  g.no_repeat_ngram_size = s.integer("no_repeat_ngram_size", 0).value_or(g.no_repeat_ngram_size);
  g.do_sample = s.boolean("do_sample").value_or(g.do_sample);
  g.top_p = s.number("top_p").value_or(g.top_p);
  if (!(g.top_p > 0 && g.top_p <= 1)) s.check_value("top_p", false, "must be in (0, 1]");
  g.top_k = s.integer("top_k", 0).value_or(g.top_k);
  g.temperature = s.number("temperature").value_or(g.temperature);
  if (!(g.temperature > 0)) s.check_value("temperature", false, "must be > 0");
  g.num_captions = s.integer("num_captions", 1).value_or(g.num_captions);
  // Beams keep num_beams hypotheses, sampled or not; only plain sampling draws any number.
  if (g.num_captions > g.num_beams && (g.num_beams > 1 || !g.do_sample))
    s.check_value("num_captions", false,
                  "must not exceed num_beams (" + std::to_string(g.num_beams) +
                      ") unless do_sample = true with num_beams = 1");
  g.seed = static_cast<uint64_t>(s.integer("seed", 0).value_or(0));
  g.prompt = s.string("prompt").value_or("");
  s.reject_unknown(
      "max_new_tokens, min_new_tokens, num_beams, length_penalty, early_stopping, repetition_penalty, "
      "no_repeat_ngram_size, do_sample, top_p, top_k, temperature, num_captions, seed, prompt");
  return g;
}

nlohmann::json generate_json(const GenerationOptions& g) {
  return {{"max_new_tokens", g.max_new_tokens},
          {"min_new_tokens", g.min_new_tokens},
          {"num_beams", g.num_beams},
          {"length_penalty", g.length_penalty},
          {"early_stopping", g.early_stopping},
          {"repetition_penalty", g.repetition_penalty},
          {"no_repeat_ngram_size", g.no_repeat_ngram_size},
          {"do_sample", g.do_sample},
          {"top_p", g.top_p},
          {"top_k", g.top_k},
          {"temperature", g.temperature},
          {"num_captions", g.num_captions},
          {"seed", g.seed},
          {"prompt", g.prompt}};
}

// Everything of one resolved run, plus the parts every run shares.
struct Resolved {
  RunSpec run;
  Experiment shared;
  nlohmann::json settings;
};

Resolved resolve(toml::table& doc, const fs::path& file, const fs::path& top_dir, const ExperimentOptions& options) {
  Resolved r;
  Section top(&doc, "");
  Defaults defaults;
  r.shared.name = top.string("name").value_or(file.stem().string());
  defaults.device = top.string("device").value_or("auto");
  if (doc.contains("device")) check_device(top, "device", defaults.device);
  defaults.dtype = canonical_dtype(top.string("dtype").value_or("auto"));
  if (doc.contains("dtype")) check_dtype(top, "dtype", defaults.dtype);

  Section model(table_or_fail(doc, "model"), "model");
  top.get("model");
  defaults.checkpoint = model.string("checkpoint");
  defaults.weights = model.string("weights");
  model.reject_unknown("checkpoint, weights");

  for (const char* name : {"encoder", "bridge", "decoder", "scorer", "generate", "output", "dataset"}) top.get(name);
  r.run.encoder = read_component(doc, "encoder", defaults, file, top_dir, true);
  r.run.bridge = read_component(doc, "bridge", defaults, file, top_dir, true);
  r.run.decoder = read_component(doc, "decoder", defaults, file, top_dir, true);
  for (const ComponentSpec* c : {&r.run.encoder, &r.run.bridge, &r.run.decoder})
    if (c->checkpoint.empty())
      throw Error(file.string() + ": no checkpoint for the " + c->where.substr(c->where.find('[')) +
                  ": set its 'checkpoint' or model.checkpoint");
  r.run.generate = read_generate(doc);
  r.run.image_side_key = r.run.encoder.key + "|" + r.run.bridge.key;

  // The scorer: not swept (every run is scored the same way).
  if (toml::table* scorer = table_or_fail(doc, "scorer")) {
    r.shared.scorer.enabled = true;
    Section s(scorer, "scorer");
    std::vector<std::string> metrics = {"cosine"};
    if (toml::node* m = s.get("metrics")) {
      if (!m->is_array()) fail(*m, "scorer.metrics", "must be an array of metric names");
      metrics.clear();
      for (const auto& element : *m->as_array()) {
        if (!element.is_string()) fail(element, "scorer.metrics", "must be an array of metric names");
        std::string name = element.as_string()->get();
        const auto& known = options.known_metrics;
        if (!known.empty() && std::find(known.begin(), known.end(), name) == known.end()) {
          std::string list;
          for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
          fail(element, "scorer.metrics", "names an unknown metric '" + name + "' (known: " + list + ")");
        }
        metrics.push_back(name);
      }
    }
    r.shared.scorer.metrics = metrics;
    scorer->erase("metrics");
    Defaults scorer_defaults{defaults.device, defaults.dtype, std::nullopt, std::nullopt};
    r.shared.scorer.component = read_component(doc, "scorer", scorer_defaults, file, top_dir, false, "minilm");
    if (r.shared.scorer.needs_embedder() && r.shared.scorer.component.checkpoint.empty())
      throw Error(toml_tree::position(*scorer) + ": table [scorer] needs key 'checkpoint' (a sentence-transformers folder) for the cosine metric");
  }

  Section output(table_or_fail(doc, "output"), "output");
  r.shared.output.dir = (top_dir / output.string("dir").value_or("runs/" + r.shared.name)).lexically_normal();
  r.shared.output.submission = output.boolean("submission").value_or(false);
  output.reject_unknown("dir, submission");

  toml::table* dataset = table_or_fail(doc, "dataset");
  if (!dataset) throw Error(file.string() + ": missing table [dataset] (kind = \"sdip\" | \"coco\" | \"folder\", root = ...)");
  // What identifies the images (not how many are taken, or in which order).
  nlohmann::json dataset_identity = toml_tree::to_json(*dataset);
  for (const char* k : {"limit", "shuffle", "seed", "on_error"}) dataset_identity.erase(k);
  auto dataset_table = std::make_shared<toml::table>();
  toml_tree::merge_into(*dataset_table, std::move(*dataset));
  r.shared.dataset = dataset_table;
  r.shared.dataset_where = file_name(file) + " [dataset]";

  top.reject_unknown("name, extends, device, dtype, dataset, model, encoder, bridge, decoder, generate, scorer, output, sweep, variant");

  r.settings = {{"dataset", dataset_identity},
                {"encoder", nlohmann::json::parse(r.run.encoder.key)},
                {"bridge", nlohmann::json::parse(r.run.bridge.key)},
                {"decoder", nlohmann::json::parse(r.run.decoder.key)},
                {"generate", generate_json(r.run.generate)}};
  r.run.settings_json = r.settings.dump();
  r.run.id = run_id(r.run.settings_json);
  return r;
}

struct Axis {
  std::string key;
  size_t size;
};

// The sweep's axes and the variants' override keys, checked once on the merged file.
void read_sweep_shape(toml::table& doc, std::vector<Axis>& axes, std::vector<std::string>& variant_names) {
  if (toml::node* sweep = doc.get("sweep")) {
    if (!sweep->is_table()) fail(*sweep, "sweep", "must be a table of dotted keys to lists of values");
    for (auto& [dotted, node] : toml_tree::flatten(*sweep->as_table())) {
      if (!is_sweepable(dotted))
        fail(*node, "sweep." + dotted, "cannot be swept (sweep device, dtype, model.*, encoder.*, bridge.*, decoder.* or generate.* keys)");
      if (!node->is_array() || node->as_array()->empty())
        fail(*node, "sweep." + dotted, "must be a non-empty list of values");
      axes.push_back({dotted, node->as_array()->size()});
    }
  }
  if (toml::node* variants = doc.get("variant")) {
    if (!variants->is_array_of_tables()) fail(*variants, "variant", "must be an array of tables ([[variant]])");
    for (auto& v : *variants->as_array()) {
      toml::table& t = *v.as_table();
      toml::node* name = t.get("name");
      if (!name || !name->is_string() || name->as_string()->get().empty())
        fail(name ? *name : v, "variant.name", "must be a non-empty string naming the variant");
      std::string n = name->as_string()->get();
      if (std::find(variant_names.begin(), variant_names.end(), n) != variant_names.end())
        fail(*name, "variant.name", "repeats the variant name '" + n + "'");
      variant_names.push_back(n);
      for (auto& [dotted, node] : toml_tree::flatten(t)) {
        if (dotted == "name") continue;
        if (!is_sweepable(dotted))
          fail(*node, "variant." + dotted, "cannot be set by a variant (set device, dtype, model.*, encoder.*, bridge.*, decoder.* or generate.* keys)");
        for (const Axis& a : axes)
          if (a.key == dotted) fail(*node, "variant." + dotted, "is also swept in [sweep]; set it in one place");
      }
    }
  }
}

}  // namespace

bool ScorerSpec::needs_embedder() const {
  return enabled && std::find(metrics.begin(), metrics.end(), "cosine") != metrics.end();
}

const RunSpec& Experiment::run(const std::string& id) const {
  std::string known;
  for (const RunSpec& r : runs) {
    if (r.id == id) return r;
    known += (known.empty() ? "" : ", ") + r.id;
  }
  throw Error(file.string() + ": no run with id '" + id + "' (runs: " + known + ")");
}

Experiment load_experiment(const fs::path& file, const ExperimentOptions& options) {
  fs::path top_dir = absolute_normal(file).parent_path();
  auto load = [&] {
    std::vector<fs::path> seen;
    return load_chain(file, top_dir, seen);
  };
  std::vector<Axis> axes;
  std::vector<std::string> variant_names;
  {
    toml::table doc = load();
    read_sweep_shape(doc, axes, variant_names);
  }
  size_t grid = 1;
  for (const Axis& a : axes) grid *= a.size;
  size_t variants = std::max<size_t>(1, variant_names.size());

  Experiment experiment;
  std::vector<nlohmann::json> settings;
  std::vector<std::set<std::string>> swept_keys;
  for (size_t v = 0; v < variants; ++v) {
    for (size_t g = 0; g < grid; ++g) {
      // Each run resolves from a fresh parse: moving nodes out keeps their source positions.
      toml::table doc = load();
      toml::table sweep, variant;
      if (toml::node* n = doc.get("sweep")) sweep = std::move(*n->as_table());
      if (toml::node* n = doc.get("variant")) {
        if (!variant_names.empty()) variant = std::move(*n->as_array()->get(v)->as_table());
      }
      doc.erase("sweep");
      doc.erase("variant");
      std::set<std::string> keys;
      for (auto& [dotted, node] : toml_tree::flatten(variant))
        if (dotted != "name") toml_tree::set_dotted(doc, dotted, std::move(*node));
      auto flat = toml_tree::flatten(sweep);
      size_t rest = g;
      for (size_t a = axes.size(); a-- > 0;) {  // the first axis varies slowest
        size_t index = rest % axes[a].size;
        rest /= axes[a].size;
        toml::node* value = flat[a].second->as_array()->get(index);
        toml_tree::set_dotted(doc, axes[a].key, std::move(*value));
        keys.insert(axes[a].key);
      }
      Resolved r = resolve(doc, file, top_dir, options);
      r.run.variant = variant_names.empty() ? "" : variant_names[v];
      if (experiment.runs.empty()) {
        experiment.name = r.shared.name;
        experiment.dataset = r.shared.dataset;
        experiment.dataset_where = r.shared.dataset_where;
        experiment.scorer = r.shared.scorer;
        experiment.output = r.shared.output;
      }
      for (const RunSpec& other : experiment.runs)
        if (other.id == r.run.id)
          throw Error(file.string() + ": two runs have identical settings (run " + other.id +
                      "); remove the duplicate sweep value or variant");
      experiment.runs.push_back(r.run);
      settings.push_back(r.settings);
      swept_keys.push_back(keys);
    }
  }
  experiment.file = file;
  experiment.base_dir = top_dir;
  describe_differences(experiment.runs, settings, swept_keys);
  return experiment;
}

}  // namespace capbench
