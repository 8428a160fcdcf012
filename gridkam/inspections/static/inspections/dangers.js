/* Open hidden dangers by severity (stacked bars) and age since found (the bands on the axis). The data comes with
   the page (json_script "data-danger-chart"). */
(function () {
  "use strict";
  var COLORS = {general: "#868e96", serious: "#fab005", major: "#e03131"};
  var el = document.getElementById("danger-chart");
  var data = document.getElementById("data-danger-chart");
  if (!el || !data || !window.echarts) { return; }
  var d = JSON.parse(data.textContent);
  var chart = echarts.init(el);
  if (!d.total) {
    chart.setOption({title: {text: d.labels.none, left: "center", top: "middle", textStyle: {fontSize: 13, color: "#868e96"}}});
  } else {
    chart.setOption({
      animation: false,
      tooltip: {trigger: "axis", axisPointer: {type: "shadow"}},
      legend: {top: 0},
      grid: {left: 40, right: 20, top: 35, bottom: 30, containLabel: true},
      xAxis: {type: "category", data: d.bands, name: d.labels.days, nameLocation: "middle", nameGap: 28},
      yAxis: {type: "value", minInterval: 1},
      series: d.series.map(function (s) {
        return {name: s.name, type: "bar", stack: "open", data: s.data, itemStyle: {color: COLORS[s.code]}};
      })
    });
  }
  window.addEventListener("resize", function () { chart.resize(); });
})();
