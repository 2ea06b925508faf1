#include "app/report/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "app/report/html.h"

namespace capbench::report::svg {

namespace {

constexpr double kWidth = 560;  // about the width a chart gets on the page: SVG text at its CSS size
constexpr double kCharWidth = 6.6;  // average advance of the 12 px sans-serif, for laying out legends

std::string num(double v, int decimals = 1) {
  char text[48];
  std::snprintf(text, sizeof text, "%.*f", decimals, v);
  return text;
}

// Decimals that tell ticks `step` apart.
int decimals_for(double step) { return step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9)); }

struct Scale {
  double d0, d1, r0, r1;
  double operator()(double v) const { return d1 == d0 ? (r0 + r1) / 2 : r0 + (v - d0) / (d1 - d0) * (r1 - r0); }
};

struct Domain {
  std::vector<double> ticks;
  double lo, hi;
};

// A domain covering [lo, hi] whose ends are ticks.
Domain nice_domain(double lo, double hi, int count = 5) {
  if (!(hi > lo)) {  // one value (or none): a unit-wide window around it
    lo -= 0.5;
    hi += 0.5;
  }
  Domain d{nice_ticks(lo, hi, count), lo, hi};
  d.lo = std::min(lo, d.ticks.front());
  d.hi = std::max(hi, d.ticks.back());
  return d;
}

std::string open_svg(double height, const std::string& label) {
  return "<svg class=\"chart\" viewBox=\"0 0 " + num(kWidth, 0) + " " + num(height, 0) +
         "\" role=\"img\" aria-label=\"" + html_escape(label) + "\" xmlns=\"http://www.w3.org/2000/svg\">";
}

std::string text(double x, double y, const std::string& content, const std::string& cls,
                 const std::string& anchor = "start", const std::string& extra = "") {
  return "<text class=\"" + cls + "\" x=\"" + num(x) + "\" y=\"" + num(y) + "\" text-anchor=\"" + anchor + "\"" +
         extra + ">" + html_escape(content) + "</text>";
}

std::string line(double x1, double y1, double x2, double y2, const std::string& cls, const std::string& style = "") {
  return "<line class=\"" + cls + "\" x1=\"" + num(x1) + "\" y1=\"" + num(y1) + "\" x2=\"" + num(x2) + "\" y2=\"" +
         num(y2) + "\"" + (style.empty() ? "" : " style=\"" + style + "\"") + "/>";
}

// A mark's link and tooltip around its drawing.
std::string wrap_mark(const Mark& mark, const std::string& drawing) {
  std::string g = "<g class=\"mark\"><title>" + html_escape(mark.tooltip) + "</title>" + drawing + "</g>";
  return mark.href.empty() ? g : "<a href=\"" + html_escape(mark.href) + "\">" + g + "</a>";
}

// Vertical grid lines and tick labels under a horizontal axis at `y`, then the title.
std::string x_axis(const Scale& x, const Domain& d, double top, double y, const std::string& title) {
  std::string out;
  const int decimals = d.ticks.size() > 1 ? decimals_for(d.ticks[1] - d.ticks[0]) : 2;
  for (double t : d.ticks) {
    out += line(x(t), top, x(t), y, std::abs(t) < 1e-12 ? "zero" : "grid");
    out += text(x(t), y + 16, num(t, decimals), "tick", "middle");
  }
  out += line(x.r0, y, x.r1, y, "axis");
  out += text((x.r0 + x.r1) / 2, y + 36, title, "axis-title", "middle");
  return out;
}

// Horizontal grid lines and tick labels left of a vertical axis at `x`, then the (rotated) title.
std::string y_axis(const Scale& y, const Domain& d, double x, double right, const std::string& title) {
  std::string out;
  const int decimals = d.ticks.size() > 1 ? decimals_for(d.ticks[1] - d.ticks[0]) : 2;
  for (double t : d.ticks) {
    out += line(x, y(t), right, y(t), std::abs(t) < 1e-12 ? "zero" : "grid");
    out += text(x - 6, y(t) + 4, num(t, decimals), "tick", "end");
  }
  out += line(x, y.r0, x, y.r1, "axis");
  const double middle = (y.r0 + y.r1) / 2;
  out += text(14, middle, title, "axis-title", "middle", " transform=\"rotate(-90 14 " + num(middle) + ")\"");
  return out;
}

std::string whisker(double x1, double y1, double x2, double y2, bool vertical) {
  const double cap = 4;
  std::string out = line(x1, y1, x2, y2, "whisker");
  if (vertical) return out + line(x1 - cap, y1, x1 + cap, y1, "whisker") + line(x2 - cap, y2, x2 + cap, y2, "whisker");
  return out + line(x1, y1 - cap, x1, y1 + cap, "whisker") + line(x2, y2 - cap, x2, y2 + cap, "whisker");
}

std::string dot(double x, double y, const std::string& color, double r = 5.5) {
  return "<circle class=\"dot\" cx=\"" + num(x) + "\" cy=\"" + num(y) + "\" r=\"" + num(r) + "\" fill=\"" +
         html_escape(color) + "\"/>";
}

// [lo, hi] over the values (and intervals) of `marks` on y; NaN values skipped.
std::pair<double, double> y_extent(const std::vector<Mark>& marks) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const Mark& m : marks) {
    if (std::isnan(m.y)) continue;
    lo = std::min({lo, m.y, m.interval ? m.interval->first : m.y});
    hi = std::max({hi, m.y, m.interval ? m.interval->second : m.y});
  }
  if (lo > hi) return {0, 1};
  return {lo, hi};
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int count) {
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / std::max(1, count);
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  double step = power;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * power * (1 + 1e-9)) {
      step = m * power;
      break;
    }
  std::vector<double> ticks;
  for (double t = std::floor(lo / step + 1e-9) * step; t <= hi + step * (1 - 1e-9); t += step)
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  return ticks;
}

std::string bar_chart(const std::vector<Mark>& bars, const std::string& value_title) {
  constexpr double left = 16, right = 24, top = 10, row = 40, axis = 44;
  auto [lo, hi] = y_extent(bars);
  const Domain d = nice_domain(std::min(lo, 0.0), std::max(hi, 0.0));
  const double height = top + row * static_cast<double>(bars.size()) + axis;
  const Scale x{d.lo, d.hi, left, kWidth - right};
  const double bottom = top + row * static_cast<double>(bars.size());
  std::string out = open_svg(height, value_title + " per run");
  out += x_axis(x, d, top, bottom, value_title);
  for (size_t i = 0; i < bars.size(); ++i) {
    const Mark& bar = bars[i];
    const double y0 = top + row * static_cast<double>(i);
    std::string drawing = text(left, y0 + 13, bar.label, "label");
    const double middle = y0 + 25;
    if (std::isnan(bar.y)) {
      drawing += text(x(0) + 4, middle + 4, "not scored yet", "muted");
    } else {
      const double a = x(std::min(0.0, bar.y)), b = x(std::max(0.0, bar.y));
      drawing += "<rect class=\"bar\" x=\"" + num(a) + "\" y=\"" + num(middle - 7) + "\" width=\"" +
                 num(std::max(b - a, 1.0)) + "\" height=\"14\" fill=\"" + html_escape(bar.color) + "\"/>";
      double end = std::max(b, x(bar.y));
      if (bar.interval) {
        drawing += whisker(x(bar.interval->first), middle, x(bar.interval->second), middle, false);
        end = std::max(end, x(bar.interval->second));
      }
      const bool inside = end + 52 > kWidth;  // no room right of the bar: write the value inside it
      drawing += text(inside ? a + 4 : end + 6, middle + 4, num(bar.y, 4), inside ? "value inverse" : "value");
    }
    out += wrap_mark(bar, drawing);
  }
  return out + "</svg>";
}

std::string scatter_chart(const std::vector<Mark>& points, const std::string& x_title, const std::string& y_title) {
  constexpr double height = 340, left = 64, right = 28, top = 14, bottom = 52;
  double x_hi = 0;
  for (const Mark& p : points) x_hi = std::max(x_hi, p.x);
  const Domain dx = nice_domain(0, x_hi > 0 ? x_hi * 1.08 : 1);
  auto [lo, hi] = y_extent(points);
  const double pad = (hi - lo) * 0.08;
  const Domain dy = nice_domain(lo - pad, hi + pad);
  const Scale x{dx.lo, dx.hi, left, kWidth - right}, y{dy.lo, dy.hi, height - bottom, top};
  std::string out = open_svg(height, y_title + " against " + x_title);
  out += x_axis(x, dx, top, height - bottom, x_title);
  out += y_axis(y, dy, left, kWidth - right, y_title);

  std::vector<const Mark*> frontier;  // fastest first; each one better than every faster one
  std::vector<const Mark*> order;
  for (const Mark& p : points) order.push_back(&p);
  std::sort(order.begin(), order.end(), [](const Mark* a, const Mark* b) { return a->x != b->x ? a->x > b->x : a->y > b->y; });
  for (const Mark* p : order)
    if (frontier.empty() || p->y > frontier.back()->y) frontier.push_back(p);
  if (frontier.size() > 1) {
    std::string path;
    for (const Mark* p : frontier) path += num(x(p->x)) + "," + num(y(p->y)) + " ";
    out += "<polyline class=\"frontier\" points=\"" + path + "\"/>";
  }
  for (const Mark& p : points) {
    std::string drawing;
    if (p.interval) drawing += whisker(x(p.x), y(p.interval->first), x(p.x), y(p.interval->second), true);
    drawing += dot(x(p.x), y(p.y), p.color, 6.5) + text(x(p.x) + 9, y(p.y) - 7, p.label, "point-label");
    out += wrap_mark(p, drawing);
  }
  return out + "</svg>";
}

std::string line_chart(const std::vector<Series>& series, const std::string& x_title, const std::string& y_title) {
  constexpr double plot_height = 300, left = 64, right = 28, top = 14, bottom = 52;
  std::vector<double> xs;
  std::vector<Mark> all;
  for (const Series& s : series)
    for (const Mark& p : s.points) {
      xs.push_back(p.x);
      all.push_back(p);
    }
  if (xs.empty()) return "";
  std::sort(xs.begin(), xs.end());
  xs.erase(std::unique(xs.begin(), xs.end()), xs.end());
  Domain dx = xs.size() <= 8 ? Domain{xs, xs.front(), xs.back()} : nice_domain(xs.front(), xs.back());
  const double x_pad = (dx.hi - dx.lo) * 0.06;
  auto [lo, hi] = y_extent(all);
  const double pad = (hi - lo) * 0.08;
  const Domain dy = nice_domain(lo - pad, hi + pad);

  // The legend: swatch + name, wrapped into rows under the plot.
  std::string legend;
  double lx = left, ly = plot_height + 18;
  if (series.size() > 1)
    for (const Series& s : series) {
      const double w = 26 + kCharWidth * static_cast<double>(s.name.size());
      if (lx + w > kWidth - right && lx > left) {
        lx = left;
        ly += 20;
      }
      legend += line(lx, ly - 4, lx + 18, ly - 4, "series", "stroke:" + html_escape(s.color)) +
                text(lx + 24, ly, s.name, "legend");
      lx += w + 18;
    }
  const double height = series.size() > 1 ? ly + 10 : plot_height;

  const Scale x{dx.lo - x_pad, dx.hi + x_pad, left, kWidth - right}, y{dy.lo, dy.hi, plot_height - bottom, top};
  std::string out = open_svg(height, y_title + " along " + x_title);
  out += x_axis(x, dx, top, plot_height - bottom, x_title);
  out += y_axis(y, dy, left, kWidth - right, y_title);
  for (const Series& s : series) {
    std::string path;
    for (const Mark& p : s.points) path += num(x(p.x)) + "," + num(y(p.y)) + " ";
    out += "<polyline class=\"series\" points=\"" + path + "\" style=\"stroke:" + html_escape(s.color) + "\"/>";
    for (const Mark& p : s.points) {
      std::string drawing;
      if (p.interval) drawing += whisker(x(p.x), y(p.interval->first), x(p.x), y(p.interval->second), true);
      drawing += dot(x(p.x), y(p.y), s.color, 5);
      out += wrap_mark(p, drawing);
    }
  }
  return out + legend + "</svg>";
}

}  // namespace capbench::report::svg
