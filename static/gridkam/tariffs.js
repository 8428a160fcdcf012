/* Charts of the tariff pages: the time-of-use heat map (month × hour) and the advisor's bars. */
(function () {
  "use strict";
  function data(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }
  function heatmap() {
    var el = document.getElementById("tou-heatmap"), d = data("data-heatmap");
    if (!el || !d || !window.echarts) { return; }
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: {
        formatter: function (p) {
          return d.months[p.value[1]] + " " + d.hours[p.value[0]] + ":00 — " + d.periods[p.value[2]].label;
        }
      },
      grid: {left: 70, right: 20, top: 10, bottom: 70},
      xAxis: {type: "category", data: d.hours, splitArea: {show: true}},
      yAxis: {type: "category", data: d.months, inverse: true, splitArea: {show: true}},
      visualMap: {
        type: "piecewise", orient: "horizontal", left: "center", bottom: 5,
        pieces: d.periods.map(function (p, i) { return {value: i, label: p.label, color: p.colour}; })
      },
      series: [{type: "heatmap", data: d.cells, itemStyle: {borderColor: "#fff", borderWidth: 1}}]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  function advisorBars() {
    var el = document.getElementById("advice-chart"), d = data("data-advice-chart");
    if (!el || !d || !window.echarts) { return; }
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: {trigger: "axis"},
      legend: {bottom: 0},
      grid: {left: 80, right: 20, top: 20, bottom: 60},
      xAxis: {type: "category", data: d.months},
      yAxis: {type: "value", name: d.unit, nameTextStyle: {align: "right"}},
      series: d.series.map(function (s) {
        return {name: s.name, type: "bar", stack: "energy", data: s.data, itemStyle: {color: s.colour}};
      })
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  function savings() {
    var el = document.getElementById("advice-savings"), d = data("data-advice-savings");
    if (!el || !d || !window.echarts) { return; }
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: {trigger: "axis", axisPointer: {type: "shadow"}},
      grid: {left: 10, right: 40, top: 10, bottom: 20, containLabel: true},
      xAxis: {type: "value", name: d.unit},
      yAxis: {type: "category", data: d.labels, axisLabel: {width: 220, overflow: "truncate"}},
      series: [{type: "bar", data: d.values, itemStyle: {color: "#2f9e44"}, label: {show: true, position: "right"}}]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  document.addEventListener("DOMContentLoaded", function () { heatmap(); advisorBars(); savings(); });
})();
