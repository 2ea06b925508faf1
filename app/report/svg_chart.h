#pragma once
// The report's three charts as inline SVG: every line of SVG capbench writes is
// in svg_chart.cpp. Marks carry a tooltip (<title>) and a link, and take their
// colours and fonts from the page's CSS classes (chart, axis, grid, ...).
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace capbench::report::svg {

struct Mark {
  double x = 0, y = 0;  // bars use y only
  std::optional<std::pair<double, double>> interval;  // around y
  std::string label;    // drawn beside the mark
  std::string tooltip;  // shown on hover
  std::string href;     // where a click goes ("#run-..."); empty: nowhere
  std::string color;    // CSS colour
};

// One horizontal bar per mark (label above it), from 0 to y, with its interval
// as a whisker. Marks without a value are passed with `label` only and `y` NaN.
std::string bar_chart(const std::vector<Mark>& bars, const std::string& value_title);

// Each mark a dot at (x, y), labelled; the dashed line joins the marks no other
// mark beats on both axes (the best y for a given x or more).
std::string scatter_chart(const std::vector<Mark>& points, const std::string& x_title, const std::string& y_title);

struct Series {
  std::string name, color;
  std::vector<Mark> points;  // by x
};

// One line per series through its points, whiskers at each point, a legend
// under the plot when there is more than one series.
std::string line_chart(const std::vector<Series>& series, const std::string& x_title, const std::string& y_title);

// Tick positions covering [lo, hi] at 1, 2 or 5 times a power of ten, about `count` of them.
std::vector<double> nice_ticks(double lo, double hi, int count = 5);

}  // namespace capbench::report::svg
