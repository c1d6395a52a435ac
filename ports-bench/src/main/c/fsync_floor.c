/*
 * Kernel floor of one durable registry write: append one journal-sized record (300 bytes) to a
 * file and fdatasync it, as FileRegistryStore and the SyncEachWriteStore baseline do (Java's
 * FileChannel.force(false) is fdatasync). Timed without a JVM, one thread, in the directory given
 * (default /tmp, the file system of the benchmarks' temporary directories). Not built by Maven.
 *
 *   gcc -O2 -o /tmp/fsync_floor ports-bench/src/main/c/fsync_floor.c && /tmp/fsync_floor [DIR]
 *
 * Prints the median, 90th percentile and mean of N appends+fdatasync, so the most durable writes
 * per second one writer can acknowledge is about 1e6 / median µs.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define N 2000
#define RECORD 300

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    char path[4096];
    snprintf(path, sizeof path, "%s/fsync_floor.XXXXXX", argc > 1 ? argv[1] : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) { perror("mkstemp"); return 1; }
    unlink(path);
    char rec[RECORD];
    memset(rec, 'x', sizeof rec);
    static double t[N];
    double sum = 0;
    for (int i = 0; i < N; i++) {
        double t0 = now();
        if (write(fd, rec, sizeof rec) != sizeof rec) { perror("write"); return 1; }
        if (fdatasync(fd) != 0) { perror("fdatasync"); return 1; }
        t[i] = (now() - t0) / 1e3;
        sum += t[i];
    }
    qsort(t, N, sizeof t[0], cmp);
    printf("append %d bytes + fdatasync, %d times: median %.1f us, p90 %.1f us, mean %.1f us\n",
           RECORD, N, t[N / 2], t[N * 9 / 10], sum / N);
    close(fd);
    return 0;
}
