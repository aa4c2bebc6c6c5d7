// notify_sink PATH OUT: stands in for systemd's $NOTIFY_SOCKET in the e2e scripts. Binds an
// AF_UNIX datagram socket at PATH and appends each datagram it receives to OUT as one line
// (the datagram's own newlines become '|', so "READY=1\nSTATUS=x" reads "READY=1|STATUS=x").
// Runs until killed. Exit 1 with a message if PATH cannot be bound or OUT opened.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: notify_sink SOCKET_PATH OUTPUT_FILE\n");
        return 2;
    }
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (std::strlen(argv[1]) >= sizeof sa.sun_path) {
        std::fprintf(stderr, "notify_sink: socket path too long\n");
        return 1;
    }
    std::strcpy(sa.sun_path, argv[1]);
    int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        std::fprintf(stderr, "notify_sink: %s: %s\n", argv[1], std::strerror(errno));
        return 1;
    }
    std::FILE* out = std::fopen(argv[2], "a");
    if (out == nullptr) {
        std::fprintf(stderr, "notify_sink: %s: %s\n", argv[2], std::strerror(errno));
        return 1;
    }
    std::string buf(64 * 1024, '\0');
    for (;;) {
        ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            std::fprintf(stderr, "notify_sink: recv: %s\n", std::strerror(errno));
            return 1;
        }
        std::string line = buf.substr(0, static_cast<std::size_t>(n));
        while (!line.empty() && line.back() == '\n') line.pop_back();
        std::replace(line.begin(), line.end(), '\n', '|');
        std::fprintf(out, "%s\n", line.c_str());
        std::fflush(out);
    }
}
