/* The project's Gantt-style timeline: per stage a thin planned bar (start → due date by its time limit) above the
   actual bar (start → end, or today while it runs; red when it ended after its due date), clock stops shaded
   across the chart, and the project's due date as a line. The data comes with the page (json_script). */
(function () {
  "use strict";
  var el = document.getElementById("expansion-timeline");
  var source = document.getElementById("expansion-timeline-data");
  if (!el || !source || !window.echarts) { return; }
  var d = JSON.parse(source.textContent);
  var DAY = 86400000;
  function t(iso) { return new Date(iso + "T00:00:00").getTime(); }
  var names = d.stages.map(function (s) { return s.label; });
  var planned = [], actual = [];
  d.stages.forEach(function (s, i) {
    if (!s.start) { return; }
    if (s.planned_end) { planned.push([i, t(s.start), t(s.planned_end) + DAY, "planned"]); }
    actual.push([i, t(s.start), t(s.end) + DAY, s.late ? "late" : (s.state === "current" ? "current" : "done")]);
  });
  var COLORS = {planned: "#adb5bd", late: "#e03131", current: "#1c7ed6", done: "#2f9e44"};
  function bars(offset, height) {
    return function (params, api) {
      var start = api.coord([api.value(1), api.value(0)]);
      var end = api.coord([api.value(2), api.value(0)]);
      var band = api.size([0, 1])[1];
      var rect = echarts.graphic.clipRectByRect(
        {x: start[0], y: start[1] + band * offset, width: Math.max(end[0] - start[0], 2), height: band * height},
        {x: params.coordSys.x, y: params.coordSys.y, width: params.coordSys.width, height: params.coordSys.height}
      );
      return rect && {type: "rect", shape: rect, style: {fill: COLORS[api.value(3)]}};
    };
  }
  var markArea = {silent: true, itemStyle: {color: "rgba(134, 142, 150, 0.18)"},
    data: d.stops.map(function (s) { return [{name: s.reason, xAxis: t(s.start) + DAY}, {xAxis: t(s.end) + DAY}]; })};
  var markLine = d.due ? {silent: true, symbol: "none", lineStyle: {color: "#e03131", type: "dashed"},
    label: {formatter: d.labels.due}, data: [{xAxis: t(d.due) + DAY}]} : undefined;
  var chart = echarts.init(el);
  chart.setOption({
    animation: false,
    tooltip: {formatter: function (p) {
      var v = p.value;
      return names[v[0]] + "<br>" + p.seriesName + ": " + new Date(v[1]).toLocaleDateString() + " – " +
        new Date(v[2] - DAY).toLocaleDateString();
    }},
    legend: {top: 0, data: [d.labels.planned, d.labels.actual, d.labels.stop]},
    grid: {left: 10, right: 30, top: 35, bottom: 25, containLabel: true},
    xAxis: {type: "time"},
    yAxis: {type: "category", data: names, inverse: true},
    series: [
      {name: d.labels.planned, type: "custom", renderItem: bars(-0.35, 0.25), encode: {x: [1, 2], y: 0}, data: planned,
       itemStyle: {color: COLORS.planned}, markLine: markLine},
      {name: d.labels.actual, type: "custom", renderItem: bars(-0.05, 0.4), encode: {x: [1, 2], y: 0}, data: actual,
       itemStyle: {color: COLORS.current}},
      {name: d.labels.stop, type: "line", data: [], itemStyle: {color: "rgba(134, 142, 150, 0.5)"}, markArea: markArea}
    ]
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
