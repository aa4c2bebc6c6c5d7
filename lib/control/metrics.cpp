#include "control/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <variant>

namespace taskpoller::control {

void counter::inc(double d) {
    if (d > 0 && std::isfinite(d)) value_ += d;
}

void histogram::observe(double v) {
    if (std::isnan(v)) return;
    auto it = std::ranges::lower_bound(*bounds_, v);
    if (it != bounds_->end()) ++counts_[static_cast<std::size_t>(it - bounds_->begin())];
    ++count_;
    sum_ += v;
}

struct metrics_registry::entry {
    std::variant<std::unique_ptr<metric_family<counter>>, std::unique_ptr<metric_family<gauge>>,
                 std::unique_ptr<metric_family<histogram>>>
        family;
    const std::string& name() const {
        return std::visit([](const auto& f) -> const std::string& { return f->name(); }, family);
    }
};

metrics_registry::metrics_registry() = default;
metrics_registry::~metrics_registry() = default;

bool valid_metric_name(std::string_view n) noexcept {
    if (n.empty() || std::isdigit(static_cast<unsigned char>(n[0]))) return false;
    return std::ranges::all_of(n, [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':';
    });
}

bool valid_label_name(std::string_view n) noexcept {
    return valid_metric_name(n) && n.find(':') == std::string_view::npos && !n.starts_with("__") &&
           n != "le";
}

void metrics_registry::check_new_name(const std::string& name,
                                      const std::vector<std::string>& labels) const {
    if (!valid_metric_name(name)) throw std::invalid_argument("invalid metric name: " + name);
    for (const auto& l : labels)
        if (!valid_label_name(l))
            throw std::invalid_argument("metric " + name + ": invalid label name: " + l);
    for (const auto& e : families_)
        if (e->name() == name) throw std::invalid_argument("duplicate metric: " + name);
}

metric_family<counter>& metrics_registry::add_counter(std::string name, std::string help,
                                                      std::vector<std::string> labels) {
    check_new_name(name, labels);
    auto f = std::make_unique<metric_family<counter>>(std::move(name), std::move(help),
                                                      std::move(labels));
    auto& ref = *f;
    families_.push_back(std::make_unique<entry>(entry{std::move(f)}));
    return ref;
}

metric_family<gauge>& metrics_registry::add_gauge(std::string name, std::string help,
                                                  std::vector<std::string> labels) {
    check_new_name(name, labels);
    auto f =
        std::make_unique<metric_family<gauge>>(std::move(name), std::move(help), std::move(labels));
    auto& ref = *f;
    families_.push_back(std::make_unique<entry>(entry{std::move(f)}));
    return ref;
}

metric_family<histogram>& metrics_registry::add_histogram(std::string name, std::string help,
                                                          std::vector<std::string> labels,
                                                          std::vector<double> buckets) {
    check_new_name(name, labels);
    if (buckets.empty() ||
        !std::ranges::all_of(buckets, [](double b) { return std::isfinite(b); }) ||
        std::ranges::adjacent_find(buckets, std::greater_equal<>()) != buckets.end())
        throw std::invalid_argument("metric " + name + ": buckets must be finite and ascending");
    auto f = std::make_unique<metric_family<histogram>>(std::move(name), std::move(help),
                                                        std::move(labels), std::move(buckets));
    auto& ref = *f;
    families_.push_back(std::make_unique<entry>(entry{std::move(f)}));
    return ref;
}

std::string escape_label_value(std::string_view v) {
    std::string out;
    for (char c : v) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string escape_help(std::string_view v) {
    std::string out;
    for (char c : v) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string format_sample(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    return fmt::format("{}", v);
}

namespace {

// `{a="x",b="y"}` with an optional extra label (le) last; empty when there are no labels.
std::string label_text(const std::vector<std::string>& names, const label_values& values,
                       std::string_view extra_name = {}, std::string_view extra_value = {}) {
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i)
        out += fmt::format("{}{}=\"{}\"", out.empty() ? "" : ",", names[i],
                           escape_label_value(values[i]));
    if (!extra_name.empty())
        out += fmt::format("{}{}=\"{}\"", out.empty() ? "" : ",", extra_name, extra_value);
    return out.empty() ? out : "{" + out + "}";
}

template <class M>
void render_header(std::string& out, const metric_family<M>& f, std::string_view type) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f.name(), escape_help(f.help()), f.name(),
                       type);
}

void render(std::string& out, const metric_family<counter>& f) {
    render_header(out, f, "counter");
    for (const auto& [labels, c] : f.series())
        out += fmt::format("{}{} {}\n", f.name(), label_text(f.label_names(), labels),
                           format_sample(c->value()));
}

void render(std::string& out, const metric_family<gauge>& f) {
    render_header(out, f, "gauge");
    for (const auto& [labels, g] : f.series())
        out += fmt::format("{}{} {}\n", f.name(), label_text(f.label_names(), labels),
                           format_sample(g->value()));
}

void render(std::string& out, const metric_family<histogram>& f) {
    render_header(out, f, "histogram");
    for (const auto& [labels, h] : f.series()) {
        unsigned long long cumulative = 0;
        for (std::size_t i = 0; i < h->bounds().size(); ++i) {
            cumulative += h->bucket_counts()[i];
            out += fmt::format(
                "{}_bucket{} {}\n", f.name(),
                label_text(f.label_names(), labels, "le", format_sample(h->bounds()[i])),
                cumulative);
        }
        out += fmt::format("{}_bucket{} {}\n", f.name(),
                           label_text(f.label_names(), labels, "le", "+Inf"), h->count());
        out += fmt::format("{}_sum{} {}\n", f.name(), label_text(f.label_names(), labels),
                           format_sample(h->sum()));
        out += fmt::format("{}_count{} {}\n", f.name(), label_text(f.label_names(), labels),
                           h->count());
    }
}

}  // namespace

std::string metrics_registry::render() {
    for (const auto& c : collectors_) c();
    std::string out;
    for (const auto& e : families_)
        std::visit([&](const auto& f) { control::render(out, *f); }, e->family);
    return out;
}

}  // namespace taskpoller::control
