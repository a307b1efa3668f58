/* SPDX-License-Identifier: GPL-2.0-or-later */
/* zenith-hugepages: the admin's view of the huge page reservations Zenith's SPANK plugin
 * recorded on this machine, and a way to give back those of jobs that can no longer end
 * normally (a node whose slurmd was killed before the job epilog ran). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

#include "runtime/hugepages.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: zenith-hugepages [--state-dir DIR] list\n"
            "       zenith-hugepages [--state-dir DIR] release KEY... | --all\n"
            "\n"
            "Huge page reservations recorded by Zenith's SPANK plugin (one record per job and\n"
            "host, KEY = JOBID.HOST). The job epilog releases them; use 'release' only for\n"
            "jobs that are gone without one (slurmd killed, node crashed before reboot).\n"
            "\n"
            "  -s, --state-dir DIR   the plugin's state_dir (default: %s)\n"
            "  -h, --help            show this help\n"
            "See zenith(8).\n",
            ZN_DEFAULT_HUGEPAGE_STATE_DIR);
}

/* The state directory is root's (0700): a user who cannot read it must not be told that
 * nothing is recorded. */
static int unreadable(const char *what, const char *path, int error)
{
    if (error == EACCES || error == EPERM)
        fprintf(stderr, "zenith: cannot read the huge page %s %s: permission denied; run as root\n",
                what, path);
    else
        fprintf(stderr, "zenith: cannot read the huge page %s %s: %s\n", what, path,
                strerror(error));
    return -1;
}

/* Keys of every record in the state directory. */
static int for_each_key(const char *dir, int (*fn)(const char *key, void *arg), void *arg)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int rc = 0;

    if (!d && errno == ENOENT)
        return 0; /* no directory: nothing was ever reserved */
    if (!d)
        return unreadable("records in", dir, errno);
    while ((de = readdir(d)))
        if (zn_hugepages_is_record(de->d_name) && fn(de->d_name, arg) < 0)
            rc = -1;
    closedir(d);
    return rc;
}

struct listing {
    const char *dir;
    unsigned count;
};

static int print_record(const char *key, void *arg)
{
    struct listing *listing = arg;
    const char *dir = listing->dir;
    char path[4096], line[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, key);
    f = fopen(path, "r");
    if (!f && errno == ENOENT)
        return 0; /* released meanwhile */
    if (!f)
        return unreadable("record", path, errno);
    listing->count++;
    printf("%s:", key);
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "zenith-hugepages", 16) != 0)
            printf(" %s;", line);
    }
    printf("\n");
    fclose(f);
    return 0;
}

static int release_key(const char *key, void *arg)
{
    const struct zn_hugepage_ledger *ledger = arg;
    struct zn_error err;
    int rc = zn_hugepages_release(ledger, key, &err);

    if (rc < 0) {
        fprintf(stderr, "%s\n", err.text);
        return -1;
    }
    printf("%s: %s\n", key, rc == 1 ? "no such record" : "released");
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"state-dir", required_argument, NULL, 's'},
                                             {"all", no_argument, NULL, 'a'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    struct zn_hugepage_ledger ledger = {.sysfs_root = "/sys",
                                        .state_dir = ZN_DEFAULT_HUGEPAGE_STATE_DIR};
    bool all = false;
    int c, rc = 0;

    while ((c = getopt_long(argc, argv, "s:h", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            ledger.state_dir = optarg;
            break;
        case 'a':
            all = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "zenith: zenith-hugepages needs a command: list or release\n");
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[optind++];
    if (strcmp(cmd, "list") == 0 && optind == argc && !all) {
        struct listing seen = {ledger.state_dir, 0};
        rc = for_each_key(ledger.state_dir, print_record, &seen);
        if (rc == 0 && seen.count == 0)
            printf("no huge page reservations recorded in %s\n", ledger.state_dir);
    } else if (strcmp(cmd, "release") == 0 && (all ? optind == argc : optind < argc)) {
        if (all)
            rc = for_each_key(ledger.state_dir, release_key, &ledger);
        for (int i = optind; i < argc; i++)
            if (release_key(argv[i], &ledger) < 0)
                rc = -1;
    } else {
        fprintf(stderr,
                "zenith: zenith-hugepages: '%s' with these arguments is not a command; "
                "use 'list' or 'release KEY...|--all'\n",
                cmd);
        return 2;
    }
    return rc < 0 ? 1 : 0;
}
