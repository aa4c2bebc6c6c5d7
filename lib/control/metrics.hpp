#pragma once
// A small Prometheus registry (text exposition format 0.0.4): counters, gauges and histograms
// with fixed buckets, each in a family with fixed label names. Single-threaded (io thread).
// References returned by `with()` and `add_*()` stay valid for the registry's lifetime.

#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace taskpoller::control {

using label_values = std::vector<std::string>;

class counter {
  public:
    /// Adds `d`; negative or non-finite increments are ignored (counters never go down).
    void inc(double d = 1);
    /// Mirrors an external monotonic total (e.g. CPU seconds from /proc) at collection time.
    void set(double total) { value_ = total; }
    double value() const noexcept { return value_; }

  private:
    double value_ = 0;
};

class gauge {
  public:
    void set(double v) noexcept { value_ = v; }
    void inc(double d = 1) noexcept { value_ += d; }
    void dec(double d = 1) noexcept { value_ -= d; }
    double value() const noexcept { return value_; }

  private:
    double value_ = 0;
};

class histogram {
  public:
    /// `bounds` must be sorted ascending; +Inf is implicit.
    explicit histogram(const std::vector<double>* bounds)
        : bounds_(bounds), counts_(bounds->size(), 0) {}
    void observe(double v);
    /// Non-cumulative count per finite bucket (index i counts values ≤ bounds[i] and
    /// > bounds[i-1]); values above every bound only reach count().
    const std::vector<unsigned long long>& bucket_counts() const noexcept { return counts_; }
    const std::vector<double>& bounds() const noexcept { return *bounds_; }
    unsigned long long count() const noexcept { return count_; }
    double sum() const noexcept { return sum_; }

  private:
    const std::vector<double>* bounds_;
    std::vector<unsigned long long> counts_;
    unsigned long long count_ = 0;
    double sum_ = 0;
};

enum class metric_type { counter, gauge, histogram };

/// One metric name with its label names; series are created (at zero) on first `with()`.
template <class Metric>
class metric_family {
  public:
    metric_family(std::string name, std::string help, std::vector<std::string> labels,
                  std::vector<double> buckets = {})
        : name_(std::move(name)),
          help_(std::move(help)),
          labels_(std::move(labels)),
          buckets_(std::move(buckets)) {}

    /// The series for `values` (one per label name, in order), created at zero if new — call it
    /// at start-up for every known label set so they are exported before their first event.
    /// Throws std::invalid_argument on a wrong number of values (a programming error).
    Metric& with(const label_values& values = {}) {
        check_arity(values.size());
        auto it = series_.find(values);
        if (it == series_.end()) it = series_.emplace(values, make()).first;
        return *it->second;
    }

    const std::string& name() const noexcept { return name_; }
    const std::string& help() const noexcept { return help_; }
    const std::vector<std::string>& label_names() const noexcept { return labels_; }
    const std::map<label_values, std::unique_ptr<Metric>>& series() const noexcept {
        return series_;
    }

  private:
    void check_arity(std::size_t n) const {
        if (n != labels_.size())
            throw std::invalid_argument("metric " + name_ + ": wrong number of label values");
    }
    std::unique_ptr<Metric> make() const {
        if constexpr (std::is_same_v<Metric, histogram>)
            return std::make_unique<histogram>(&buckets_);
        else
            return std::make_unique<Metric>();
    }

    std::string name_;
    std::string help_;
    std::vector<std::string> labels_;
    std::vector<double> buckets_;
    std::map<label_values, std::unique_ptr<Metric>> series_;
};

class metrics_registry {
  public:
    /// Registers a family. Throws std::invalid_argument on an invalid metric or label name, a
    /// duplicate name, or (histograms) unsorted/non-finite/empty buckets — start-up bugs.
    metric_family<counter>& add_counter(std::string name, std::string help,
                                        std::vector<std::string> labels = {});
    metric_family<gauge>& add_gauge(std::string name, std::string help,
                                    std::vector<std::string> labels = {});
    metric_family<histogram>& add_histogram(std::string name, std::string help,
                                            std::vector<std::string> labels,
                                            std::vector<double> buckets);

    /// `fn` runs before every render (to refresh gauges from their sources).
    void on_collect(std::function<void()> fn) { collectors_.push_back(std::move(fn)); }

    /// The whole registry in text format, families in registration order.
    std::string render();

  private:
    struct entry;
    void check_new_name(const std::string& name, const std::vector<std::string>& labels) const;
    std::vector<std::unique_ptr<entry>> families_;
    std::vector<std::function<void()>> collectors_;

  public:
    metrics_registry();
    ~metrics_registry();
    metrics_registry(const metrics_registry&) = delete;
    metrics_registry& operator=(const metrics_registry&) = delete;
};

/// Escapes a label value (\\, \", \n) and a HELP text (\\, \n) for the text format.
std::string escape_label_value(std::string_view v);
std::string escape_help(std::string_view v);
/// Formats a sample value: "+Inf", "-Inf", "NaN", or the shortest round-trip decimal.
std::string format_sample(double v);
/// Whether `name` matches [a-zA-Z_:][a-zA-Z0-9_:]* (labels: no ':' and no leading "__").
bool valid_metric_name(std::string_view name) noexcept;
bool valid_label_name(std::string_view name) noexcept;

/// Registers process_resident_memory_bytes, process_open_fds, process_cpu_seconds_total,
/// process_start_time_seconds, refreshed from /proc/self on every render. A value that
/// cannot be read keeps its previous value.
void add_process_metrics(metrics_registry& registry);

}  // namespace taskpoller::control
