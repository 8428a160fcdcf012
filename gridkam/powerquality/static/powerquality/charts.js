/* Power-quality charts: voltage sags as a scatter of duration (log scale) against residual voltage with the
   tolerance curve as a step line (points outside it in red), and the events per month stacked by kind.
   The data comes with the page (json_script "pq-chart-data"). */
(function () {
  "use strict";
  var el = document.getElementById("pq-chart-data");
  if (!el || !window.echarts) { return; }
  var d = JSON.parse(el.textContent);
  var charts = [];

  function chartOn(id) {
    var node = document.getElementById(id);
    if (!node) { return null; }
    var chart = echarts.init(node);
    charts.push(chart);
    return chart;
  }
  function empty(chart) {
    chart.setOption({title: {text: d.labels.none, left: "center", top: "middle", textStyle: {fontSize: 13, color: "#868e96"}}});
  }

  var sags = chartOn("pq-sag-chart");
  if (sags) {
    if (!d.inside.length && !d.outside.length) { empty(sags); } else {
      sags.setOption({
        animation: false,
        tooltip: {trigger: "item", formatter: function (p) { return p.seriesName + "<br>" + p.value[0] + " ms · " + p.value[1] + " %"; }},
        legend: {top: 0, right: 0},
        grid: {left: 50, right: 20, top: 50, bottom: 40, containLabel: true},
        xAxis: {type: "log", name: d.labels.duration, nameLocation: "middle", nameGap: 28, min: 1, logBase: 10},
        yAxis: {type: "value", name: d.labels.residual, min: 0, max: 100},
        series: [
          {name: d.labels.curve, type: "line", data: d.curve, symbol: "none", lineStyle: {color: "#495057", type: "dashed"}, z: 1},
          {name: d.labels.inside, type: "scatter", data: d.inside, symbolSize: 7, itemStyle: {color: "#1c7ed6"}},
          {name: d.labels.outside, type: "scatter", data: d.outside, symbolSize: 8, itemStyle: {color: "#e03131"}}
        ]
      });
    }
  }

  var months = chartOn("pq-month-chart");
  if (months) {
    if (!d.months.length) { empty(months); } else {
      months.setOption({
        animation: false,
        tooltip: {trigger: "axis"},
        legend: {top: 0, type: "scroll"},
        grid: {left: 10, right: 10, top: 35, bottom: 10, containLabel: true},
        xAxis: {type: "category", data: d.months},
        yAxis: {type: "value", minInterval: 1},
        series: d.kinds.map(function (k) { return {name: k.name, type: "bar", stack: "kinds", data: k.counts}; })
      });
    }
  }

  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
