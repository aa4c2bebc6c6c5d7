#include "control/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace taskpoller::control {
namespace {

TEST(Metrics, CounterWithLabelsAndZeroInit) {
    metrics_registry r;
    auto& f = r.add_counter("taskpoller_submissions_total", "Submissions by outcome.", {"outcome"});
    f.with({"accepted"});
    f.with({"rejected"}).inc(2);
    f.with({"rejected"}).inc(-5);  // ignored: counters never decrease
    EXPECT_EQ(r.render(),
              "# HELP taskpoller_submissions_total Submissions by outcome.\n"
              "# TYPE taskpoller_submissions_total counter\n"
              "taskpoller_submissions_total{outcome=\"accepted\"} 0\n"
              "taskpoller_submissions_total{outcome=\"rejected\"} 2\n");
}

TEST(Metrics, GaugeWithoutLabels) {
    metrics_registry r;
    auto& g = r.add_gauge("taskpoller_up", "Up.").with();
    g.set(1.5);
    g.inc();
    g.dec(0.25);
    EXPECT_EQ(r.render(),
              "# HELP taskpoller_up Up.\n# TYPE taskpoller_up gauge\ntaskpoller_up 2.25\n");
}

TEST(Metrics, HistogramIsCumulative) {
    metrics_registry r;
    auto& h = r.add_histogram("lat_seconds", "Latency.", {"route"}, {0.1, 1});
    auto& s = h.with({"/x"});
    s.observe(0.05);
    s.observe(0.1);  // le is inclusive
    s.observe(0.5);
    s.observe(7);
    EXPECT_EQ(r.render(),
              "# HELP lat_seconds Latency.\n# TYPE lat_seconds histogram\n"
              "lat_seconds_bucket{route=\"/x\",le=\"0.1\"} 2\n"
              "lat_seconds_bucket{route=\"/x\",le=\"1\"} 3\n"
              "lat_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4\n"
              "lat_seconds_sum{route=\"/x\"} 7.65\n"
              "lat_seconds_count{route=\"/x\"} 4\n");
}

TEST(Metrics, EscapesLabelValuesAndHelp) {
    metrics_registry r;
    r.add_gauge("g", "a \\ help\nline", {"v"}).with({"q\"b\\s\nn"}).set(1);
    EXPECT_EQ(r.render(),
              "# HELP g a \\\\ help\\nline\n# TYPE g gauge\ng{v=\"q\\\"b\\\\s\\nn\"} 1\n");
}

TEST(Metrics, SpecialValues) {
    EXPECT_EQ(format_sample(std::numeric_limits<double>::infinity()), "+Inf");
    EXPECT_EQ(format_sample(-std::numeric_limits<double>::infinity()), "-Inf");
    EXPECT_EQ(format_sample(std::nan("")), "NaN");
    EXPECT_EQ(format_sample(1e21), "1e+21");
    EXPECT_EQ(format_sample(3), "3");
}

TEST(Metrics, RejectsBadRegistrations) {
    metrics_registry r;
    r.add_counter("ok_total", "x");
    EXPECT_THROW(r.add_counter("ok_total", "x"), std::invalid_argument);
    EXPECT_THROW(r.add_counter("1bad", "x"), std::invalid_argument);
    EXPECT_THROW(r.add_counter("bad-name", "x"), std::invalid_argument);
    EXPECT_THROW(r.add_counter("c", "x", {"__reserved"}), std::invalid_argument);
    EXPECT_THROW(r.add_counter("c2", "x", {"le"}), std::invalid_argument);
    EXPECT_THROW(r.add_histogram("h", "x", {}, {1, 0.5}), std::invalid_argument);
    EXPECT_THROW(r.add_histogram("h2", "x", {}, {}), std::invalid_argument);
    auto& f = r.add_counter("c3", "x", {"a", "b"});
    EXPECT_THROW(f.with({"only-one"}), std::invalid_argument);
}

TEST(Metrics, CollectorsRunBeforeRender) {
    metrics_registry r;
    auto& g = r.add_gauge("n", "n").with();
    int runs = 0;
    r.on_collect([&] { g.set(++runs); });
    EXPECT_NE(r.render().find("n 1\n"), std::string::npos);
    EXPECT_NE(r.render().find("n 2\n"), std::string::npos);
}

TEST(Metrics, ProcessMetricsFromProc) {
    metrics_registry r;
    add_process_metrics(r);
    std::string text = r.render();
    auto value = [&](const std::string& name) {
        auto pos = text.find("\n" + name + " ");
        EXPECT_NE(pos, std::string::npos) << name;
        return std::stod(text.substr(pos + name.size() + 2));
    };
    EXPECT_GT(value("process_resident_memory_bytes"), 1e6);
    EXPECT_GE(value("process_open_fds"), 3);
    EXPECT_GE(value("process_cpu_seconds_total"), 0);
    double start = value("process_start_time_seconds");
    EXPECT_GT(start, 1.6e9);
    EXPECT_LE(start, static_cast<double>(::time(nullptr)) + 1);
    EXPECT_NE(text.find("# TYPE process_cpu_seconds_total counter"), std::string::npos);
}

}  // namespace
}  // namespace taskpoller::control
