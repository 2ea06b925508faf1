#pragma once
// The report as one self-contained HTML document: header, leaderboard,
// charts and gallery, with its style sheet, script and images inline.
#include <optional>
#include <string>
#include <vector>

#include "app/report/report_model.h"
#include "app/report/thumbnail.h"

namespace capbench::report {

// `thumbnails` is parallel to model.images (a missing one is drawn as a
// placeholder naming the file); `written` says when and by what, for the footer.
std::string render_report_page(const ReportModel& model, const std::vector<std::optional<Thumbnail>>& thumbnails,
                               const std::string& written);

}  // namespace capbench::report
