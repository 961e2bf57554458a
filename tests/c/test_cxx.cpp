// The header compiles as C++ (g++ -std=c++17 -Wall -Wextra -Werror) and its
// functions link with C linkage.
#include <containment.h>
#include <containment.h>

#include <cstdio>
#include <cstring>
#include <memory>

namespace {

struct SandboxDeleter {
    void operator()(containment_sandbox *sb) const { containment_sandbox_free(sb); }
};
struct ErrorDeleter {
    void operator()(containment_error *e) const { containment_error_free(e); }
};

int failures = 0;
int passes = 0;

void check(bool ok, const char *what) {
    if (ok) {
        passes++;
    } else {
        failures++;
        std::fprintf(stderr, "FAIL %s\n", what);
    }
}

}  // namespace

int main() {
    check(std::strcmp(containment_version(), CONTAINMENT_VERSION) == 0, "version");
    std::unique_ptr<containment_sandbox, SandboxDeleter> sb(containment_sandbox_new());
    check(sb != nullptr, "sandbox_new");
    check(containment_sandbox_memory(sb.get(), "128M", nullptr) == CONTAINMENT_OK, "memory 128M");
    containment_error *raw = nullptr;
    containment_status st = containment_sandbox_cpus(sb.get(), "3-1", &raw);
    std::unique_ptr<containment_error, ErrorDeleter> err(raw);
    check(st == CONTAINMENT_INVALID_VALUE, "cpus 3-1 is invalid");
    check(err != nullptr && std::strstr(containment_error_message(err.get()), "3-1") != nullptr, "message");
    switch (st) {
    case CONTAINMENT_OK:
        check(false, "not ok");
        break;
    default:
        break;
    }
    containment_outcome o{};
    check(o.exit_code == 0 && o.usage.peak_memory_bytes == 0, "outcome is plain data");
    std::printf("test_cxx: %d passed, %d failed, 0 skipped\n", passes, failures);
    return failures == 0 ? 0 : 1;
}
