/*
 * reqreply_zmq.c — the C row of Beazley's request/reply server experiment
 * (examples/reqreply.py has the Python rows): a ZeroMQ REP server thread
 * answering each request with the same simple work as reqreply.py (the sum
 * of i*i for i below the number the request names), optionally next to
 * CPU-bound threads, for a client (this program again, run with --client)
 * in another process that sends ITERATIONS requests one at a time and
 * checks every answer. No GIL here: the CPU-bound threads only share the
 * CPU under the OS scheduler.
 *
 * usage: reqreply_zmq [CPU_THREADS] [ITERATIONS] [--no-pin]
 * prints: result wall=SECONDS impl=c-zmq cpu_threads=N iterations=I answered=A
 * (wall: the client's time for its requests), as reqreply.py does.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define REQREPLY_WORK 200 /* reqreply.py's WORK */

static atomic_bool reqreply_stop;

static void reqreply_die(const char *what)
{
    fprintf(stderr, "reqreply_zmq: %s: %s\n", what, zmq_strerror(zmq_errno()));
    exit(1);
}

/* The work of one request: the answer to "n", as text. */
static int reqreply_work(const char *req, size_t len, char *out, size_t cap)
{
    char num[32];
    size_t n = len < sizeof num - 1 ? len : sizeof num - 1;
    memcpy(num, req, n);
    num[n] = '\0';
    unsigned long long sum = 0, count = strtoull(num, NULL, 10);
    for (unsigned long long i = 0; i < count; i++)
        sum += i * i;
    return snprintf(out, cap, "%llu", sum);
}

/* The CPUs this process may use: the first and the second (-1: none). */
static void reqreply_cpus(int *first, int *second)
{
    cpu_set_t set;
    *first = *second = -1;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return;
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (!CPU_ISSET(c, &set))
            continue;
        if (*first < 0)
            *first = c;
        else if (*second < 0)
            *second = c;
    }
}

static void reqreply_pin(int cpu)
{
    cpu_set_t set;
    if (cpu < 0)
        return;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
        perror("reqreply_zmq: sched_setaffinity");
        exit(1);
    }
}

static void *reqreply_spin(void *arg)
{
    volatile unsigned long n = 0;
    (void)arg;
    while (!atomic_load_explicit(&reqreply_stop, memory_order_relaxed))
        for (int i = 0; i < 10000; i++)
            n++;
    return NULL;
}

struct reqreply_server {
    void *rep;
    long count;
};

static void *reqreply_serve(void *arg)
{
    struct reqreply_server *s = arg;
    char req[256], rep[64];
    for (long k = 0; k < s->count; k++) {
        int n = zmq_recv(s->rep, req, sizeof req, 0);
        if (n < 0)
            reqreply_die("zmq_recv");
        int m = reqreply_work(req, (size_t)n < sizeof req ? (size_t)n : sizeof req, rep, sizeof rep);
        if (zmq_send(s->rep, rep, (size_t)m, 0) != m)
            reqreply_die("zmq_send");
    }
    return NULL;
}

static double reqreply_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --client ENDPOINT ITERATIONS CPU: print "SECONDS ANSWERED-RIGHT". */
static int reqreply_client(const char *endpoint, long count, int cpu)
{
    char req[32], want[64], got[64];
    reqreply_pin(cpu);
    int rl = snprintf(req, sizeof req, "%d", REQREPLY_WORK);
    int wl = reqreply_work(req, (size_t)rl, want, sizeof want);
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_REQ);
    if (!s || zmq_connect(s, endpoint) != 0)
        reqreply_die("client connect");
    long ok = 0;
    double start = reqreply_now();
    for (long k = 0; k < count; k++) {
        if (zmq_send(s, req, (size_t)rl, 0) != rl)
            reqreply_die("client zmq_send");
        int n = zmq_recv(s, got, sizeof got, 0);
        if (n < 0)
            reqreply_die("client zmq_recv");
        ok += n == wl && memcmp(got, want, (size_t)wl) == 0;
    }
    printf("%.6f %ld\n", reqreply_now() - start, ok);
    zmq_close(s);
    zmq_ctx_term(ctx);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "--client") == 0)
        return reqreply_client(argv[2], atol(argv[3]), atoi(argv[4]));
    long nums[2] = {1, 1000};
    int nnum = 0, pinned = 1;
    for (int i = 1; i < argc; i++) {
        char *end;
        if (strcmp(argv[i], "--no-pin") == 0) {
            pinned = 0;
            continue;
        }
        long v = strtol(argv[i], &end, 10);
        if (nnum == 2 || *end || v < 0) {
            fprintf(stderr, "usage: reqreply_zmq [CPU_THREADS] [ITERATIONS] [--no-pin]\n");
            return 2;
        }
        nums[nnum++] = v;
    }
    int first, second;
    reqreply_cpus(&first, &second);
    int client_cpu = pinned && second >= 0 ? second : -1;
    if (client_cpu >= 0)
        reqreply_pin(first);

    void *ctx = zmq_ctx_new();
    void *rep = zmq_socket(ctx, ZMQ_REP);
    char endpoint[256];
    size_t elen = sizeof endpoint;
    if (!rep || zmq_bind(rep, "tcp://127.0.0.1:*") != 0 || zmq_getsockopt(rep, ZMQ_LAST_ENDPOINT, endpoint, &elen))
        reqreply_die("bind");
    struct reqreply_server srv = {rep, nums[1]};
    pthread_t server, spinners[nums[0] > 0 ? nums[0] : 1];
    pthread_create(&server, NULL, reqreply_serve, &srv);
    for (long i = 0; i < nums[0]; i++)
        pthread_create(&spinners[i], NULL, reqreply_spin, NULL);

    int out[2];
    if (pipe(out) != 0)
        return perror("reqreply_zmq: pipe"), 1;
    char count_s[32], cpu_s[16];
    snprintf(count_s, sizeof count_s, "%ld", nums[1]);
    snprintf(cpu_s, sizeof cpu_s, "%d", client_cpu);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out[1], 1);
        execl("/proc/self/exe", argv[0], "--client", endpoint, count_s, cpu_s, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char buf[128] = "";
    ssize_t got = 0, n;
    while (got < (ssize_t)sizeof buf - 1 && (n = read(out[0], buf + got, sizeof buf - 1 - (size_t)got)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        got += n;
    }
    int status;
    double secs;
    long ok;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
        sscanf(buf, "%lf %ld", &secs, &ok) != 2) {
        fprintf(stderr, "reqreply_zmq: the client failed\n");
        exit(1); /* the server thread may wait for requests that never come */
    }
    pthread_join(server, NULL);
    atomic_store(&reqreply_stop, true);
    for (long i = 0; i < nums[0]; i++)
        pthread_join(spinners[i], NULL);
    zmq_close(rep);
    zmq_ctx_term(ctx);
    printf("c-zmq: %ld requests with %ld CPU-bound thread%s: %.3f s, %ld answered right\n", nums[1], nums[0],
           nums[0] == 1 ? "" : "s", secs, ok);
    printf("result wall=%.6f impl=c-zmq cpu_threads=%ld iterations=%ld answered=%ld\n", secs, nums[0], nums[1], ok);
    return 0;
}
