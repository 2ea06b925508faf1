#include <filesystem>
#include <iostream>

#include "app/cli/command.h"
#include "app/cli/experiment_cli.h"
#include "app/cli/submission_files.h"
#include "app/results_store.h"
#include "core/error.h"
#include "metrics/predictions_csv.h"
#include "metrics/scorer.h"
#include "metrics/submission.h"

namespace capbench::cli {

namespace fs = std::filesystem;

int run_submit(const std::vector<std::string>& args) {
  po::options_description options("submit options");
  options.add_options()("dir", po::value<std::string>(), "output folder of `capbench run` (with --run)")(
      "run", po::value<std::string>(), "run id whose captions to submit (see capbench leaderboard)")(
      "predictions", po::value<std::string>(), "predictions CSV made elsewhere (imgId,prompt or image_id,caption)")(
      "scorer", po::value<std::string>(),
      "sentence-transformers folder (all-MiniLM-L6-v2); default for --run: the experiment's scorer")(
      "device", po::value<std::string>()->default_value("auto"), "device of the embedder")(
      "output,o", po::value<std::string>()->default_value("submission.csv"), "file to write");
  po::positional_options_description positional;
  positional.add("dir", 1);
  po::variables_map vm;
  if (!parse(args, command("submit"), options, positional, vm)) return 0;

  ScorerOptions scorer;
  scorer.device = vm["device"].as<std::string>();
  scorer.plugin_dirs = plugin_dirs(vm);
  fs::path output = vm["output"].as<std::string>();

  if (vm.count("predictions")) {
    if (vm.count("dir") || vm.count("run")) throw UsageError("give either DIR --run ID or --predictions FILE, not both");
    if (!vm.count("scorer")) throw UsageError("--predictions needs --scorer DIR (a sentence-transformers folder)");
    scorer.model = vm["scorer"].as<std::string>();
    GroupedTexts rows = group_by_id(read_text_rows(vm["predictions"].as<std::string>()));
    std::vector<std::string> texts;
    for (size_t i = 0; i < rows.ids.size(); ++i) {
      if (rows.texts[i].size() != 1)
        throw Error(vm["predictions"].as<std::string>() + ":" + std::to_string(rows.first_line[i]) + ": image '" +
                    rows.ids[i] + "' has " + std::to_string(rows.texts[i].size()) + " predictions; a submission takes one");
      texts.push_back(rows.texts[i][0]);
    }
    write_submission(output, rows.ids, load_scorer(scorer)->embed(texts));
  } else {
    if (!vm.count("dir") || !vm.count("run")) throw UsageError("give DIR --run ID, or --predictions FILE --scorer DIR");
    ResultsStore store(results_file(vm["dir"].as<std::string>()));
    std::string run = vm["run"].as<std::string>();
    bool known = false;
    for (const StoredRun& r : store.runs()) known = known || r.id == run;
    if (!known) throw Error(store.file().string() + ": no run '" + run + "' (see capbench leaderboard)");
    if (vm.count("scorer")) {
      scorer.model = vm["scorer"].as<std::string>();
    } else if (auto stored = store.meta("scorer_checkpoint")) {
      scorer.model = *stored;
    } else {
      throw UsageError("the experiment had no scorer: give --scorer DIR (a sentence-transformers folder)");
    }
    write_run_submission(store, run, *load_scorer(scorer), output);
  }
  std::cerr << "capbench submit: wrote " << output.string() << "\n";
  return 0;
}

}  // namespace capbench::cli
