#include "metrics/metric_inputs.h"

#include "core/error.h"

namespace capbench {

void check_metric_inputs(const std::vector<std::string>& predictions,
                         const std::vector<std::vector<std::string>>& references) {
  if (predictions.size() != references.size())
    throw Error("metrics: " + std::to_string(predictions.size()) + " predictions but " +
                std::to_string(references.size()) + " reference lists");
  for (size_t i = 0; i < references.size(); ++i)
    if (references[i].empty()) throw Error("metrics: image " + std::to_string(i) + " has no reference text");
}

}  // namespace capbench
