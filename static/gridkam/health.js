/* Account-health charts: an account's score over the last 12 months with the level bands, and the portfolio's
   accounts per level. The data comes with the page (json_script). */
(function () {
  "use strict";
  var charts = [];

  function data(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }
  function chartOn(id) {
    var el = document.getElementById(id);
    if (!el || !window.echarts) { return null; }
    var chart = echarts.init(el);
    charts.push(chart);
    return chart;
  }

  function trend(d) {
    var chart = chartOn("health-trend");
    if (!chart || !d) { return; }
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

  function distribution(d) {
    var chart = chartOn("health-distribution");
    if (!chart || !d) { return; }
    chart.setOption({
      animation: false,
      tooltip: {trigger: "axis"},
      grid: {left: 50, right: 20, top: 20, bottom: 30},
      xAxis: {type: "category", data: d.levels},
      yAxis: {type: "value", name: d.labels.accounts, minInterval: 1},
      series: [{name: d.labels.accounts, type: "bar", data: d.accounts.map(function (v, i) {
        return {value: v, itemStyle: {color: d.colours[i]}};
      })}]
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    trend(data("data-health-trend"));
    distribution(data("data-health-distribution"));
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  });
})();
