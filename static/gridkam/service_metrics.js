/* Service metrics charts: SLA compliance by team, tier and type (bars), by month (lines), backlog aging
   (stacked bars by type) and plan items against plan by team. The data comes with the page (json_script);
   percentages are 0–100, null where nothing was decided. */
(function () {
  "use strict";
  var charts = [];
  var TARGETS = ["response", "onsite", "resolution"];
  var COLOURS = ["#0b5394", "#e69138", "#6aa84f", "#343a40"];
  var AGE_COLOURS = ["#6aa84f", "#a4c2f4", "#f1c232", "#e69138", "#cc0000"];

  function chartOn(id) {
    var el = document.getElementById(id);
    if (!el || !window.echarts) { return null; }
    var chart = echarts.init(el);
    charts.push(chart);
    return chart;
  }
  function empty(chart, d) {
    chart.setOption({title: {text: d.labels.none, left: "center", top: "middle", textStyle: {fontSize: 13, color: "#868e96"}}});
  }
  function pct(v) { return v === null || v === undefined ? "—" : v + " %"; }

  function compliance(id, d, rows, line) {
    var chart = chartOn(id);
    if (!chart) { return; }
    if (!rows.names.length) { empty(chart, d); return; }
    var keys = line ? TARGETS.concat(["overall"]) : TARGETS;
    chart.setOption({
      animation: false,
      color: COLOURS,
      tooltip: {trigger: "axis", valueFormatter: pct},
      legend: {top: 0},
      grid: {left: 45, right: 16, top: 35, bottom: 30, containLabel: true},
      xAxis: {type: "category", data: rows.names, axisLabel: {interval: 0, width: 90, overflow: "truncate"}},
      yAxis: {type: "value", min: 0, max: 100, name: d.labels.compliance},
      series: keys.map(function (k) {
        return line
          ? {name: d.labels[k], type: "line", data: rows[k], connectNulls: false, lineStyle: {width: k === "overall" ? 3 : 2}}
          : {name: d.labels[k], type: "bar", data: rows[k]};
      })
    });
  }

  function backlog(d) {
    var chart = chartOn("metrics-backlog");
    if (!chart) { return; }
    if (!d.backlog.names.length) { empty(chart, d); return; }
    chart.setOption({
      animation: false,
      color: AGE_COLOURS,
      tooltip: {trigger: "axis"},
      legend: {top: 0},
      grid: {left: 40, right: 16, top: 35, bottom: 30, containLabel: true},
      xAxis: {type: "category", data: d.backlog.names, axisLabel: {interval: 0, width: 80, overflow: "truncate"}},
      yAxis: {type: "value", minInterval: 1, name: d.labels.requests},
      series: d.labels.buckets.map(function (label, i) {
        return {name: label, type: "bar", stack: "age", data: d.backlog.buckets[i]};
      })
    });
  }

  function visits(d) {
    var chart = chartOn("metrics-visits");
    if (!chart) { return; }
    if (!d.visits.names.length) { empty(chart, d); return; }
    chart.setOption({
      animation: false,
      color: ["#a4c2f4", "#6aa84f", "#cc0000"],
      tooltip: {trigger: "axis"},
      legend: {top: 0},
      grid: {left: 40, right: 16, top: 35, bottom: 30, containLabel: true},
      xAxis: {type: "category", data: d.visits.names, axisLabel: {interval: 0, width: 90, overflow: "truncate"}},
      yAxis: {type: "value", minInterval: 1},
      series: [
        {name: d.labels.due, type: "bar", data: d.visits.due},
        {name: d.labels.done, type: "bar", data: d.visits.done},
        {name: d.labels.overdue, type: "bar", data: d.visits.overdue}
      ]
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("data-service-metrics");
    if (!el) { return; }
    var d = JSON.parse(el.textContent);
    compliance("metrics-by-team", d, d.by_team, false);
    compliance("metrics-by-tier", d, d.by_tier, false);
    compliance("metrics-by-type", d, d.by_type, false);
    compliance("metrics-trend", d, d.trend, true);
    backlog(d);
    visits(d);
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  });
})();
