/*
 * A canary for run.sh, not a test: it leaks a sandbox and an error object on
 * purpose, and run.sh checks that valgrind reports them (exit code 99). If it did
 * not, leaked handles would look reachable (say, through the library's handle
 * registry) and the leak checks of the real tests would prove nothing.
 */
#include <containment.h>
#include <stdio.h>

int main(void) {
    containment_sandbox *sb = containment_sandbox_new();
    containment_error *err = NULL;
    containment_sandbox_memory(sb, "1XB", &err);
    printf("leaked %p and %p on purpose\n", (void *)sb, (void *)err);
    sb = NULL;
    err = NULL;
    return 0;
}
