#include "app/cli/command.h"

namespace capbench::cli {

int run_run(const std::vector<std::string>& args);
int run_plan(const std::vector<std::string>& args);
int run_leaderboard(const std::vector<std::string>& args);
int run_merge(const std::vector<std::string>& args);
int run_caption(const std::vector<std::string>& args);
int run_encode(const std::vector<std::string>& args);
int run_embed(const std::vector<std::string>& args);
int run_score(const std::vector<std::string>& args);
int run_submit(const std::vector<std::string>& args);
int run_tokenize(const std::vector<std::string>& args);
int run_inspect(const std::vector<std::string>& args);
int run_plugins(const std::vector<std::string>& args);
int run_report(const std::vector<std::string>& args);

// Every subcommand, in the order `capbench --help` lists them.
const std::vector<Command>& commands() {
  static const std::vector<Command> all = {
      {"run", "capbench run EXPERIMENT.toml [--runs ID,...] [--batch-size N] [--shard K/N|auto]", "run every run of a sweep (resumable; also under mpirun or srun)", run_run},
      {"plan", "capbench plan EXPERIMENT.toml", "list the runs a sweep expands to", run_plan},
      {"leaderboard", "capbench leaderboard DIR [--format table|csv|json|markdown] [--metric NAME]", "rank the runs of an output folder by score", run_leaderboard},
      {"report", "capbench report DIR [--output FILE.html] [--metric NAME] [--runs ID,...] [--max-images N]", "write one self-contained HTML page of a sweep's results", run_report},
      {"merge", "capbench merge (DIR... --output DIR | EXPERIMENT.toml)", "combine the results of sharded runs", run_merge},
      {"caption", "capbench caption --model DIR [IMAGE... | --pixel-values FILE] [options]", "caption (or answer a prompt for) single images", run_caption},
      {"encode", "capbench encode --model DIR [IMAGE... | --pixel-values FILE] --dump FILE", "run the image side and dump its tensors", run_encode},
      {"embed", "capbench embed --model DIR [--json] TEXT...", "sentence embeddings", run_embed},
      {"score", "capbench score PRED.csv TRUTH.csv [--scorer DIR] [--metrics LIST]", "score a predictions file", run_score},
      {"submit", "capbench submit (DIR --run ID | --predictions PRED.csv --scorer DIR) [--output FILE]", "write a Kaggle submission.csv", run_submit},
      {"tokenize", "capbench tokenize --model DIR [--decode] [--json] TEXT...", "token ids of texts", run_tokenize},
      {"inspect", "capbench inspect DIR|FILE [--weights FILE] [--json]", "tensors, dtypes and shapes of a checkpoint", run_inspect},
      {"plugins", "capbench plugins [--json]", "list the plugins found, with kinds and versions", run_plugins},
  };
  return all;
}

}  // namespace capbench::cli
