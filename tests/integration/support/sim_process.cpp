#include "support/sim_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace taskpoller::testing {

pid_t spawn_program(const std::string& program, const std::vector<std::string>& args,
                    const std::string& out, const std::string& err) {
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(program.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    // The program dies with the test: a test that ctest kills at its timeout (or that crashes)
    // leaves no daemon or simulator behind to load the machine for the tests after it. Only when
    // forked from the main thread: PR_SET_PDEATHSIG fires when the *thread* that forked ends,
    // and a test may start a program from a thread that ends before the program should.
    const pid_t parent = ::getpid();
    const bool from_main_thread = ::gettid() == parent;
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        if (from_main_thread) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) ::_exit(127);  // the test ended before prctl
        }
        int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (o >= 0) ::dup2(o, 1);
        if (e >= 0) ::dup2(e, 2);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    return pid;
}

std::string program_path(const char* env, const char* built) {
    const char* v = std::getenv(env);
    return v != nullptr && *v != '\0' ? std::string(v) : std::string(built);
}

int wait_for_exit(pid_t pid, int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        int status = 0;
        pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) return status;
        if (r < 0 || std::chrono::steady_clock::now() > deadline) return -1;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

namespace {

pid_t spawn(const std::vector<std::string>& args, const std::string& out, const std::string& err) {
    return spawn_program(program_path("TASKPOLLER_SIM", TASKPOLLER_SIM_PATH), args, out, err);
}

int wait_for(pid_t pid, int timeout_ms) {
    return wait_for_exit(pid, timeout_ms);
}

}  // namespace

temp_dir::temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "taskpoller-sim-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
}

temp_dir::~temp_dir() {
    // TASKPOLLER_KEEP_TEST_DIRS=1 keeps it (a journal and daemon log to read after a failure).
    if (const char* keep = std::getenv("TASKPOLLER_KEEP_TEST_DIRS"); keep && *keep == '1') {
        std::fprintf(stderr, "kept %s\n", path_.c_str());
        return;
    }
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

std::string temp_dir::write(const std::string& name, const std::string& text) const {
    auto p = path_ + "/" + name;
    std::ofstream(p) << text;
    return p;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

sim_process::sim_process(const std::string& config_yaml, std::vector<std::string> extra_args) {
    std::vector<std::string> args{
        "--listen", "127.0.0.1:0", "--port-file", dir_.path() + "/port", "--log-level", "warn"};
    if (!config_yaml.empty()) {
        args.push_back("--config");
        args.push_back(dir_.write("sim.yaml", config_yaml));
    }
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    pid_ = spawn(args, dir_.path() + "/stdout", dir_.path() + "/stderr");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
        auto text = read_file(dir_.path() + "/port");
        if (!text.empty() && text.back() == '\n') {
            port_ = static_cast<std::uint16_t>(std::stoi(text));
            return;
        }
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("taskpoller-sim exited at start-up: " + stderr_text());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    throw std::runtime_error("taskpoller-sim did not write its port file");
}

sim_process::~sim_process() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
}

int sim_process::stop(int sig, int timeout_ms) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, sig);
    int status = wait_for(pid_, timeout_ms);
    if (status == -1) return -1;
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int run_sim(const std::vector<std::string>& args, std::string& output) {
    temp_dir dir;
    pid_t pid = spawn(args, dir.path() + "/out", dir.path() + "/out");
    int status = wait_for(pid, 10000);
    if (status == -1) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        return -1;
    }
    output = read_file(dir.path() + "/out");
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace taskpoller::testing
