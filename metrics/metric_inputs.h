#pragma once
// The shape every caption metric expects: one prediction per image, at least
// one reference each.
#include <string>
#include <vector>

namespace capbench {

// Throws Error when the sizes differ or an image has no reference.
void check_metric_inputs(const std::vector<std::string>& predictions,
                         const std::vector<std::vector<std::string>>& references);

}  // namespace capbench
