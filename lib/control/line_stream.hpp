#pragma once
// A bounded queue of NDJSON lines from one producer (e.g. the events route feeding store changes)
// to one streaming HTTP response. I/O-free: the server's session drains it and writes chunks;
// the producer never blocks and never grows memory without bound. Single-threaded (io thread).

#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <string>

namespace taskpoller::control {

class line_stream {
  public:
    enum class end_reason {
        none,           ///< still open
        finished,       ///< the producer called finish(); queued lines are still delivered
        slow_reader,    ///< the queue exceeded its bound; queue dropped, a final error line sent
        shutting_down,  ///< server shutdown; queued lines delivered, then a final line
        client_closed,  ///< the client went away; nothing more is written
        write_failed,   ///< a write failed or timed out; nothing more is written
    };

    /// The stream ends with slow_reader when more than `max_lines` lines or `max_bytes` bytes
    /// are queued (not yet handed to the socket).
    line_stream(std::size_t max_lines, std::size_t max_bytes);
    line_stream(const line_stream&) = delete;
    line_stream& operator=(const line_stream&) = delete;

    /// Queues one line ('\n' appended when missing; it must not contain other newlines).
    /// Returns false when the stream has ended (including when this push overflowed it): the
    /// producer should then stop and unsubscribe.
    bool push(std::string line);
    /// The producer has nothing more; the response ends after the queued lines.
    void finish() { end(end_reason::finished); }
    /// Ends the stream for `r` (first reason wins); runs the on_end callback once.
    void end(end_reason r);

    bool ended() const noexcept { return reason_ != end_reason::none; }
    end_reason reason() const noexcept { return reason_; }
    std::size_t queued_lines() const noexcept { return lines_.size(); }

    /// Called once when the stream ends for any reason (lets the producer unsubscribe). If the
    /// stream already ended, `f` runs immediately.
    void on_end(std::function<void(end_reason)> f);

    // Consumer side (the session).
    /// Moves up to `max_bytes` of queued lines (at least one line if any) into one string;
    /// nullopt when the queue is empty.
    std::optional<std::string> take(std::size_t max_bytes);
    /// Called (on the io thread) whenever there is something new for the consumer.
    void set_waker(std::function<void()> f) { waker_ = std::move(f); }
    /// The JSON line to write after the last queued line, or empty for none.
    std::string final_line() const;

  private:
    void wake() {
        if (waker_) waker_();
    }

    std::size_t max_lines_;
    std::size_t max_bytes_;
    std::size_t bytes_ = 0;
    std::deque<std::string> lines_;
    end_reason reason_ = end_reason::none;
    std::function<void(end_reason)> on_end_;
    std::function<void()> waker_;
};

}  // namespace taskpoller::control
