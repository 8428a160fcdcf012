/* Score charts of the fee-recovery risk and account-health pages. An element with data-chart="score-trend" draws an
   account's score over time with the level bands; data-chart="score-distribution" draws a portfolio's accounts per
   level (and the arrears per level when the data has them). data-source names the json_script holding the data. */
(function () {
  "use strict";
  var charts = [];

  function data(id) {
    var el = id && document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function trend(chart, d) {
    if (!d.days.length) {
      chart.setOption({title: {text: d.labels.none, left: "center", top: "middle", textStyle: {fontSize: 13, color: "#868e96"}}});
      return;
    }
    chart.setOption({
      animation: false,
      tooltip: {trigger: "axis", formatter: function (ps) {
        var i = ps[0].dataIndex;
        return d.days[i] + "<br>" + d.labels.score + ": " + d.scores[i] + " (" + d.levels[i] + ")";
      }},
      grid: {left: 40, right: 80, top: 20, bottom: 50},
      xAxis: {type: "category", data: d.days},
      yAxis: {type: "value", min: 0, max: 100},
      dataZoom: [{type: "inside"}, {type: "slider", bottom: 5, height: 15}],
      series: [{
        name: d.labels.score, type: "line", data: d.scores, showSymbol: d.days.length < 60, lineStyle: {width: 2},
        itemStyle: {color: "#343a40"},
        markArea: {silent: true, data: d.bands.map(function (b) {
          return [{yAxis: b.from, name: b.label, itemStyle: {color: b.colour, opacity: 0.12},
            label: {position: "right", color: b.colour}}, {yAxis: b.to}];
        })}
      }]
    });
  }

  function distribution(chart, d) {
    var accounts = {name: d.labels.accounts, type: "bar", data: d.accounts.map(function (v, i) {
      return {value: v, itemStyle: {color: d.colours[i]}};
    })};
    var withArrears = Array.isArray(d.arrears);
    chart.setOption({
      animation: false,
      tooltip: {trigger: "axis"},
      legend: withArrears ? {top: 0} : {show: false},
      grid: {left: 50, right: withArrears ? 80 : 20, top: withArrears ? 30 : 20, bottom: 30},
      xAxis: {type: "category", data: d.levels},
      yAxis: withArrears
        ? [{type: "value", name: d.labels.accounts, minInterval: 1}, {type: "value", name: d.labels.arrears}]
        : {type: "value", name: d.labels.accounts, minInterval: 1},
      series: withArrears
        ? [accounts, {name: d.labels.arrears, type: "line", yAxisIndex: 1, data: d.arrears, itemStyle: {color: "#495057"}}]
        : [accounts]
    });
  }

  var DRAW = {"score-trend": trend, "score-distribution": distribution};

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.echarts) { return; }
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var draw = DRAW[el.dataset.chart];
      var d = data(el.dataset.source);
      if (!draw || !d) { return; }
      var chart = echarts.init(el);
      charts.push(chart);
      draw(chart, d);
    });
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  });
})();
