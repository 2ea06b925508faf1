#pragma once
// The report page's style sheet and script, inlined into every report (the
// page loads nothing else).
namespace capbench::report {

// CSS for the whole page, charts included (svg_chart.cpp's classes).
extern const char* const kPageStyle;

// Sorts a table.sortable by the clicked column (cells' data-sort, else their
// text); the page reads the same without it.
extern const char* const kPageScript;

}  // namespace capbench::report
