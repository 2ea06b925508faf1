#include "metrics/scorer.h"

#include "core/error.h"
#include "core/plugin_loader.h"

namespace capbench {

std::shared_ptr<SentenceEmbedder> load_scorer(const ScorerOptions& options) {
  if (!std::filesystem::is_directory(options.model))
    throw Error(options.model.string() + ": scorer model folder not found");
  PluginRegistry registry(PluginRegistry::search_path(options.plugin_dirs));
  ComponentContext ctx;
  ctx.checkpoint = options.model;
  ctx.device = options.device;
  ctx.dtype = options.dtype;
  if (options.batch_size > 0) ctx.settings.set("batch_size", options.batch_size);
  return registry.create<SentenceEmbedder>(options.plugin, ctx);
}

}  // namespace capbench
