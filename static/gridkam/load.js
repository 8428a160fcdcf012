/* Load analytics charts: the 15-minute curve (fetched from the API, zoomed by day/week/month/year, one series per
   metering point plus the account total), the daily band, the month × quarter-hour heat map, and the month
   charts rendered with the page (energy year on year, period share, power factor, demand against contract). */
(function () {
  "use strict";
  var DAY_MS = 86400000, STEP_MS = 900000;
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
  function timed(start, values) {
    // [[time, value], …] on the 15-minute axis; missing readings stay null so the line breaks there.
    var out = new Array(values.length);
    for (var i = 0; i < values.length; i++) { out[i] = [start + i * STEP_MS, values[i]]; }
    return out;
  }
  function dayMs(text) {
    // "YYYY-MM-DD" as local midnight in Asia/Shanghai (UTC+8, no daylight saving).
    return Date.parse(text + "T00:00:00+08:00");
  }

  function curve(options, doc) {
    var chart = chartOn("load-curve");
    var status = document.getElementById("load-curve-status");
    if (!chart) { return; }
    var start = Date.parse(doc.first_interval_end);
    var series = [];
    var single = doc.series.length === 1;
    if (!single) {
      series.push({name: options.labels.total, type: "line", showSymbol: false, sampling: "lttb",
        lineStyle: {width: 1.5}, data: timed(start, doc.total_kw)});
    }
    doc.series.forEach(function (s) {
      series.push({name: s.metering_point, type: "line", showSymbol: false, sampling: "lttb",
        lineStyle: {width: 1}, data: timed(start, s.kw)});
    });
    var hasData = doc.total_kw.some(function (v) { return v !== null; });
    status.textContent = hasData ? "" : options.labels.none;
    chart.setOption({
      animation: false,
      tooltip: {trigger: "axis", valueFormatter: function (v) { return v === null ? "—" : v + " kW"; }},
      legend: {top: 0, type: "scroll"},
      grid: {left: 60, right: 20, top: 30, bottom: 70},
      xAxis: {type: "time"},
      yAxis: {type: "value", name: "kW"},
      dataZoom: [{type: "inside", filterMode: "none"}, {type: "slider", filterMode: "none", bottom: 10}],
      series: series
    });
    var first = dayMs(doc.first_day), end = dayMs(doc.last_day) + DAY_MS;
    function zoom(kind) {
      var span = {day: DAY_MS, week: 7 * DAY_MS, month: 30 * DAY_MS}[kind];
      var at = options.at ? dayMs(options.at) : null;
      var from = first, to = end;
      if (span) {
        if (at !== null && at >= first && at < end) {
          from = at; to = Math.min(at + span, end);
        } else {
          from = Math.max(end - span, first);
        }
      }
      chart.dispatchAction({type: "dataZoom", startValue: from, endValue: to});
      document.querySelectorAll("[data-zoom]").forEach(function (b) {
        b.classList.toggle("active", b.getAttribute("data-zoom") === kind);
      });
    }
    document.querySelectorAll("[data-zoom]").forEach(function (button) {
      button.addEventListener("click", function () { options.at = ""; zoom(button.getAttribute("data-zoom")); });
    });
    zoom(options.zoom || "month");
    band(options, doc.daily);
    heatmap(doc.heatmap);
  }

  function band(options, daily) {
    var chart = chartOn("load-band");
    if (!chart) { return; }
    var lows = daily.min_kw, spans = daily.max_kw.map(function (v, i) {
      return v === null || lows[i] === null ? null : Math.round((v - lows[i]) * 1000) / 1000;
    });
    chart.setOption({
      animation: false,
      tooltip: {trigger: "axis", formatter: function (ps) {
        var i = ps[0].dataIndex;
        return daily.days[i] + "<br>" + options.labels.highest + ": " + (daily.max_kw[i] ?? "—") + " kW<br>" +
          options.labels.mean + ": " + (daily.mean_kw[i] ?? "—") + " kW<br>" +
          options.labels.lowest + ": " + (daily.min_kw[i] ?? "—") + " kW";
      }},
      legend: {top: 0, data: [options.labels.mean]},
      grid: {left: 60, right: 20, top: 30, bottom: 50},
      xAxis: {type: "category", data: daily.days},
      yAxis: {type: "value", name: "kW"},
      dataZoom: [{type: "inside"}, {type: "slider", bottom: 5, height: 15}],
      series: [
        {name: "low", type: "line", stack: "band", data: lows, showSymbol: false, lineStyle: {opacity: 0}},
        {name: "span", type: "line", stack: "band", data: spans, showSymbol: false, lineStyle: {opacity: 0},
          areaStyle: {color: "rgba(77,171,247,0.35)"}},
        {name: options.labels.mean, type: "line", data: daily.mean_kw, showSymbol: false, lineStyle: {width: 1.5}}
      ]
    });
  }

  function heatmap(map) {
    var chart = chartOn("load-heatmap");
    if (!chart) { return; }
    var cells = [], high = 0;
    map.mean_kw.forEach(function (row, y) {
      row.forEach(function (v, x) {
        if (v !== null) { cells.push([x, y, v]); if (v > high) { high = v; } }
      });
    });
    chart.setOption({
      animation: false,
      tooltip: {formatter: function (p) {
        return map.months[p.value[1]] + " " + map.quarter_hours[p.value[0]] + " — " + p.value[2] + " kW";
      }},
      grid: {left: 70, right: 20, top: 10, bottom: 60},
      xAxis: {type: "category", data: map.quarter_hours, axisLabel: {interval: 7}},
      yAxis: {type: "category", data: map.months, inverse: true},
      visualMap: {min: 0, max: high || 1, calculable: true, orient: "horizontal", left: "center", bottom: 0,
        itemHeight: 120, inRange: {color: ["#e7f5ff", "#4dabf7", "#f08c00", "#c92a2a"]}},
      series: [{type: "heatmap", data: cells}]
    });
  }

  function months(d) {
    var trend = chartOn("load-trend");
    if (trend) {
      var bars = d.periods.map(function (p) {
        return {name: p.label, type: "bar", stack: "kwh", data: p.kwh, itemStyle: {color: p.colour}};
      });
      bars.push({name: d.labels.kwh_year_before, type: "line", data: d.kwh_year_before,
        lineStyle: {type: "dashed"}, itemStyle: {color: "#868e96"}});
      trend.setOption({
        tooltip: {trigger: "axis"}, legend: {top: 0, type: "scroll"},
        grid: {left: 80, right: 20, top: 40, bottom: 30},
        xAxis: {type: "category", data: d.months}, yAxis: {type: "value", name: "kWh"}, series: bars
      });
    }
    var pf = chartOn("load-pf");
    if (pf) {
      var pfSeries = {name: d.labels.power_factor, type: "line", data: d.power_factor, connectNulls: false};
      if (d.pf_standard !== null) {
        pfSeries.markLine = {symbol: "none", lineStyle: {color: "#c92a2a", type: "dashed"},
          label: {formatter: d.labels.pf_standard + " {c}"}, data: [{yAxis: d.pf_standard}]};
      }
      pf.setOption({
        tooltip: {trigger: "axis"}, grid: {left: 50, right: 90, top: 20, bottom: 30},
        xAxis: {type: "category", data: d.months},
        yAxis: {type: "value", min: function (v) { return Math.min(0.7, Math.floor(v.min * 20) / 20); }, max: 1},
        series: [pfSeries]
      });
    }
    var demand = chartOn("load-demand");
    if (demand) {
      var lines = [];
      if (d.contract_demand_kw !== null) {
        lines.push({yAxis: d.contract_demand_kw, name: d.labels.contract_demand_kw, lineStyle: {color: "#f08c00"}});
        lines.push({yAxis: Math.round(d.contract_demand_kw * 105) / 100, name: d.labels.over_contract,
          lineStyle: {color: "#c92a2a"}});
      }
      lines.push({yAxis: d.capacity_kva, name: d.labels.capacity_kva, lineStyle: {color: "#868e96"}});
      demand.setOption({
        tooltip: {trigger: "axis"}, legend: {top: 0},
        grid: {left: 70, right: 150, top: 40, bottom: 30},
        xAxis: {type: "category", data: d.months},
        // The axis reaches the contract and capacity lines even when the demand stays well below them.
        yAxis: {type: "value", name: "kW", max: function (v) {
          var top = Math.max(v.max, d.capacity_kva, d.contract_demand_kw === null ? 0 : d.contract_demand_kw * 1.05);
          return Math.ceil(top * 1.05);
        }},
        series: [
          {name: d.labels.max_demand_kw, type: "bar", data: d.max_demand_kw, itemStyle: {color: "#4dabf7"},
            markLine: {symbol: "none", label: {position: "end", formatter: "{b}"}, lineStyle: {type: "dashed"}, data: lines}}
        ]
      });
    }
  }

  function share(items) {
    var chart = chartOn("load-share");
    if (!chart || !items) { return; }
    chart.setOption({
      tooltip: {trigger: "item", formatter: "{b}: {c} kWh ({d}%)"},
      legend: {bottom: 0},
      series: [{type: "pie", radius: ["35%", "65%"], data: items.map(function (p) {
        return {name: p.label, value: p.kwh, itemStyle: {color: p.colour}};
      })}]
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var options = data("data-load-curve-options");
    var m = data("data-load-months");
    if (m) { months(m); }
    share(data("data-load-share"));
    var el = document.getElementById("load-curve");
    if (el && options) {
      var url = options.url + "?from=" + options.from + "&to=" + options.to;
      fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}})
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
        .then(function (doc) { curve(options, doc); })
        .catch(function () {
          document.getElementById("load-curve-status").textContent = options.labels.failed;
        });
    }
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  });
})();
