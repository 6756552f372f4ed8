// Insights: Chart.js (static/vendor/, from npm) draws each chart from the table of its
// numbers beside it, so that a chart and its table cannot disagree. Served from our own
// origin: no inline script or style, no eval.
// - A table's header cells with data-colour are the series drawn, in that colour; each row
//   is a point on the axis (a week, a country); each cell's data-value its number.
// - data-kind on the figure: "stacked" bars, "lines" (each its own dash and point shape, so
//   that colour is never the only difference) or "bars" across, one per row.
// - A chart takes the keyboard's focus; the arrow keys, Home and End step through its
//   weeks (or rows) showing each one's numbers, Escape hides them.
(function () {
  "use strict";
  if (!window.Chart) {
    return; // the tables carry every number without it
  }
  var DASHES = [[], [6, 4], [2, 3], [10, 4, 2, 4]];
  var POINTS = ["circle", "triangle", "rect", "rectRot", "star", "crossRot", "cross", "dash"];
  var ROW_HEIGHT_PX = 30;
  var AXES_HEIGHT_PX = 60;

  function read(table) {
    var series = [];
    var headers = table.tHead.rows[0].cells;
    for (var column = 1; column < headers.length; column++) {
      if (headers[column].dataset.colour) {
        series.push({
          column: column,
          label: headers[column].textContent.trim(),
          colour: headers[column].dataset.colour,
          data: []
        });
      }
    }
    var labels = [];
    Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
      labels.push(row.cells[0].textContent.trim());
      series.forEach(function (one) {
        var cell = row.cells[one.column];
        var raw = cell.dataset.value;
        one.data.push(raw === "" ? null : Number(raw));
        one.shown = one.shown || [];
        one.shown.push(cell.textContent.trim());
      });
    });
    return { labels: labels, series: series };
  }

  function datasets(kind, series) {
    return series.map(function (one, index) {
      var dataset = {
        label: one.label,
        data: one.data,
        backgroundColor: one.colour,
        borderColor: one.colour,
        shown: one.shown
      };
      if (kind === "lines") {
        dataset.borderDash = DASHES[index % DASHES.length];
        dataset.pointStyle = POINTS[index % POINTS.length];
        dataset.pointRadius = 4;
        dataset.borderWidth = 2;
      } else {
        dataset.borderColor = "#ffffff"; // a gap between stacked parts
        dataset.borderWidth = kind === "stacked" ? 1 : 0;
      }
      return dataset;
    });
  }

  function options(kind) {
    var across = kind === "bars";
    var stacked = kind === "stacked";
    return {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      indexAxis: across ? "y" : "x",
      interaction: { mode: "index", intersect: false, axis: across ? "y" : "x" },
      scales: {
        x: { stacked: stacked, beginAtZero: true, ticks: { maxRotation: 0, autoSkip: true, precision: 0 } },
        y: { stacked: stacked, beginAtZero: true, ticks: { precision: 0 } }
      },
      plugins: {
        legend: { display: !across, position: "bottom", labels: { usePointStyle: kind === "lines" } },
        tooltip: {
          callbacks: {
            // The table's own words for the number: "38%", "1,204".
            label: function (item) {
              return item.dataset.label + ": " + item.dataset.shown[item.dataIndex];
            }
          }
        }
      }
    };
  }

  function percentAxis(chart, table) {
    var plotted = table.tHead.querySelectorAll("th[data-colour]");
    var percent = Array.prototype.every.call(plotted, function (header) {
      return header.dataset.format === "percent";
    });
    if (percent) {
      chart.options.scales.y.ticks.callback = function (value) { return value + "%"; };
      chart.options.scales.y.ticks.precision = undefined;
    }
  }

  // The arrow keys step through the chart's points, showing each one's numbers.
  function keyboard(chart, canvas, count) {
    var index = null;
    canvas.tabIndex = 0;
    canvas.setAttribute(
      "aria-label",
      canvas.getAttribute("aria-label") + " The arrow keys step through it."
    );
    function show() {
      var active = [];
      chart.data.datasets.forEach(function (dataset, datasetIndex) {
        if (chart.isDatasetVisible(datasetIndex) && dataset.data[index] !== null) {
          active.push({ datasetIndex: datasetIndex, index: index });
        }
      });
      chart.setActiveElements(active);
      chart.tooltip.setActiveElements(active, { x: 0, y: 0 });
      chart.update();
    }
    function hide() {
      index = null;
      chart.setActiveElements([]);
      chart.tooltip.setActiveElements([], { x: 0, y: 0 });
      chart.update();
    }
    canvas.addEventListener("keydown", function (event) {
      var next = {
        ArrowRight: index === null ? 0 : Math.min(count - 1, index + 1),
        ArrowDown: index === null ? 0 : Math.min(count - 1, index + 1),
        ArrowLeft: index === null ? count - 1 : Math.max(0, index - 1),
        ArrowUp: index === null ? count - 1 : Math.max(0, index - 1),
        Home: 0,
        End: count - 1
      }[event.key];
      if (event.key === "Escape") {
        hide();
      } else if (next !== undefined) {
        index = next;
        show();
      } else {
        return;
      }
      event.preventDefault();
    });
    canvas.addEventListener("blur", hide);
  }

  function draw(figure) {
    var table = document.getElementById(figure.dataset.table);
    var canvas = figure.querySelector("canvas");
    if (!table || !canvas) {
      return;
    }
    var kind = figure.dataset.kind;
    var data = read(table);
    if (kind === "bars") {
      figure.style.height = data.labels.length * ROW_HEIGHT_PX + AXES_HEIGHT_PX + "px";
    }
    var chart = new window.Chart(canvas, {
      type: kind === "lines" ? "line" : "bar",
      data: { labels: data.labels, datasets: datasets(kind, data.series) },
      options: options(kind)
    });
    percentAxis(chart, table);
    chart.update();
    keyboard(chart, canvas, data.labels.length);
  }

  function start() {
    var text = window.getComputedStyle(document.body);
    window.Chart.defaults.color = text.color;
    window.Chart.defaults.font.family = text.fontFamily;
    document.querySelectorAll("figure.chart[data-kind]").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
