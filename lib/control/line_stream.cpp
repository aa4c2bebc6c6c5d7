#include "control/line_stream.hpp"

#include <fmt/format.h>

#include "control/api_error.hpp"

namespace taskpoller::control {

line_stream::line_stream(std::size_t max_lines, std::size_t max_bytes)
    : max_lines_(max_lines), max_bytes_(max_bytes) {}

bool line_stream::push(std::string line) {
    if (ended()) return false;
    if (line.empty() || line.back() != '\n') line.push_back('\n');
    if (lines_.size() + 1 > max_lines_ || bytes_ + line.size() > max_bytes_) {
        // Dropping the backlog is the point: a reader this far behind gets a clear final line
        // and resumes from its last sequence number, rather than the daemon buffering forever.
        lines_.clear();
        bytes_ = 0;
        end(end_reason::slow_reader);
        return false;
    }
    bytes_ += line.size();
    lines_.push_back(std::move(line));
    wake();
    return true;
}

void line_stream::end(end_reason r) {
    if (ended() || r == end_reason::none) return;
    reason_ = r;
    if (r == end_reason::client_closed || r == end_reason::write_failed) {
        lines_.clear();
        bytes_ = 0;
    }
    wake();
    if (auto f = std::move(on_end_)) f(r);
}

void line_stream::on_end(std::function<void(end_reason)> f) {
    if (ended()) {
        if (f) f(reason_);
        return;
    }
    on_end_ = std::move(f);
}

std::optional<std::string> line_stream::take(std::size_t max_bytes) {
    if (lines_.empty()) return std::nullopt;
    std::string out = std::move(lines_.front());
    lines_.pop_front();
    while (!lines_.empty() && out.size() + lines_.front().size() <= max_bytes) {
        out += lines_.front();
        lines_.pop_front();
    }
    bytes_ -= std::min(bytes_, out.size());
    return out;
}

std::string line_stream::final_line() const {
    switch (reason_) {
        case end_reason::slow_reader:
            return to_json(api_error{
                       429, "slow_reader",
                       fmt::format("the client read too slowly (more than {} lines or {} bytes "
                                   "queued); reconnect with ?since= to resume",
                                   max_lines_, max_bytes_)}) +
                   "\n";
        case end_reason::shutting_down:
            return to_json(shutting_down()) + "\n";
        default:
            return {};
    }
}

}  // namespace taskpoller::control
