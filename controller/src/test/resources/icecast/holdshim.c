/*
 * Test-only, preloaded into Icecast by IcecastFallbackRaceIT: while the file $RADIOD_TEST_HOLD_DIR/hold exists,
 * pthread_mutex_destroy() first writes $RADIOD_TEST_HOLD_DIR/held, waits the milliseconds the hold file gives, then
 * writes .../released. In Icecast 2.4.4 the only mutex destroyed at run time is the MP3 format's, in
 * source_clear_source(), right after the source's client is destroyed and set to NULL and before its format is freed:
 * the hold keeps a leaving MP3 source in that window, which its housekeeping thread may otherwise hit only by chance.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void touch(const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fclose(f);
    }
}

int pthread_mutex_destroy(pthread_mutex_t *m) {
    static int (*real)(pthread_mutex_t *);
    if (!real) {
        real = (int (*)(pthread_mutex_t *)) dlsym(RTLD_NEXT, "pthread_mutex_destroy");
    }
    const char *dir = getenv("RADIOD_TEST_HOLD_DIR");
    if (dir) {
        char path[4096];
        snprintf(path, sizeof path, "%s/hold", dir);
        FILE *f = fopen(path, "r");
        if (f) {
            int ms = 0;
            if (fscanf(f, "%d", &ms) != 1) {
                ms = 0;
            }
            fclose(f);
            touch(dir, "held");
            usleep((useconds_t) ms * 1000);
            touch(dir, "released");
        }
    }
    return real(m);
}
