// taskpollerctl: the command-line client of taskpollerd.
#include <unistd.h>

#include <cstdlib>
#include <exception>
#include <iostream>

#include "ctl/cli.hpp"

int main(int argc, char** argv) {
    taskpoller::ctl::environment env;
    env.socket = std::getenv("TASKPOLLER_SOCKET");
    env.no_color = std::getenv("NO_COLOR");
    env.stdout_is_tty = ::isatty(STDOUT_FILENO) == 1;
    try {
        return taskpoller::ctl::run_cli(argc, argv, env, std::cout, std::cerr);
    } catch (const std::exception& e) {
        std::cerr << "taskpollerctl: internal error: " << e.what() << '\n';
        return 3;
    }
}
