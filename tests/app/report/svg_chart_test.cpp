#include "app/report/svg_chart.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>

using namespace capbench::report::svg;

namespace {

size_t count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

Mark mark(double x, double y, const std::string& label) {
  Mark m;
  m.x = x;
  m.y = y;
  m.label = label;
  m.tooltip = "tip " + label;
  m.href = "#run-" + label;
  m.color = "#4e79a7";
  return m;
}

}  // namespace

TEST_CASE("nice_ticks: steps of 1, 2 or 5 times a power of ten covering the range") {
  std::vector<double> unit = nice_ticks(0, 1);
  REQUIRE(unit.size() == 6);
  CHECK(unit.front() == 0);
  CHECK(unit[1] == doctest::Approx(0.2));
  CHECK(unit.back() == doctest::Approx(1));
  std::vector<double> narrow = nice_ticks(0.23, 0.61);
  REQUIRE(narrow.size() == 6);
  CHECK(narrow.front() == doctest::Approx(0.2));
  CHECK(narrow.back() == doctest::Approx(0.7));
  std::vector<double> across = nice_ticks(-0.3, 0.45);
  CHECK(across.front() == doctest::Approx(-0.4));
  CHECK(across.back() == doctest::Approx(0.6));
  CHECK(std::count(across.begin(), across.end(), 0.0) == 1);  // an exact zero for the zero line
  CHECK(nice_ticks(2, 2) == std::vector<double>{2});
}

TEST_CASE("bar_chart: a bar, a whisker, a link and a tooltip per run; labels escaped; no value drawn as nan") {
  Mark best = mark(0, 0.6, "<b>#1</b> & \"x\"");
  best.interval = std::make_pair(0.55, 0.65);
  Mark unscored = mark(0, std::numeric_limits<double>::quiet_NaN(), "#2");
  std::string svg = bar_chart({best, unscored}, "cosine");
  CHECK(svg.rfind("<svg class=\"chart\"", 0) == 0);
  CHECK(svg.find("</svg>") == svg.size() - 6);
  CHECK(count(svg, "<rect class=\"bar\"") == 1);
  CHECK(count(svg, "class=\"whisker\"") == 3);  // the line and its two caps
  CHECK(svg.find("&lt;b&gt;#1&lt;/b&gt; &amp; &quot;x&quot;") != std::string::npos);
  CHECK(svg.find("<b>") == std::string::npos);
  CHECK(svg.find("not scored yet") != std::string::npos);
  CHECK(count(svg, "<title>") == 2);
  CHECK(svg.find("href=\"#run-#2\"") != std::string::npos);
  CHECK(svg.find("nan") == std::string::npos);
  CHECK(svg.find("0.6000") != std::string::npos);
}

TEST_CASE("scatter_chart: the dashed frontier joins the runs no other run beats on both axes") {
  std::string two_good = scatter_chart({mark(2, 0.4, "#2"), mark(1, 0.6, "#1")}, "images per second", "cosine");
  CHECK(count(two_good, "class=\"dot\"") == 2);
  CHECK(count(two_good, "class=\"frontier\"") == 1);
  std::string dominated = scatter_chart({mark(2, 0.6, "#1"), mark(1, 0.4, "#2")}, "images per second", "cosine");
  CHECK(count(dominated, "class=\"frontier\"") == 0);
  CHECK(two_good.find("images per second") != std::string::npos);
}

TEST_CASE("line_chart: one line per series, a legend when there are several, nothing for no points") {
  Series a{"prompt=\"\"", "#59a14f", {mark(1, 0.4, "a1"), mark(3, 0.5, "a3")}};
  Series b{"prompt=\"a <photo>\"", "#b07aa1", {mark(1, 0.45, "b1"), mark(3, 0.42, "b3")}};
  std::string both = line_chart({a, b}, "generate.num_beams", "cosine");
  CHECK(count(both, "<polyline class=\"series\"") == 2);
  CHECK(both.find("prompt=&quot;a &lt;photo&gt;&quot;") != std::string::npos);
  std::string one = line_chart({a}, "generate.num_beams", "cosine");
  CHECK(one.find("class=\"legend\"") == std::string::npos);
  CHECK(line_chart({}, "x", "y").empty());
}
