/* The question before a command that deletes much at once (org delete,
 * conn delete): asked on a terminal, skipped with --yes, and refused, not
 * guessed, when nobody can answer. */

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "orgctl.h"

int cli_confirm(cli_t *c, const char *question)
{
    char line[64];
    if (cli_opt(c, "yes")) {
        return RC_OK;
    }
    if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO)) {
        return cli_usage_fail(c, "not confirmed: give --yes to delete without a question "
                                 "(standard input is not a terminal)");
    }
    fprintf(stderr, "%s [y/N] ", question);
    fflush(stderr);
    if (!fgets(line, sizeof(line), stdin)) {
        return cli_fail(c, RC_ERROR, "not confirmed: nothing deleted");
    }
    line[strcspn(line, "\r\n")] = '\0';
    if (strcmp(line, "y") == 0 || strcmp(line, "Y") == 0 || strcmp(line, "yes") == 0) {
        return RC_OK;
    }
    return cli_fail(c, RC_ERROR, "not confirmed: nothing deleted");
}
