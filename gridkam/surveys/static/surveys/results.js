/* Survey results charts: NPS and mean satisfaction per period (bars and a line), the dimension means (bars, overall
   and per group) and the distribution of the 0–10 answers coloured by band. The data comes with the page
   (json_script); empty values are null. */
(function () {
  "use strict";
  var charts = [];
  var BANDS = ["#e03131", "#fab005", "#40c057"];

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
  function hasValues(list) { return list.some(function (v) { return v !== null && v !== undefined && v !== 0; }); }

  function trend(d) {
    var chart = chartOn("results-trend");
    if (!chart) { return; }
    var t = d.trend;
    if (!t.names.length) { empty(chart, d); return; }
    chart.setOption({
      animation: false,
      tooltip: {trigger: "axis"},
      legend: {top: 0},
      grid: {left: 45, right: 45, top: 35, bottom: 30, containLabel: true},
      xAxis: {type: "category", data: t.names},
      yAxis: [
        {type: "value", min: -100, max: 100, name: d.labels.nps},
        {type: "value", min: 1, max: 5, name: d.labels.satisfaction, splitLine: {show: false}}
      ],
      series: [
        {name: d.labels.nps, type: "bar", data: t.nps, itemStyle: {color: "#0b5394"}},
        {name: d.labels.satisfaction, type: "line", yAxisIndex: 1, data: t.satisfaction, connectNulls: true, itemStyle: {color: "#e69138"}}
      ]
    });
  }

  function dimensions(d) {
    var chart = chartOn("results-dimensions");
    if (!chart) { return; }
    var dims = d.dimensions;
    if (!hasValues(dims.overall)) { empty(chart, d); return; }
    var series = [{name: d.labels.all, type: "bar", data: dims.overall}];
    dims.groups.forEach(function (g) { series.push({name: g.name, type: "bar", data: g.values}); });
    chart.setOption({
      animation: false,
      tooltip: {trigger: "axis"},
      legend: {top: 0, type: "scroll"},
      grid: {left: 10, right: 16, top: 35, bottom: 10, containLabel: true},
      xAxis: {type: "value", min: 0, max: 5},
      yAxis: {type: "category", data: dims.names, inverse: true},
      series: series
    });
  }

  function distribution(d) {
    var chart = chartOn("results-distribution");
    if (!chart) { return; }
    var counts = d.distribution.nps;
    if (!hasValues(counts)) { empty(chart, d); return; }
    chart.setOption({
      animation: false,
      tooltip: {trigger: "axis"},
      grid: {left: 10, right: 10, top: 20, bottom: 10, containLabel: true},
      xAxis: {type: "category", data: counts.map(function (_, i) { return String(i); })},
      yAxis: {type: "value", minInterval: 1, name: d.labels.answers},
      series: [{
        type: "bar",
        name: d.labels.answers,
        data: counts.map(function (n, i) {
          return {value: n, itemStyle: {color: i <= 6 ? BANDS[0] : (i <= 8 ? BANDS[1] : BANDS[2])}};
        })
      }]
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("data-survey-results");
    if (!el) { return; }
    var d = JSON.parse(el.textContent);
    trend(d);
    dimensions(d);
    distribution(d);
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  });
})();
